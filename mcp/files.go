package mcp

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"unicode/utf8"

	mcplib "github.com/mark3labs/mcp-go/mcp"

	"wasmbox/sessions"
)

// Caps of the file tools and API.
const (
	// MaxReadBytes bounds read_file over MCP; bigger files are downloaded over HTTP.
	MaxReadBytes = 5 << 20
	// MaxUploadBytes bounds one upload through the HTTP API.
	MaxUploadBytes = 50 << 20
	// maxRunImages and maxRunImageBytes bound the image files of a run returned as image blocks.
	maxRunImages     = 4
	maxRunImageBytes = 2 << 20
)

var imageMIME = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true}

func (s *Server) addFileTools() {
	s.mcp.AddTool(mcplib.NewTool("upload_file",
		mcplib.WithDescription("Write a file into a session's workspace (replacing a file of the same path) so code can read it, e.g. open('data.csv') in Python. "+
			"content_base64 is the file's bytes in base64; the path is relative to the workspace. Large files: POST /api/sessions/{id}/files."),
		mcplib.WithString("session_id", mcplib.Required(), mcplib.Description("The session's id.")),
		mcplib.WithString("path", mcplib.Required(), mcplib.Description("Relative path in the workspace, e.g. data/input.csv.")),
		mcplib.WithString("content_base64", mcplib.Required(), mcplib.Description("The file's content, base64-encoded.")),
		mcplib.WithOpenWorldHintAnnotation(false),
	), s.uploadTool)
	s.mcp.AddTool(mcplib.NewTool("list_files",
		mcplib.WithDescription("List the files in a session's workspace: path, size, MIME type, modification time."),
		mcplib.WithString("session_id", mcplib.Required(), mcplib.Description("The session's id.")),
		mcplib.WithReadOnlyHintAnnotation(true),
		mcplib.WithOpenWorldHintAnnotation(false),
	), s.listFilesTool)
	s.mcp.AddTool(mcplib.NewTool("read_file",
		mcplib.WithDescription(fmt.Sprintf("Read a file from a session's workspace: text files come back as text, PNG/JPEG/GIF/WebP as an image, anything else as an embedded binary resource. At most %d MiB.", MaxReadBytes>>20)),
		mcplib.WithString("session_id", mcplib.Required(), mcplib.Description("The session's id.")),
		mcplib.WithString("path", mcplib.Required(), mcplib.Description("Relative path in the workspace.")),
		mcplib.WithReadOnlyHintAnnotation(true),
		mcplib.WithOpenWorldHintAnnotation(false),
	), s.readFileTool)
}

type uploadOutput struct {
	SessionID string            `json:"session_id"`
	File      sessions.FileInfo `json:"file"`
	Message   string            `json:"message"`
}

func (s *Server) uploadTool(ctx context.Context, req mcplib.CallToolRequest) (*mcplib.CallToolResult, error) {
	id, err1 := req.RequireString("session_id")
	p, err2 := req.RequireString("path")
	content, err3 := req.RequireString("content_base64")
	if err := errors.Join(err1, err2, err3); err != nil {
		return toolError(fmt.Errorf("upload_file needs session_id, path and content_base64 (strings)")), nil
	}
	data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(content))
	if err != nil {
		return toolError(fmt.Errorf("content_base64 is not valid base64: %v", err)), nil
	}
	fi, err := s.cfg.Sessions.WriteFile(id, p, data)
	if err != nil {
		return toolError(err), nil
	}
	return jsonResult(uploadOutput{SessionID: id, File: fi, Message: "file written to the workspace"}), nil
}

type filesOutput struct {
	SessionID string              `json:"session_id"`
	Files     []sessions.FileInfo `json:"files"`
}

func (s *Server) listFilesTool(ctx context.Context, req mcplib.CallToolRequest) (*mcplib.CallToolResult, error) {
	id, err := req.RequireString("session_id")
	if err != nil {
		return toolError(errors.New("missing required argument \"session_id\"")), nil
	}
	files, err := s.cfg.Sessions.Files(id)
	if err != nil {
		return toolError(err), nil
	}
	return jsonResult(filesOutput{SessionID: id, Files: files}), nil
}

