// Package mcp is wasmbox's network front: the MCP tools and their transports (streamable HTTP,
// SSE, stdio), API-key auth, rate limits, request caps, health and metrics. It talks to
// sessions only through the [sessions.Manager]; it knows nothing of how a language runs.
package mcp

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	mcplib "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/prometheus/client_golang/prometheus"

	"wasmbox/runtime"
	"wasmbox/sessions"
)

// Config configures a [Server]. It is read once by [New].
type Config struct {
	// Version is wasmbox's version, reported by /healthz and get_system_info.
	Version string
	// PythonVersion is the embedded CPython's sys.version.
	PythonVersion string
	// Sessions runs the code.
	Sessions *sessions.Manager
	// APIKeys, when not empty, are the keys every request but /healthz must present.
	APIKeys []string
	// RatePerMinute limits requests per key (or per client IP without keys); 0 turns it off.
	RatePerMinute int
	// MaxCodeBytes caps the code of one run (default 1 MiB); request bodies are capped a little above.
	MaxCodeBytes int
	// TrustedProxies are the proxies whose X-Forwarded-For is believed (WASMBOX_TRUSTED_PROXIES).
	TrustedProxies []netip.Prefix
	// AllowedHosts are the Host names served (none: any); "*.example.com" matches subdomains.
	AllowedHosts []string
	// AllowedOrigins are the browser origins besides the server's own that may make
	// state-changing requests ("*": any).
	AllowedOrigins []string
	// BasePath is the path prefix clients use when a proxy does not send X-Forwarded-Prefix
	// (WASMBOX_BASE_PATH), e.g. "/wasmbox".
	BasePath string
	// FrameAncestors is the playground's CSP frame-ancestors source list (default 'none').
	FrameAncestors string
	// BodyTimeout bounds how long a client may take to send a request body (default 2m): a
	// client that announces a body and never sends it gives its connection up.
	BodyTimeout time.Duration
	// PoolSize reports the warm interpreter pool in metrics and system info (optional).
	PoolSize func() int
	// Isolation describes the isolation layers for get_system_info (optional).
	Isolation map[string]string
	Logger    *slog.Logger
}

// AuthFailuresPerMinute is how many requests with a wrong or missing API key one client
// address may make a minute; past it, its requests are refused before any key is compared.
// Behind a proxy, the address is the client's only with WASMBOX_TRUSTED_PROXIES set.
const AuthFailuresPerMinute = 20

// Server is the MCP server and the HTTP handler that serves it. It is safe for concurrent use.
type Server struct {
	cfg     Config
	mcp     *server.MCPServer
	metrics *metrics
	handler http.Handler
	started time.Time
	limiter *limiter
	// authFailures bounds requests with a wrong or missing API key per client address.
	authFailures *failures
	hints        hintSessions // LibreChat's runtime session hints
}

