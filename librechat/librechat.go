// Package librechat serves LibreChat's Code Interpreter API, so LibreChat's built-in "run code"
// (the execute_code and bash tools of @librechat/agents) runs in wasmbox. Requests reach runs
// through the path package front shares with the other fronts.
package librechat

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"wasmbox/front"
	"wasmbox/runtime"
	"wasmbox/sessions"
)

// LibreChat reaches it at LIBRECHAT_CODE_BASEURL=<wasmbox>/librechat/v1. LibreChat accepts only 21-character ids ([A-Za-z0-9_-]{21}) for sessions
// and files, so wasmbox maps them: a session handle is the first 120 bits of the session id in
// base64url (plus one padding character), a file id is a hash of the file's path.

// Path is where the API is served.
const Path = "/librechat/v1"

// API is LibreChat's code API. It is safe for concurrent use.
type API struct {
	front  *front.Front
	jwt    *Verifier
	hints  *hintSessions // LibreChat's runtime session hints
	shared SharedHints   // where replicas share them (cluster mode), if set
	log    *slog.Logger
}

// SharedHints keeps LibreChat's runtime session hints where every replica reads them (cluster
// mode), so a conversation's calls find its session whichever replica they reach. Keys are
// digests of the caller and of the hint; an implementation bounds how many one caller has.
type SharedHints interface {
	Hint(ctx context.Context, owner, hint string) (session string, err error) // "" if none
	SetHint(ctx context.Context, owner, hint, session string) error
}

// WithSharedHints makes the API keep runtime session hints in h (cluster mode); while h fails,
// each replica remembers its own.
func (s *API) WithSharedHints(h SharedHints, log *slog.Logger) *API {
	s.shared, s.log = h, log
	return s
}

// hintWait bounds what a call waits for the shared hints before this replica's own decide.
const hintWait = time.Second

// hintSession is the session hint name of owner maps to, "" if none.
func (s *API) hintSession(ctx context.Context, owner, name string) string {
	if s.shared != nil {
		key, ownerKey := hintKeys(owner, name)
		ctx, cancel := context.WithTimeout(ctx, hintWait)
		id, err := s.shared.Hint(ctx, hex.EncodeToString(ownerKey[:16]), hex.EncodeToString(key[:16]))
		cancel()
		if err == nil {
			return id
		}
		s.log.Warn("read a runtime session hint from the shared store (using this replica's)", "err", err)
	}
	id, _ := s.hints.get(owner, name)
	return id
}

// setHint maps hint name of owner to session id.
func (s *API) setHint(ctx context.Context, owner, name, id string) {
	s.hints.put(owner, name, id)
	if s.shared != nil {
		key, ownerKey := hintKeys(owner, name)
		ctx, cancel := context.WithTimeout(ctx, hintWait)
		defer cancel()
		if err := s.shared.SetHint(ctx, hex.EncodeToString(ownerKey[:16]), hex.EncodeToString(key[:16]), id); err != nil {
			s.log.Warn("keep a runtime session hint in the shared store", "err", err)
		}
	}
}

// New builds the API on f. With v, requests may also authenticate with the tokens LibreChat
// signs in its JWT mode (CODEAPI_AUTH_PROVIDER=librechat-jwt).
func New(f *front.Front, v *Verifier) *API {
	return &API{front: f, jwt: v, hints: newHintSessions(maxHints, maxHintsPerOwner, hintIdle)}
}

var libreID = regexp.MustCompile(`^[A-Za-z0-9_-]{21}$`)

// libreLangs maps LibreChat's language codes to wasmbox's languages.
var libreLangs = map[string]runtime.Language{"py": runtime.Python, "python": runtime.Python, "js": runtime.JavaScript,
	"javascript": runtime.JavaScript, "ts": runtime.TypeScript, "typescript": runtime.TypeScript, "bash": runtime.Bash, "sh": runtime.Bash}

