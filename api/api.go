// Package api is wasmbox's JSON API under /api/ (sessions, runs, files), which scripts and the
// playground use, and the playground itself. It shares the front's path from a request to a
// run, its auth and its limits; without API keys the caller is the client's address.
package api

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"

	"wasmbox/assets"
	"wasmbox/front"
	"wasmbox/runtime"
	"wasmbox/sessions"
)

type apiRunRequest struct {
	Language string `json:"language"`
	Code     string `json:"code"`
}

type apiImage struct {
	MIME string `json:"mime"`
	Data string `json:"data"` // base64
}

type apiRunResponse struct {
	front.RunOutput
	Images []apiImage `json:"images"`
}

// API serves /api/ and the playground. It is safe for concurrent use.
type API struct {
	front *front.Front
}

// New builds the API on f.
func New(f *front.Front) *API { return &API{front: f} }

type sessionOutput struct {
	SessionID string `json:"session_id"`
	Message   string `json:"message"`
}

type listOutput struct {
	Sessions []sessions.Info `json:"sessions"`
	Count    int             `json:"count"`
}

type historyOutput struct {
	SessionID string           `json:"session_id"`
	History   []sessions.Entry `json:"history"`
}

type filesOutput struct {
	SessionID string              `json:"session_id"`
	Files     []sessions.FileInfo `json:"files"`
}

// Mount adds the API's routes and the playground to mux.
func (s *API) Mount(mux *http.ServeMux) {
	guard := s.front.Guard
	mgr := s.front.Sessions()
	mux.Handle("GET /api/info", guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		front.WriteJSON(w, http.StatusOK, s.front.SystemInfo())
	})))
	mux.Handle("GET /api/sessions", guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list := mgr.List(front.CallerFrom(r.Context()).Owner())
		if list == nil {
			list = []sessions.Info{}
		}
		front.WriteJSON(w, http.StatusOK, listOutput{Sessions: list, Count: len(list)})
	})))
	mux.Handle("POST /api/sessions", guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info, err := s.front.Create(front.CallerFrom(r.Context()))
		if err != nil {
			front.Error(w, err)
			return
		}
		front.WriteJSON(w, http.StatusCreated, sessionOutput{SessionID: info.ID, Message: "session created"})
	})))
	mux.Handle("DELETE /api/sessions/{id}", guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := mgr.Delete(r.PathValue("id")); err != nil {
			front.Error(w, err)
			return
		}
		front.WriteJSON(w, http.StatusOK, sessionOutput{SessionID: r.PathValue("id"), Message: "session deleted"})
	})))
	mux.Handle("GET /api/sessions/{id}/history", guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, err := mgr.History(r.PathValue("id"))
		if err != nil {
			front.Error(w, err)
			return
		}
		front.WriteJSON(w, http.StatusOK, historyOutput{SessionID: r.PathValue("id"), History: h})
	})))
	mux.Handle("POST /api/sessions/{id}/run", guard(http.HandlerFunc(s.run)))
	files := s.front.GuardUpload(http.HandlerFunc(s.files))
	mux.Handle("/api/sessions/{id}/files", files)
	mux.Handle("/api/sessions/{id}/files/{path...}", files)
	static := http.StripPrefix("/static/", http.FileServerFS(assets.Web()))
	mux.Handle("GET /static/", s.front.SecurityHeaders(static))
	mux.Handle("GET /{$}", s.front.SecurityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, assets.Web(), "index.html")
	})))
}

func (s *API) run(w http.ResponseWriter, r *http.Request) {
	var req apiRunRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		front.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "want a JSON body {\"language\": \"python|javascript|typescript|bash\", \"code\": \"...\"}: " + err.Error()})
		return
	}
	id, res, err := s.front.Run(r.Context(), front.CallerFrom(r.Context()), front.RunRequest{
		SessionID: r.PathValue("id"), Language: runtime.Language(req.Language), Code: req.Code})
	if err != nil {
		front.Error(w, err)
		return
	}
	out := apiRunResponse{RunOutput: front.NewRunOutput(id, res), Images: []apiImage{}}
	for _, im := range slices.Concat(res.Images, s.front.Sessions().RunImages(id, res)) {
		out.Images = append(out.Images, apiImage{MIME: im.MIME, Data: base64.StdEncoding.EncodeToString(im.Data)})
	}
	front.WriteJSON(w, http.StatusOK, out)
}

// files serves /api/sessions/{id}/files[/{path}]: POST multipart uploads, GET lists, GET
// of a path downloads. The session id is the capability, as in the MCP tools.
func (s *API) files(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	p := r.PathValue("path")
	switch {
	case r.Method == http.MethodGet && p == "":
		files, err := s.front.Sessions().Files(id)
		if err != nil {
			front.Error(w, err)
			return
		}
		front.WriteJSON(w, http.StatusOK, filesOutput{SessionID: id, Files: files})
	case r.Method == http.MethodGet:
		s.front.ServeFile(w, r, id, p)
	case r.Method == http.MethodPost && p == "":
		s.upload(w, r, id)
	default:
		w.Header().Set("Allow", "GET, POST")
		front.WriteJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "use GET to list or download, POST (multipart) to upload"})
	}
}

// upload streams a multipart form's "file" parts into session id's workspace as they arrive;
// a "path" field names the file part that follows it (else the part's own base name is
// used).
func (s *API) upload(w http.ResponseWriter, r *http.Request, id string) {
	const want = "want a multipart form with a file field named \"file\" (at most 50 MiB), optionally preceded by a field \"path\""
	if _, err := s.front.Sessions().Get(id); err != nil {
		front.Error(w, err)
		return
	}
	end, ok := s.front.BeginUpload(w, front.CallerFrom(r.Context()))
	if !ok {
		return
	}
	defer end()
	written := []sessions.FileInfo{}
	next := ""
	err := front.ReadForm(w, r, func(name, value string) error {
		if name == "path" {
			next = value
		}
		return nil
	}, func(up front.UploadedFile) error {
		if up.Field != "file" {
			return nil
		}
		name := next
		if name == "" {
			name = front.PathBase(up.Name)
		}
		next = ""
		fi, err := s.front.SaveUpload(id, name, up)
		if err == nil {
			written = append(written, fi)
		}
		return err
	})
	if err != nil {
		front.FormError(w, err, want)
		return
	}
	if len(written) == 0 {
		front.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "no file field named \"file\" in the form"})
		return
	}
	front.WriteJSON(w, http.StatusOK, map[string]any{"session_id": id, "files": written})
}
