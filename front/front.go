// Package front is what wasmbox's network fronts share: the path from an HTTP request to a
// run (the caller's identity, validation, limits, the run, metrics) and the checks every
// route passes (Host, Origin, body deadline, API keys, rate limits, request caps). The fronts
// themselves (package mcp: tools and transports; package api: the JSON and file API and the
// playground; package librechat: LibreChat's code API) mount their routes on a [Front] and
// word its errors in their own terms.
package front

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"wasmbox/runtime"
	"wasmbox/sessions"
)

// Config configures a [Front]. It is read once by [New].
type Config struct {
	// Version is wasmbox's version, reported by /healthz and the system info.
	Version string
	// PythonVersion is the embedded CPython's sys.version.
	PythonVersion string
	// Sessions runs the code.
	Sessions *sessions.Manager
	// APIKeys, when not empty, are the keys every request but /healthz must present.
	APIKeys []string
	// RatePerMinute limits requests per key (or per client IP without keys); 0 turns it off.
	RatePerMinute int
	// SharedRates, when set, keeps the rate limit's allowances where every replica counts
	// them (cluster mode); when it fails, each replica limits on its own meanwhile.
	SharedRates SharedRates
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
	// Unavailable says, per language the server cannot run (bash where the host cannot confine
	// its programs), why, in one sentence for the caller: every front answers a request for it
	// with that sentence, the MCP tool's description starts with it, the system info lists it.
	Unavailable map[runtime.Language]string
	// MaxUploads bounds the uploads in progress at once (default [DefaultMaxUploads]);
	// MaxUploadsPerOwner those of one owner (default [DefaultMaxUploadsPerOwner]).
	MaxUploads, MaxUploadsPerOwner int
	// PoolSize reports the warm interpreter pool in metrics and system info (optional).
	PoolSize func() int
	// PythonLoads counts worker starts by how they loaded python.wasm (metrics; optional).
	PythonLoads func() (skeleton, validated int64)
	// Isolation describes the isolation layers for the system info (optional).
	Isolation map[string]string
	Logger    *slog.Logger
}

// SharedRates counts requests against allowances shared by several replicas.
type SharedRates interface {
	// Take counts one request of key (an opaque digest) against an allowance of perMinute
	// requests a minute, at most perMinute at once, and reports whether it is within it.
	Take(ctx context.Context, key string, perMinute int) (bool, error)
}

// AuthFailuresPerMinute is how many requests with a wrong or missing API key one client
// address may make a minute; past it, its requests are refused before any key is compared.
// Behind a proxy, the address is the client's only with WASMBOX_TRUSTED_PROXIES set.
const AuthFailuresPerMinute = 20

// PathHealth and PathMetrics are served by [Front.Handler] itself.
const (
	PathHealth  = "/healthz"
	PathMetrics = "/metrics"
)

// Front holds what the fronts share. It is safe for concurrent use.
type Front struct {
	cfg     Config
	metrics *metrics
	started time.Time
	limiter *limiter
	// rateWarned: a failure of the shared rate limit was logged in the last minute.
	rateWarned atomic.Bool
	// authFailures bounds requests with a wrong or missing API key per client address.
	authFailures *failures
	keyHashes    [][32]byte
	uploads      *Gate
	bodies       *bodyBudget
}