func sessionHandle(id string) string {
	b, _ := hex.DecodeString(id)
	if len(b) < 15 {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(b[:15]) + "0"
}

func fileHandle(path string) string {
	sum := sha256.Sum256([]byte(path))
	return base64.RawURLEncoding.EncodeToString(sum[:])[:21]
}

// sessionFromHandle finds the session a LibreChat handle names, among the caller's own: a
// handle seen by someone else (in a shared transcript, a log) opens nothing for them.
func (s *API) sessionFromHandle(r *http.Request, h string) (string, error) {
	if !libreID.MatchString(h) {
		return "", fmt.Errorf("%w: %q is not a session id", sessions.ErrNotFound, h)
	}
	b, err := base64.RawURLEncoding.DecodeString(h[:20])
	if err != nil {
		return "", fmt.Errorf("%w: %q is not a session id", sessions.ErrNotFound, h)
	}
	return s.front.Sessions().FindByPrefix(hex.EncodeToString(b), front.CallerFrom(r.Context()).Owner())
}

// fileFromHandle finds the workspace path a file id names.
func (s *API) fileFromHandle(sid, h string) (string, error) {
	files, err := s.front.Sessions().Files(sid)
	if err != nil {
		return "", err
	}
	for _, f := range files {
		if fileHandle(f.Path) == h {
			return f.Path, nil
		}
	}
	return "", fmt.Errorf("%w: no file %s in the session", sessions.ErrBadPath, h)
}

// libreFile is a file reference as LibreChat's clients send and read it. Clients up to 3.0.x
// name the session holding the file session_id; current ones storage_session_id, beside
// resource_id, kind and version, which wasmbox echoes but does not need.
type libreFile struct {
	ID               string `json:"id"`
	Name             string `json:"name"`
	SessionID        string `json:"session_id,omitempty"`
	StorageSessionID string `json:"storage_session_id,omitempty"`
	ResourceID       string `json:"resource_id,omitempty"`
	Kind             string `json:"kind,omitempty"`
	Version          any    `json:"version,omitempty"`
}

// storage is the session holding the file.
func (f libreFile) storage() string {
	if f.StorageSessionID != "" {
		return f.StorageSessionID
	}
	return f.SessionID
}

type libreExecRequest struct {
	Lang      string      `json:"lang"`
	Code      string      `json:"code"`
	Args      []string    `json:"args"`
	SessionID string      `json:"session_id"`
	Files     []libreFile `json:"files"`
	// RuntimeSessionHint asks for one stateful session per (caller, hint): LibreChat's
	// statefulSessions, keyed by conversation.
	RuntimeSessionHint string `json:"runtime_session_hint"`
}

// Mount adds the API's routes to mux.
func (s *API) Mount(mux *http.ServeMux) {
	guard := func(h http.Handler) http.Handler { return s.token(s.front.Guard(h)) }
	mux.Handle("POST "+Path+"/exec", guard(http.HandlerFunc(s.libreExec)))
	// Uploads have their own size cap (front.MaxUploadBytes), not guard's cap for code.
	upload := s.token(s.front.GuardUpload(http.HandlerFunc(s.libreUpload)))
	mux.Handle("POST "+Path+"/upload", upload)
	mux.Handle("POST "+Path+"/upload/batch", upload)
	mux.Handle("GET "+Path+"/sessions/{session}/objects/{file}", guard(http.HandlerFunc(s.libreObject)))
	mux.Handle("GET "+Path+"/download/{session}/{file}", guard(http.HandlerFunc(s.libreDownload)))
	mux.Handle("GET "+Path+"/files/{session}", guard(http.HandlerFunc(s.libreFiles)))
	mux.Handle("DELETE "+Path+"/files/{session}/{file}", guard(http.HandlerFunc(s.libreDelete)))
}

func (s *API) libreExec(w http.ResponseWriter, r *http.Request) {
	var req libreExecRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		front.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "want JSON {lang, code, args?, session_id?, files?}: " + err.Error()})
		return
	}
	lang, ok := libreLangs[req.Lang]
	if why := s.front.Unavailable(lang); ok && why != "" {
		front.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": why})
		return
	}
	if !ok || !s.front.HasLanguage(lang) {
		front.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("unsupported language %q: this server runs %s", req.Lang, s.front.LanguageList())})
		return
	}
	if err := s.front.Check(front.RunRequest{Language: lang, Code: req.Code}); err != nil {
		front.Error(w, err)
		return
	}
	// The session: the runtime session of the hint, else the one named, else the one that
	// produced the first input file (LibreChat's follow-up calls), else a new one.
	c := front.CallerFrom(r.Context())
	owner := c.Owner()
	sid, status := "", ""
	if req.RuntimeSessionHint != "" {
		if id := s.hintSession(r.Context(), owner, req.RuntimeSessionHint); id != "" {
			if _, err := s.front.Sessions().Get(id); err == nil {
				sid, status = id, "reused"
			}
		}
	}
	handle := req.SessionID
	if handle == "" && len(req.Files) > 0 {
		handle = req.Files[0].storage()
	}
	if sid == "" && handle != "" {
		if id, err := s.sessionFromHandle(r, handle); err == nil {
			sid = id
		}
	}
	if sid == "" {
		info, err := s.front.Create(c)
		if err != nil {
			front.Error(w, err)
			return
		}
		sid, status = info.ID, "new"
	}
	if req.RuntimeSessionHint != "" && status != "reused" {
		s.setHint(r.Context(), owner, req.RuntimeSessionHint, sid)
	}
	// Input files that live in another session are copied in under their names, each once,
	// and no more of them than a workspace may hold.
	if len(req.Files) > maxExecFiles {
		front.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("%d input files; at most %d", len(req.Files), maxExecFiles)})
		return
	}
	var inputs []string
	copied := map[string]bool{}
	for _, f := range req.Files {
		if key := f.storage() + "/" + f.ID + "/" + f.Name; copied[key] {
			continue
		} else {
			copied[key] = true
		}
		name := f.Name
		if clean, err := sessions.CleanPath(strings.TrimPrefix(name, "/mnt/data/")); err == nil {
			name = clean
		}
		if name != "" {
			inputs = append(inputs, name)
		}
		if f.storage() == "" || f.storage() == sessionHandle(sid) {
			continue
		}
		from, err := s.sessionFromHandle(r, f.storage())
		if err != nil {
			continue
		}
		p, err := s.fileFromHandle(from, f.ID)
		if err != nil {
			continue
		}
		s.front.Sessions().CopyFile(from, p, sid, name)
	}
	code := req.Code
	if len(req.Args) > 0 {
		code = withArgs(lang, req.Args, code)
	}
	_, res, err := s.front.Run(r.Context(), c, front.RunRequest{SessionID: sid, Code: code, Language: lang, Script: true})
	if err != nil {
		front.Error(w, err)
		return
	}
	stderr := res.Stderr
	if res.Error != nil && res.Error.Kind != runtime.ErrException && res.Error.Kind != runtime.ErrExit {
		stderr += fmt.Sprintf("\n[wasmbox] %s: %s\n", res.Error.Kind, res.Error.Message)
	}
	h := sessionHandle(sid)
	files := []libreFile{}
	for _, f := range res.Files {
		files = append(files, libreFile{ID: fileHandle(f.Path), Name: f.Path, StorageSessionID: h, ResourceID: fileHandle(f.Path), Kind: "user"})
	}
	// Input files the run removed: the client forgets them.
	deleted := []string{}
	if present, err := s.front.Sessions().Files(sid); err == nil {
		have := map[string]bool{}
		for _, f := range present {
			have[f.Path] = true
		}
		for _, name := range inputs {
			if !have[name] {
				deleted = append(deleted, name)
			}
		}
	}
	out := map[string]any{"session_id": h, "stdout": res.Stdout, "stderr": stderr, "files": files}
	if len(deleted) > 0 {
		out["deleted_files"] = deleted
	}
	if req.RuntimeSessionHint != "" {
		if status == "" {
			status = "reused"
		}
		out["runtime_session_id"], out["runtime_status"] = h, status
	}
	front.WriteJSON(w, http.StatusOK, out)
}

