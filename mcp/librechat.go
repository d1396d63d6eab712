package mcp

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"wasmbox/runtime"
	"wasmbox/sessions"
)

// LibreChat's own Code Interpreter API (LIBRECHAT_CODE_BASEURL=<wasmbox>/librechat/v1,
// LIBRECHAT_CODE_API_KEY=<one of WASMBOX_API_KEYS>), so LibreChat's built-in "run code" works
// against wasmbox. LibreChat accepts only 21-character ids ([A-Za-z0-9_-]{21}) for sessions
// and files, so wasmbox maps them: a session handle is the first 120 bits of the session id in
// base64url (plus one padding character), a file id is a hash of the file's path.

// PathLibreChat is where the LibreChat Code Interpreter API is served.
const PathLibreChat = "/librechat/v1"

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
func (s *Server) sessionFromHandle(r *http.Request, h string) (string, error) {
	if !libreID.MatchString(h) {
		return "", fmt.Errorf("%w: %q is not a session id", sessions.ErrNotFound, h)
	}
	b, err := base64.RawURLEncoding.DecodeString(h[:20])
	if err != nil {
		return "", fmt.Errorf("%w: %q is not a session id", sessions.ErrNotFound, h)
	}
	return s.cfg.Sessions.FindByPrefix(hex.EncodeToString(b), s.apiOwner(r))
}

// fileFromHandle finds the workspace path a file id names.
func (s *Server) fileFromHandle(sid, h string) (string, error) {
	files, err := s.cfg.Sessions.Files(sid)
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

type libreFile struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	SessionID string `json:"session_id,omitempty"`
}

type libreExecRequest struct {
	Lang      string      `json:"lang"`
	Code      string      `json:"code"`
	Args      []string    `json:"args"`
	SessionID string      `json:"session_id"`
	Files     []libreFile `json:"files"`
}

func (s *Server) libreChatRoutes(mux *http.ServeMux, guard func(http.Handler) http.Handler) {
	mux.Handle("POST "+PathLibreChat+"/exec", guard(http.HandlerFunc(s.libreExec)))
	mux.Handle("POST "+PathLibreChat+"/upload", guard(http.HandlerFunc(s.libreUpload)))
	mux.Handle("GET "+PathLibreChat+"/download/{session}/{file}", guard(http.HandlerFunc(s.libreDownload)))
	mux.Handle("GET "+PathLibreChat+"/files/{session}", guard(http.HandlerFunc(s.libreFiles)))
	mux.Handle("DELETE "+PathLibreChat+"/files/{session}/{file}", guard(http.HandlerFunc(s.libreDelete)))
}

func (s *Server) libreExec(w http.ResponseWriter, r *http.Request) {
	var req libreExecRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "want JSON {lang, code, args?, session_id?, files?}: " + err.Error()})
		return
	}
	lang, ok := libreLangs[req.Lang]
	if !ok || !s.hasLanguage(lang) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("unsupported language %q: wasmbox runs py, js, ts and bash", req.Lang)})
		return
	}
	if len(req.Args) > 0 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "args are not supported: wasmbox runs code as a notebook cell, without a command line"})
		return
	}
	if len(req.Code) > s.cfg.MaxCodeBytes {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": fmt.Sprintf("code is over %d bytes", s.cfg.MaxCodeBytes)})
		return
	}
	// The session: the one named, else the one holding the first input file, else a new one.
	handle := req.SessionID
	if handle == "" && len(req.Files) > 0 {
		handle = req.Files[0].SessionID
	}
	var sid string
	if handle != "" {
		if id, err := s.sessionFromHandle(r, handle); err == nil {
			sid = id
		}
	}
	if sid == "" {
		info, err := s.cfg.Sessions.Create(s.apiOwner(r))
		if err != nil {
			apiError(w, err)
			return
		}
		sid = info.ID
	}
	// Input files that live in another session are copied in.
	for _, f := range req.Files {
		if f.SessionID == "" || f.SessionID == sessionHandle(sid) {
			continue
		}
		from, err := s.sessionFromHandle(r, f.SessionID)
		if err != nil {
			continue
		}
		p, err := s.fileFromHandle(from, f.ID)
		if err != nil {
			continue
		}
		data, _, err := s.cfg.Sessions.ReadFile(from, p, MaxUploadBytes)
		if err == nil {
			s.cfg.Sessions.WriteFile(sid, p, data)
		}
	}
	res, err := s.run(r.Context(), sid, runtime.Request{Code: req.Code, Language: lang, Script: true})
	if err != nil {
		apiError(w, err)
		return
	}
	stderr := res.Stderr
	if res.Error != nil && res.Error.Kind != runtime.ErrException && res.Error.Kind != runtime.ErrExit {
		stderr += fmt.Sprintf("\n[wasmbox] %s: %s\n", res.Error.Kind, res.Error.Message)
	}
	files := []libreFile{}
	for _, f := range res.Files {
		files = append(files, libreFile{ID: fileHandle(f.Path), Name: f.Path})
	}
	writeJSON(w, http.StatusOK, map[string]any{"session_id": sessionHandle(sid), "stdout": res.Stdout, "stderr": stderr, "files": files})
}

