// Package mcp is wasmbox's MCP front: the tools and their transports (streamable HTTP, SSE,
// stdio). Requests reach runs through the path package front shares with the other fronts;
// it knows nothing of how a language runs.
package mcp

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"

	mcplib "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"wasmbox/front"
	"wasmbox/runtime"
)

// Server is the MCP server: the tools over streamable HTTP, SSE (also at the Gradio
// server's paths) and stdio. It is safe for concurrent use.
type Server struct {
	front    *front.Front
	mcp      *server.MCPServer
	streams  *streamGate
	sessions *mcpSessions
	reads    *readGate
}

// New builds the MCP server on f.
func New(f *front.Front, opts ...Option) *Server {
	s := &Server{front: f, streams: newStreamGate(f), sessions: newMCPSessions(f.ClientKey), reads: newReadGate()}
	for _, o := range opts {
		o(s)
	}
	s.mcp = server.NewMCPServer("wasmbox", f.Config().Version,
		server.WithToolCapabilities(false),
		server.WithRecovery(),
		server.WithLogging(),
		server.WithInstructions(s.instructions()),
	)
	s.addTools()
	s.addFileTools()
	return s
}

// MCPServer returns the protocol server, for transports other than HTTP (stdio).
func (s *Server) MCPServer() *server.MCPServer { return s.mcp }

func (s *Server) instructions() string {
	l := s.front.Sessions().Limits()
	langs := s.front.LanguageList()
	return fmt.Sprintf(`wasmbox runs code in a sandbox. Available: %s.
Python is CPython 3.13 with numpy, pandas, matplotlib, seaborn, sympy, networkx, openpyxl, Pillow and other pure-Python libraries preinstalled (no pip; no network, threads or subprocesses); plt.show() and figures left open at the end of a run come back as PNG images, savefig writes files.
JavaScript runs in goja with node-like console output (TypeScript via language=typescript); bash runs allowlisted text and file tools in the workspace.
Files: upload_file puts a file in a session's workspace, list_files and read_file get results out; all languages of a session share its workspace.
State persists within a session like a notebook: create one with create_execution_session (or omit session_id and a new session is made; its id is in the result) and pass session_id to later calls to keep variables, imports and files. Files live in the session's working directory /workspace.
Limits per run: %s wall clock, %d bytes of stdout and of stderr (the rest is dropped), %d MiB of memory. Sessions expire after %s idle. A timeout or memory error resets the session's variables (files stay).`,
		langs, l.Timeout, l.MaxOutput, l.Memory>>20, s.front.Sessions().TTL())
}

// caller is who calls a tool: as the HTTP request identified it, and for keyless calls the
// MCP connection, which owns the sessions it makes.
func caller(ctx context.Context) front.Caller {
	c := front.CallerFrom(ctx)
	if cs := server.ClientSessionFromContext(ctx); cs != nil {
		c.Conn = cs.SessionID()
	}
	return c
}

// runResult turns a run into the tool result: structured content, its JSON as text, isError.
func runResult(sessionID string, res *runtime.Result, fileImages []runtime.Image) *mcplib.CallToolResult {
	out := front.NewRunOutput(sessionID, res)
	r := mcplib.NewToolResultStructuredOnly(out)
	r.IsError = !out.Success
	// Figures as image blocks after the text: LibreChat shows ImageContent to the user, while
	// base64 inside the text would not be rendered.
	for _, im := range slices.Concat(res.Images, fileImages) {
		r.Content = append(r.Content, mcplib.NewImageContent(base64.StdEncoding.EncodeToString(im.Data), im.MIME))
	}
	return r
}