// maxExecFiles bounds the input files of one exec.
const maxExecFiles = 100

// withArgs passes a run's command-line arguments: bash's positional parameters, Python's
// sys.argv; other languages get them as a global named args.
func withArgs(lang runtime.Language, args []string, code string) string {
	switch lang {
	case runtime.Bash:
		quoted := make([]string, len(args))
		for i, a := range args {
			quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		return "set -- " + strings.Join(quoted, " ") + "\n" + code
	case runtime.Python:
		b, _ := json.Marshal(append([]string{"main.py"}, args...))
		return "import sys as _wasmbox_sys; _wasmbox_sys.argv = " + string(b) + "; del _wasmbox_sys\n" + code
	default:
		b, _ := json.Marshal(args)
		return "globalThis.args = " + string(b) + ";\n" + code
	}
}

func (s *API) libreUpload(w http.ResponseWriter, r *http.Request) {
	c := front.CallerFrom(r.Context())
	end, ok := s.front.BeginUpload(w, c)
	if !ok {
		return
	}
	defer end()
	type uploaded struct {
		Status   string `json:"status,omitempty"`
		FileID   string `json:"fileId,omitempty"`
		Filename string `json:"filename"`
		Error    string `json:"error,omitempty"`
	}
	batch := strings.HasSuffix(r.URL.Path, "/batch")
	failed := 0
	out := []uploaded{}
	sid := "" // made at the first file
	defer func() {
		if sid != "" && len(out) == failed {
			s.front.Sessions().Delete(sid) // a failed upload leaves no empty session behind
		}
	}()
	err := front.ReadForm(w, r, func(string, string) error { return nil }, func(up front.UploadedFile) error {
		if up.Field != "file" {
			return nil
		}
		if sid == "" {
			info, err := s.front.Create(c)
			if err != nil {
				return err
			}
			sid = info.ID
		}
		// Nested paths are kept when they stay inside; anything else keeps its base name.
		name := up.Name
		if _, err := sessions.CleanPath(name); err != nil {
			name = front.PathBase(name)
		}
		fi, err := s.front.SaveUpload(sid, name, up)
		if err != nil {
			// A batch reports a file it could not keep and goes on, unless the request
			// itself broke (cut off, too large).
			if !batch || errors.As(err, new(*http.MaxBytesError)) || errors.Is(err, io.ErrUnexpectedEOF) {
				return err
			}
			out = append(out, uploaded{Status: "error", Filename: name, Error: err.Error()})
			failed++
			return nil
		}
		out = append(out, uploaded{Status: "success", FileID: fileHandle(fi.Path), Filename: fi.Path})
		return nil
	})
	if err != nil {
		out = out[:0]
		failed = 0
		front.FormError(w, err, "want a multipart form with a \"file\" field")
		return
	}
	if sid == "" {
		front.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "no \"file\" field in the form"})
		return
	}
	h := sessionHandle(sid)
	resp := map[string]any{"message": "success", "storage_session_id": h, "session_id": h, "files": out}
	if batch {
		resp["succeeded"], resp["failed"] = len(out)-failed, failed
	}
	front.WriteJSON(w, http.StatusOK, resp)
}

