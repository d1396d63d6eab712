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
		server.WithSessionIdManagerResolver(s.sessions),
		server.WithSessionIdleTTL(s.sessions.idle),
	)
	sse := server.NewSSEServer(s.mcp,
		server.WithDynamicBasePath(func(r *http.Request, _ string) string { return s.front.Prefix(r) }),
		server.WithSSEEndpoint(PathSSE),
		server.WithMessageEndpoint(PathMessage),
		server.WithKeepAlive(true),
		server.WithSSEDisableLocalhostProtection(true),
		server.WithSessionIDGenerator(sseSessionID),
	)
	gradio := server.NewSSEServer(s.mcp,
		server.WithDynamicBasePath(func(r *http.Request, _ string) string { return s.front.Prefix(r) + PathGradio }),
		server.WithSSEEndpoint("/sse"),
		server.WithMessageEndpoint("/message"),
		server.WithKeepAlive(true),
		server.WithSSEDisableLocalhostProtection(true),
		server.WithSessionIDGenerator(sseSessionID),
	)
	// Streams are admitted within their caps and kept while messages use them.
	mcpSession := func(r *http.Request) string { return r.Header.Get(server.HeaderKeySessionID) }
	sseSession := func(r *http.Request) string { return r.URL.Query().Get("sessionId") }
	newStream := func(*http.Request) string { return "" }
	guard := s.front.Guard
	g := s.streams
	mux.Handle(PathStreamable, guard(s.sessions.gate(g, g.touching(g.wrap(streamable, mcpSession), mcpSession))))
	mux.Handle(PathSSE, guard(g.wrap(sse.SSEHandler(), newStream)))
	mux.Handle(PathMessage, guard(g.touching(sse.MessageHandler(), sseSession)))
	mux.Handle(PathGradio+"/sse", guard(g.wrap(gradio.SSEHandler(), newStream)))
	mux.Handle(PathGradio+"/message", guard(g.touching(gradio.MessageHandler(), sseSession)))
}