func (s *Server) readFileTool(ctx context.Context, req mcplib.CallToolRequest) (*mcplib.CallToolResult, error) {
	id, err1 := req.RequireString("session_id")
	p, err2 := req.RequireString("path")
	if errors.Join(err1, err2) != nil {
		return toolError(errors.New("read_file needs session_id and path")), nil
	}
	data, fi, err := s.cfg.Sessions.ReadFile(id, p, MaxReadBytes)
	if err != nil {
		return toolError(err), nil
	}
	mime := strings.SplitN(fi.MIME, ";", 2)[0]
	switch {
	case imageMIME[mime]:
		return &mcplib.CallToolResult{Content: []mcplib.Content{
			mcplib.NewTextContent(fmt.Sprintf("%s (%s, %d bytes)", fi.Path, mime, fi.Size)),
			mcplib.NewImageContent(base64.StdEncoding.EncodeToString(data), mime),
		}}, nil
	case isText(mime, data):
		return mcplib.NewToolResultText(string(data)), nil
	}
	return &mcplib.CallToolResult{Content: []mcplib.Content{
		mcplib.NewTextContent(fmt.Sprintf("%s (%s, %d bytes), as an embedded resource", fi.Path, fi.MIME, fi.Size)),
		mcplib.NewEmbeddedResource(mcplib.BlobResourceContents{
			URI: "wasmbox://sessions/" + id + "/files/" + fi.Path, MIMEType: fi.MIME,
			Blob: base64.StdEncoding.EncodeToString(data),
		}),
	}}, nil
}

func isText(mime string, data []byte) bool {
	if strings.HasPrefix(mime, "text/") || mime == "application/json" || mime == "application/xml" || mime == "application/javascript" {
		return utf8.Valid(data)
	}
	if mime == "application/octet-stream" {
		sample := data[:min(len(data), 8192)]
		return utf8.Valid(sample) && !strings.ContainsRune(string(sample), 0)
	}
	return false
}

// fileAPI serves /api/sessions/{id}/files[/{path}]: POST multipart uploads, GET lists, GET
// of a path downloads. The session id is the capability, as in the MCP tools.
func (s *Server) fileAPI(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	p := r.PathValue("path")
	switch {
	case r.Method == http.MethodGet && p == "":
		files, err := s.cfg.Sessions.Files(id)
		if err != nil {
			apiError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, filesOutput{SessionID: id, Files: files})
	case r.Method == http.MethodGet:
		s.serveFile(w, r, id, p)
	case r.Method == http.MethodPost && p == "":
		r.Body = http.MaxBytesReader(w, r.Body, MaxUploadBytes+1<<20)
		if err := r.ParseMultipartForm(8 << 20); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "want a multipart form with a file field named \"file\" (at most 50 MiB): " + err.Error()})
			return
		}
		defer r.MultipartForm.RemoveAll()
		var written []sessions.FileInfo
		for _, fh := range r.MultipartForm.File["file"] {
			name := r.FormValue("path")
			if name == "" || len(r.MultipartForm.File["file"]) > 1 {
				name = fh.Filename
			}
			data, ok := readPart(w, fh)
			if !ok {
				return
			}
			fi, err := s.cfg.Sessions.WriteFile(id, name, data)
			if err != nil {
				apiError(w, err)
				return
			}
			written = append(written, fi)
		}
		if len(written) == 0 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "no file field named \"file\" in the form"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"session_id": id, "files": written})
	default:
		w.Header().Set("Allow", "GET, POST")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "use GET to list or download, POST (multipart) to upload"})
	}
}

// serveFile streams a workspace file as a download (ranges too): slow readers of big files
// cost a file handle each, not the file's size in memory.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, sid, p string) {
	f, fi, err := s.cfg.Sessions.OpenFile(sid, p)
	if err != nil {
		apiError(w, err)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", fi.MIME)
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", pathBase(fi.Path)))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, pathBase(fi.Path), fi.Modified, f)
}

// readPart reads one uploaded file of a multipart form, capped at MaxUploadBytes; on failure
// it has answered the request.
func readPart(w http.ResponseWriter, fh *multipart.FileHeader) ([]byte, bool) {
	f, err := fh.Open()
	if err != nil {
		apiError(w, err)
		return nil, false
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxUploadBytes+1))
	if err != nil {
		apiError(w, err)
		return nil, false
	}
	if len(data) > MaxUploadBytes {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": fmt.Sprintf("%s is over %d MiB", fh.Filename, MaxUploadBytes>>20)})
		return nil, false
	}
	return data, true
}

func pathBase(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// apiError maps a sessions error to an HTTP status.
func apiError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, sessions.ErrNotFound), errors.Is(err, sessions.ErrExpired), errors.Is(err, sessions.ErrEvicted):
		status = http.StatusNotFound
	case errors.Is(err, sessions.ErrBadPath):
		status = http.StatusBadRequest
		if strings.Contains(err.Error(), "does not exist") {
			status = http.StatusNotFound
		}
	case errors.Is(err, sessions.ErrTooLarge):
		status = http.StatusRequestEntityTooLarge
	case errors.Is(err, sessions.ErrQuota):
		status = http.StatusInsufficientStorage
	case errors.Is(err, sessions.ErrBusy):
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, map[string]string{"error": err.Error()})
}