// libreObject answers LibreChat's freshness check of an uploaded file.
func (s *API) libreObject(w http.ResponseWriter, r *http.Request) {
	sid, path, ok := s.libreSessionFile(w, r)
	if !ok {
		return
	}
	for _, f := range mustFiles(s, sid) {
		if f.Path == path {
			front.WriteJSON(w, http.StatusOK, map[string]any{"id": fileHandle(path), "name": path, "size": f.Size, "lastModified": f.Modified})
			return
		}
	}
	front.Error(w, fmt.Errorf("%w: %s", sessions.ErrBadPath, path))
}

func mustFiles(s *API, sid string) []sessions.FileInfo {
	files, _ := s.front.Sessions().Files(sid)
	return files
}

func (s *API) libreSessionFile(w http.ResponseWriter, r *http.Request) (sid, path string, ok bool) {
	sid, err := s.sessionFromHandle(r, r.PathValue("session"))
	if err == nil {
		path, err = s.fileFromHandle(sid, r.PathValue("file"))
	}
	if err != nil {
		front.Error(w, err)
		return "", "", false
	}
	return sid, path, true
}

func (s *API) libreDownload(w http.ResponseWriter, r *http.Request) {
	sid, path, ok := s.libreSessionFile(w, r)
	if !ok {
		return
	}
	s.front.ServeFile(w, r, sid, path)
}

func (s *API) libreFiles(w http.ResponseWriter, r *http.Request) {
	h := r.PathValue("session")
	sid, err := s.sessionFromHandle(r, h)
	if err != nil {
		front.Error(w, err)
		return
	}
	files, err := s.front.Sessions().Files(sid)
	if err != nil {
		front.Error(w, err)
		return
	}
	out := make([]map[string]any, 0, len(files))
	for _, f := range files {
		out = append(out, map[string]any{"name": h + "/" + fileHandle(f.Path), "id": fileHandle(f.Path), "filename": f.Path,
			"storage_session_id": h, "size": f.Size, "contentType": f.MIME, "lastModified": f.Modified,
			"metadata": map[string]string{"original-filename": f.Path}})
	}
	front.WriteJSON(w, http.StatusOK, out)
}

func (s *API) libreDelete(w http.ResponseWriter, r *http.Request) {
	sid, path, ok := s.libreSessionFile(w, r)
	if !ok {
		return
	}
	if err := s.front.Sessions().DeleteFile(sid, path); err != nil {
		front.Error(w, err)
		return
	}
	front.WriteJSON(w, http.StatusOK, map[string]string{"message": "deleted"})
}
