package mcp

import (
	"net/http"
	"time"

	"github.com/mark3labs/mcp-go/server"
)

// Paths served by [Server.Mount].
const (
	PathStreamable = "/mcp"
	PathSSE        = "/sse"
	PathMessage    = "/message"
	// PathGradio is where the Gradio server wasmbox replaces served MCP over SSE; configs
	// written for it keep working.
	PathGradio = "/gradio_api/mcp"
)

// Mount adds the HTTP transports to mux: streamable HTTP at /mcp, SSE at /sse + /message and
// at the Gradio server's paths. Every route passes the front's guard; the caller it
// identifies reaches the tools through the context.
func (s *Server) Mount(mux *http.ServeMux) {
	streamable := server.NewStreamableHTTPServer(s.mcp,
		server.WithEndpointPath(PathStreamable),
		server.WithHeartbeatInterval(25*time.Second),
		server.WithDisableLocalhostProtection(true), // the front checks Host on every route
		server.WithSessionIdManager(newMCPSessions()),
	)
	sse := server.NewSSEServer(s.mcp,
		server.WithDynamicBasePath(func(r *http.Request, _ string) string { return s.front.Prefix(r) }),
		server.WithSSEEndpoint(PathSSE),
		server.WithMessageEndpoint(PathMessage),
		server.WithKeepAlive(true),
		server.WithSSEDisableLocalhostProtection(true),
	)
	gradio := server.NewSSEServer(s.mcp,
		server.WithDynamicBasePath(func(r *http.Request, _ string) string { return s.front.Prefix(r) + PathGradio }),
		server.WithSSEEndpoint("/sse"),
		server.WithMessageEndpoint("/message"),
		server.WithKeepAlive(true),
		server.WithSSEDisableLocalhostProtection(true),
	)
	guard := s.front.Guard
	mux.Handle(PathStreamable, guard(streamable))
	mux.Handle(PathSSE, guard(sse.SSEHandler()))
	mux.Handle(PathMessage, guard(sse.MessageHandler()))
	mux.Handle(PathGradio+"/sse", guard(gradio.SSEHandler()))
	mux.Handle(PathGradio+"/message", guard(gradio.MessageHandler()))
}