// New builds the server.
func New(cfg Config) (*Server, error) {
	if cfg.Sessions == nil {
		return nil, fmt.Errorf("mcp: config: Sessions is required")
	}
	if bp, ok := cleanPrefix(cfg.BasePath); ok {
		cfg.BasePath = bp
	} else {
		return nil, fmt.Errorf("mcp: base path %q: want /name or /a/b with letters, digits and -._~", cfg.BasePath)
	}
	if cfg.FrameAncestors == "" {
		cfg.FrameAncestors = "'none'"
	}
	for i, h := range cfg.AllowedHosts {
		cfg.AllowedHosts[i] = strings.ToLower(strings.TrimSpace(h))
	}
	if cfg.BodyTimeout == 0 {
		cfg.BodyTimeout = 2 * time.Minute
	}
	if cfg.MaxCodeBytes == 0 {
		cfg.MaxCodeBytes = 1 << 20
	}
	if cfg.RatePerMinute < 0 {
		return nil, fmt.Errorf("mcp: rate limit %d per minute: must not be negative", cfg.RatePerMinute)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	for i, k := range cfg.APIKeys {
		cfg.APIKeys[i] = strings.TrimSpace(k)
		if cfg.APIKeys[i] == "" {
			return nil, fmt.Errorf("mcp: API key %d is empty", i+1)
		}
	}
	s := &Server{cfg: cfg, started: time.Now()}
	s.metrics = newMetrics(cfg)
	if cfg.RatePerMinute > 0 {
		s.limiter = newLimiter(cfg.RatePerMinute)
	}
	s.authFailures = newFailures(AuthFailuresPerMinute)
	s.mcp = server.NewMCPServer("wasmbox", cfg.Version,
		server.WithToolCapabilities(false),
		server.WithRecovery(),
		server.WithLogging(),
		server.WithInstructions(s.instructions()),
	)
	s.addTools()
	s.addFileTools()
	s.handler = s.routes()
	return s, nil
}

// MCPServer returns the protocol server, for transports other than HTTP (stdio).
func (s *Server) MCPServer() *server.MCPServer { return s.mcp }

// Handler returns the HTTP handler with every route.
func (s *Server) Handler() http.Handler { return s.handler }

// Registry returns the Prometheus registry behind /metrics.
func (s *Server) Registry() *prometheus.Registry { return s.metrics.reg }

func (s *Server) instructions() string {
	l := s.cfg.Sessions.Limits()
	langs := s.languageList()
	return fmt.Sprintf(`wasmbox runs code in a sandbox. Available: %s.
Python is CPython 3.11 with the standard library only (no pip, numpy or pandas; no network, threads or subprocesses); matplotlib.pyplot works for common plots (line, scatter, bar, hist, subplots) and figures come back as images.
JavaScript runs in goja with node-like console output (TypeScript via language=typescript); bash runs allowlisted text and file tools in the workspace.
Files: upload_file puts a file in a session's workspace, list_files and read_file get results out; all languages of a session share its workspace.
State persists within a session like a notebook: create one with create_execution_session (or omit session_id and a new session is made; its id is in the result) and pass session_id to later calls to keep variables, imports and files. Files live in the session's working directory /workspace.
Limits per run: %s wall clock, %d bytes of stdout and of stderr (the rest is dropped), %d MiB of memory. Sessions expire after %s idle. A timeout or memory error resets the session's variables (files stay).`,
		langs, l.Timeout, l.MaxOutput, l.Memory>>20, s.cfg.Sessions.TTL())
}

func (s *Server) languageList() string {
	var names []string
	for _, l := range s.cfg.Sessions.Languages() {
		names = append(names, string(l))
	}
	return strings.Join(names, ", ")
}

// identity is who is calling: the API key, or the MCP connection when no keys are configured.
type identityKey struct{}

func withIdentity(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// owner returns the owner identity for sessions created or listed in ctx.
func owner(ctx context.Context) string {
	if id, ok := ctx.Value(identityKey{}).(string); ok && id != "" {
		return "key:" + id
	}
	if cs := server.ClientSessionFromContext(ctx); cs != nil {
		return "conn:" + cs.SessionID()
	}
	return "anonymous"
}

// result turns a run into the tool result: structured content, its JSON as text, isError.
func runResult(sessionID string, res *runtime.Result, fileImages []runtime.Image) *mcplib.CallToolResult {
	out := runOutput{
		SessionID:  sessionID,
		Success:    res.OK(),
		Stdout:     res.Stdout,
		Stderr:     res.Stderr,
		Truncated:  res.Truncated,
		ExitCode:   res.ExitCode,
		DurationMS: res.Duration.Milliseconds(),
		StateReset: res.StateReset,
		Files:      res.Files,
	}
	if out.Files == nil {
		out.Files = []runtime.File{}
	}
	if res.Error != nil {
		out.Error = &runError{Kind: string(res.Error.Kind), Message: res.Error.Message}
	}
	for i, im := range res.Images {
		out.Figures = append(out.Figures, figureInfo{Index: i + 1, MIME: im.MIME, Bytes: len(im.Data)})
	}
	r := mcplib.NewToolResultStructuredOnly(out)
	r.IsError = !out.Success
	// Figures as image blocks after the text: LibreChat shows ImageContent to the user, while
	// base64 inside the text would not be rendered.
	for _, im := range res.Images {
		r.Content = append(r.Content, mcplib.NewImageContent(base64.StdEncoding.EncodeToString(im.Data), im.MIME))
	}
	for _, im := range fileImages {
		r.Content = append(r.Content, mcplib.NewImageContent(base64.StdEncoding.EncodeToString(im.Data), im.MIME))
	}
	return r
}

// runOutput is the structured result of the execute_* tools.
type runOutput struct {
	SessionID  string         `json:"session_id" jsonschema:"the session the code ran in; pass it again to keep state"`
	Success    bool           `json:"success" jsonschema:"true when the code ran to the end without an error"`
	Stdout     string         `json:"stdout"`
	Stderr     string         `json:"stderr"`
	Truncated  bool           `json:"truncated" jsonschema:"true when stdout or stderr was cut at the output limit"`
	Error      *runError      `json:"error,omitempty" jsonschema:"why the run failed"`
	ExitCode   int            `json:"exit_code"`
	DurationMS int64          `json:"duration_ms"`
	StateReset bool           `json:"state_reset" jsonschema:"true when the session's variables were lost (timeout, memory, restart); files remain"`
	Files      []runtime.File `json:"files" jsonschema:"workspace files created or changed by this run"`
	Figures    []figureInfo   `json:"figures,omitempty" jsonschema:"plots the run showed, returned as image blocks after the text"`
}

type figureInfo struct {
	Index int    `json:"index"`
	MIME  string `json:"mime"`
	Bytes int    `json:"bytes"`
}

type runError struct {
	Kind    string `json:"kind" jsonschema:"timeout, memory, exception, exit, denied, output_limit, crash or internal"`
	Message string `json:"message"`
}
