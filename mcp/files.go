package mcp

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	mcplib "github.com/mark3labs/mcp-go/mcp"

	"wasmbox/front"
	"wasmbox/sessions"
)

// MaxReadBytes bounds read_file over MCP; bigger files are downloaded over HTTP.
const MaxReadBytes = 5 << 20

// read_file calls in progress at once, in total and per owner: each holds its file and its
// base64 (up to about 12 MiB) until its answer is sent.
const (
	maxReads         = 16
	maxReadsPerOwner = 4
)

// readGate bounds read_file calls in progress ([front.Gate]) and words its refusals for MCP
// clients.
type readGate struct{ gate *front.Gate }

func newReadGate() *readGate { return &readGate{gate: front.NewGate(maxReads, maxReadsPerOwner)} }

// begin admits a read of owner, or says why not; done ends it.
func (g *readGate) begin(owner string) (done func(), err error) {
	done, err = g.gate.Enter(owner)
	switch {
	case errors.Is(err, front.ErrOwnerBusy):
		return nil, fmt.Errorf("you have %d read_file calls in progress, the most at once; retry when one is done", maxReadsPerOwner)
	case err != nil:
		return nil, fmt.Errorf("the server is answering %d read_file calls at once, its most; retry in a moment (or download over HTTP at /api/sessions/{id}/files/{path})", maxReads)
	}
	return done, nil
}

func (s *Server) addFileTools() {
	s.mcp.AddTool(mcplib.NewTool("upload_file",
		mcplib.WithDescription("Write a file into a session's workspace (replacing a file of the same path) so code can read it, e.g. open('data.csv') in Python. "+
			"content_base64 is the file's bytes in base64; the path is relative to the workspace. Large files: POST /api/sessions/{id}/files."),
		mcplib.WithString("session_id", mcplib.Required(), mcplib.Description("The session's id.")),
		mcplib.WithString("path", mcplib.Required(), mcplib.Description("Relative path in the workspace, e.g. data/input.csv.")),
		mcplib.WithString("content_base64", mcplib.Required(), mcplib.Description("The file's content, base64-encoded.")),
		replaces(),
	), s.uploadTool)
	s.mcp.AddTool(mcplib.NewTool("list_files",
		mcplib.WithDescription("List the files in a session's workspace: path, size, MIME type, modification time."),
		mcplib.WithString("session_id", mcplib.Required(), mcplib.Description("The session's id.")),
		readOnly(),
	), s.listFilesTool)
	s.mcp.AddTool(mcplib.NewTool("read_file",
		mcplib.WithDescription(fmt.Sprintf("Read a file from a session's workspace: text files come back as text, PNG/JPEG/GIF/WebP as an image, anything else as an embedded binary resource. At most %d MiB.", MaxReadBytes>>20)),
		mcplib.WithString("session_id", mcplib.Required(), mcplib.Description("The session's id.")),
		mcplib.WithString("path", mcplib.Required(), mcplib.Description("Relative path in the workspace.")),
		readOnly(),
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
	fi, err := s.front.Sessions().WriteFile(id, p, data)
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
	files, err := s.front.Sessions().Files(id)
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
	// A file read here is held whole, with its base64, until the answer is sent.
	done, err := s.reads.begin(caller(ctx).Owner())
	if err != nil {
		return toolError(err), nil
	}
	defer done()
	data, fi, err := s.front.Sessions().ReadFile(id, p, MaxReadBytes)
	if err != nil {
		return toolError(err), nil
	}
	mime := strings.SplitN(fi.MIME, ";", 2)[0]
	switch {
	case sessions.ImageMIME[mime]:
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
