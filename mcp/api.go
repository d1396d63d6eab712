package mcp

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"

	"wasmbox/runtime"
	"wasmbox/sessions"
)

// The JSON API under /api/ serves the playground and scripts. It goes through the same
// session layer, limits, auth and rate limits as the MCP tools; the caller's identity is the
// API key, or the client IP when no keys are configured.

type apiRunRequest struct {
	Language string `json:"language"`
	Code     string `json:"code"`
}

type apiImage struct {
	MIME string `json:"mime"`
	Data string `json:"data"` // base64
}

type apiRunResponse struct {
	runOutput
	Images []apiImage `json:"images"`
}

func (s *Server) apiOwner(r *http.Request) string {
	if id, ok := r.Context().Value(identityKey{}).(string); ok && id != "" {
		return "key:" + id
	}
	return "ip:" + s.clientIP(r)
}

func (s *Server) apiRoutes(mux *http.ServeMux, guard func(http.Handler) http.Handler) {
	mux.Handle("GET /api/info", guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.systemInfo())
	})))
	mux.Handle("GET /api/sessions", guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list := s.cfg.Sessions.List(s.apiOwner(r))
		if list == nil {
			list = []sessions.Info{}
		}
		writeJSON(w, http.StatusOK, listOutput{Sessions: list, Count: len(list)})
	})))
	mux.Handle("POST /api/sessions", guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info, err := s.cfg.Sessions.Create(s.apiOwner(r))
		if err != nil {
			apiError(w, err)
			return
		}
		writeJSON(w, http.StatusCreated, sessionOutput{SessionID: info.ID, Message: "session created"})
	})))
	mux.Handle("DELETE /api/sessions/{id}", guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.cfg.Sessions.Delete(r.PathValue("id")); err != nil {
			apiError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, sessionOutput{SessionID: r.PathValue("id"), Message: "session deleted"})
	})))
	mux.Handle("GET /api/sessions/{id}/history", guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, err := s.cfg.Sessions.History(r.PathValue("id"))
		if err != nil {
			apiError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, historyOutput{SessionID: r.PathValue("id"), History: h})
	})))
	mux.Handle("POST /api/sessions/{id}/run", guard(http.HandlerFunc(s.apiRun)))
}

func (s *Server) apiRun(w http.ResponseWriter, r *http.Request) {
	var req apiRunRequest
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "want a JSON body {\"language\": \"python|javascript|typescript|bash\", \"code\": \"...\"}: " + err.Error()})
		return
	}
	lang := runtime.Language(req.Language)
	if !s.hasLanguage(lang) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("language %q is not available; available: %s", req.Language, s.languageList())})
		return
	}
	if len(req.Code) > s.cfg.MaxCodeBytes {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": fmt.Sprintf("code is %d bytes; the limit is %d", len(req.Code), s.cfg.MaxCodeBytes)})
		return
	}
	id := r.PathValue("id")
	res, err := s.run(r.Context(), id, runtime.Request{Code: req.Code, Language: lang})
	if err != nil {
		apiError(w, err)
		return
	}
	structured := runResult(id, res, nil).StructuredContent.(runOutput)
	out := apiRunResponse{runOutput: structured, Images: []apiImage{}}
	for _, im := range append(res.Images, s.runImages(id, res)...) {
		out.Images = append(out.Images, apiImage{MIME: im.MIME, Data: base64.StdEncoding.EncodeToString(im.Data)})
	}
	writeJSON(w, http.StatusOK, out)
}