func (s *Server) libreUpload(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxUploadBytes+1<<20)
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "want a multipart form with a \"file\" field: " + err.Error()})
		return
	}
	defer r.MultipartForm.RemoveAll()
	fhs := r.MultipartForm.File["file"]
	if len(fhs) == 0 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "no \"file\" field in the form"})
		return
	}
	info, err := s.cfg.Sessions.Create(s.apiOwner(r))
	if err != nil {
		apiError(w, err)
		return
	}
	type uploaded struct {
		FileID   string `json:"fileId"`
		Filename string `json:"filename"`
	}
	var out []uploaded
	for _, fh := range fhs {
		data, ok := readPart(w, fh)
		if !ok {
			return
		}
		name := strings.ReplaceAll(fh.Filename, "\\", "/")
		if i := strings.LastIndexByte(name, '/'); i >= 0 {
			name = name[i+1:]
		}
		fi, err := s.cfg.Sessions.WriteFile(info.ID, name, data)
		if err != nil {
			apiError(w, err)
			return
		}
		out = append(out, uploaded{FileID: fileHandle(fi.Path), Filename: fi.Path})
	}
	writeJSON(w, http.StatusOK, map[string]any{"message": "success", "session_id": sessionHandle(info.ID), "files": out})
}

func (s *Server) libreSessionFile(w http.ResponseWriter, r *http.Request) (sid, path string, ok bool) {
	sid, err := s.sessionFromHandle(r, r.PathValue("session"))
	if err == nil {
		path, err = s.fileFromHandle(sid, r.PathValue("file"))
	}
	if err != nil {
		apiError(w, err)
		return "", "", false
	}
	return sid, path, true
}

func (s *Server) libreDownload(w http.ResponseWriter, r *http.Request) {
	sid, path, ok := s.libreSessionFile(w, r)
	if !ok {
		return
	}
	s.serveFile(w, r, sid, path)
}

func (s *Server) libreFiles(w http.ResponseWriter, r *http.Request) {
	h := r.PathValue("session")
	sid, err := s.sessionFromHandle(r, h)
	if err != nil {
		apiError(w, err)
		return
	}
	files, err := s.cfg.Sessions.Files(sid)
	if err != nil {
		apiError(w, err)
		return
	}
	out := make([]map[string]any, 0, len(files))
	for _, f := range files {
		out = append(out, map[string]any{"name": h + "/" + fileHandle(f.Path), "id": fileHandle(f.Path), "filename": f.Path,
			"size": f.Size, "contentType": f.MIME, "lastModified": f.Modified})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) libreDelete(w http.ResponseWriter, r *http.Request) {
	sid, path, ok := s.libreSessionFile(w, r)
	if !ok {
		return
	}
	if err := s.cfg.Sessions.DeleteFile(sid, path); err != nil {
		apiError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"message": "deleted"})
}