// New validates cfg and builds the shared front.
func New(cfg Config) (*Front, error) {
	if cfg.Sessions == nil {
		return nil, fmt.Errorf("front: config: Sessions is required")
	}
	if bp, ok := cleanPrefix(cfg.BasePath); ok {
		cfg.BasePath = bp
	} else {
		return nil, fmt.Errorf("front: base path %q: want /name or /a/b with letters, digits and -._~", cfg.BasePath)
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
		return nil, fmt.Errorf("front: rate limit %d per minute: must not be negative", cfg.RatePerMinute)
	}
	if cfg.MaxUploads == 0 {
		cfg.MaxUploads = DefaultMaxUploads
	}
	if cfg.MaxUploadsPerOwner == 0 {
		cfg.MaxUploadsPerOwner = DefaultMaxUploadsPerOwner
	}
	if cfg.MaxUploads < 0 || cfg.MaxUploadsPerOwner < 0 {
		return nil, fmt.Errorf("front: upload caps %d total, %d per owner: must not be negative", cfg.MaxUploads, cfg.MaxUploadsPerOwner)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	for i, k := range cfg.APIKeys {
		cfg.APIKeys[i] = strings.TrimSpace(k)
		if cfg.APIKeys[i] == "" {
			return nil, fmt.Errorf("front: API key %d is empty", i+1)
		}
	}
	f := &Front{cfg: cfg, started: time.Now()}
	f.metrics = newMetrics(cfg)
	if cfg.RatePerMinute > 0 {
		f.limiter = newLimiter(cfg.RatePerMinute)
	}
	f.authFailures = newFailures(AuthFailuresPerMinute)
	// Each client may hold a few bodies of the largest size, the server many more.
	perClient := max(MaxBodyBytesPerClient, 4*(int64(cfg.MaxCodeBytes)+64<<10))
	f.bodies = newBodyBudget(max(MaxBodyBytesInFlight, 4*perClient), perClient)
	f.uploads = NewGate(cfg.MaxUploads, cfg.MaxUploadsPerOwner)
	f.keyHashes = hashKeys(cfg.APIKeys)
	return f, nil
}

// Config returns the front's configuration, defaults filled in.
func (f *Front) Config() Config { return f.cfg }

// Sessions returns the session manager every front runs code through.
func (f *Front) Sessions() *sessions.Manager { return f.cfg.Sessions }

// Registry returns the Prometheus registry behind /metrics.
func (f *Front) Registry() *prometheus.Registry { return f.metrics.reg }

// Reject counts a refused request in wasmbox_rejected_requests_total under reason.
func (f *Front) Reject(reason string) { f.metrics.rejected.WithLabelValues(reason).Inc() }

// Mount adds a front's routes to mux. Each route wraps its handler in [Front.Guard] (or
// [Front.GuardUpload]), so the shared checks apply.
type Mount func(mux *http.ServeMux)

// Handler returns the HTTP handler serving the given fronts, /healthz, /metrics and a 404
// that says where things are, behind the checks every route shares ([Front.Edge]).
func (f *Front) Handler(mounts ...Mount) http.Handler {
	mux := http.NewServeMux()
	for _, m := range mounts {
		m(mux)
	}
	mux.Handle(PathMetrics, f.auth(promhttp.HandlerFor(f.metrics.reg, promhttp.HandlerOpts{})))
	mux.HandleFunc(PathHealth, func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]any{"status": "ok", "version": f.cfg.Version})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if isOAuthPath(r.URL.Path) {
			WriteJSON(w, http.StatusNotFound, map[string]string{"error": errNoOAuth})
			return
		}
		WriteJSON(w, http.StatusNotFound, map[string]string{"error": "not found: " + r.URL.Path + "; MCP is at /mcp (streamable HTTP) and /sse (SSE), the playground at /"})
	})
	return f.timed(f.Edge(mux))
}

// errNoOAuth answers the paths of OAuth's discovery and registration, which MCP clients try
// after a 401 (mcp-remote then reports a failed "Dynamic Client Registration"): it says what
// to send instead.
const errNoOAuth = "wasmbox has no OAuth: send an API key with every request, as the header `Authorization: Bearer <key>` or `X-API-Key: <key>` (mcp-remote: --header \"Authorization: Bearer <key>\")"

// isOAuthPath reports whether path is one an OAuth client discovers or registers at.
func isOAuthPath(path string) bool {
	switch path {
	case "/register", "/authorize", "/token":
		return true
	}
	return strings.HasPrefix(path, "/.well-known/oauth-") || strings.HasPrefix(path, "/.well-known/openid-configuration")
}

// Languages returns the languages the sessions run.
func (f *Front) Languages() []runtime.Language { return f.cfg.Sessions.Languages() }

// Unavailable returns why lang cannot run here, when the server knows ("" otherwise).
func (f *Front) Unavailable(lang runtime.Language) string {
	if f.HasLanguage(lang) {
		return ""
	}
	return f.cfg.Unavailable[lang]
}

// LanguageList is the languages as a comma-separated list, for messages.
func (f *Front) LanguageList() string {
	var names []string
	for _, l := range f.Languages() {
		names = append(names, string(l))
	}
	return strings.Join(names, ", ")
}

// HasLanguage reports whether lang is served.
func (f *Front) HasLanguage(lang runtime.Language) bool {
	for _, l := range f.Languages() {
		if l == lang {
			return true
		}
	}
	return false
}
