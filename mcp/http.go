package mcp

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/server"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/time/rate"
	"wasmbox/assets"
)

// Paths served by [Server.Handler].
const (
	PathStreamable = "/mcp"
	PathSSE        = "/sse"
	PathMessage    = "/message"
	// PathGradio is where the Gradio server wasmbox replaces served MCP over SSE; configs
	// written for it keep working.
	PathGradio = "/gradio_api/mcp"
	PathHealth = "/healthz"
	PathMetric = "/metrics"
)

func (s *Server) routes() http.Handler {
	ctxFunc := func(ctx context.Context, r *http.Request) context.Context {
		if id, ok := r.Context().Value(identityKey{}).(string); ok {
			return withIdentity(ctx, id)
		}
		return ctx
	}
	streamable := server.NewStreamableHTTPServer(s.mcp,
		server.WithEndpointPath(PathStreamable),
		server.WithHTTPContextFunc(ctxFunc),
		server.WithHeartbeatInterval(25*time.Second),
		server.WithDisableLocalhostProtection(true), // edge checks Host on every route
		server.WithSessionIdManager(newMCPSessions()),
	)
	sse := server.NewSSEServer(s.mcp,
		server.WithDynamicBasePath(func(r *http.Request, _ string) string { return s.prefix(r) }),
		server.WithSSEEndpoint(PathSSE),
		server.WithMessageEndpoint(PathMessage),
		server.WithSSEContextFunc(ctxFunc),
		server.WithKeepAlive(true),
		server.WithSSEDisableLocalhostProtection(true),
	)
	gradio := server.NewSSEServer(s.mcp,
		server.WithDynamicBasePath(func(r *http.Request, _ string) string { return s.prefix(r) + PathGradio }),
		server.WithSSEEndpoint("/sse"),
		server.WithMessageEndpoint("/message"),
		server.WithSSEContextFunc(ctxFunc),
		server.WithKeepAlive(true),
		server.WithSSEDisableLocalhostProtection(true),
	)

	mux := http.NewServeMux()
	guard := func(h http.Handler) http.Handler { return s.auth(s.rateLimit(s.capBody(h))) }
	mux.Handle(PathStreamable, guard(streamable))
	mux.Handle(PathSSE, guard(sse.SSEHandler()))
	mux.Handle(PathMessage, guard(sse.MessageHandler()))
	mux.Handle(PathGradio+"/sse", guard(gradio.SSEHandler()))
	mux.Handle(PathGradio+"/message", guard(gradio.MessageHandler()))
	s.apiRoutes(mux, guard)
	s.libreChatRoutes(mux, guard)
	mux.Handle("/api/sessions/{id}/files", s.auth(s.rateLimit(http.HandlerFunc(s.fileAPI))))
	mux.Handle("/api/sessions/{id}/files/{path...}", s.auth(s.rateLimit(http.HandlerFunc(s.fileAPI))))
	mux.Handle(PathMetric, s.auth(promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})))
	mux.HandleFunc(PathHealth, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "version": s.cfg.Version})
	})
	static := http.StripPrefix("/static/", http.FileServerFS(assets.Web()))
	mux.Handle("GET /static/", s.securityHeaders(static))
	mux.Handle("GET /{$}", s.securityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, assets.Web(), "index.html")
	})))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not found: " + r.URL.Path + "; MCP is at " + PathStreamable + " (streamable HTTP) and " + PathSSE + " (SSE), the playground at /"})
	})
	return s.edge(mux)
}

// bodyDeadline gives a request's body BodyTimeout to arrive, on every route (ReadHeaderTimeout
// covers the headers). Once the body is read the deadline is lifted, so a long run or a
// stream is not cut; a body never sent, also one its handler never reads, ends the connection.
func (s *Server) bodyDeadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength == 0 && len(r.TransferEncoding) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		if rc.SetReadDeadline(time.Now().Add(s.cfg.BodyTimeout)) == nil {
			r.Body = &deadlineBody{ReadCloser: r.Body, lift: func() { rc.SetReadDeadline(time.Time{}) }}
		}
		next.ServeHTTP(w, r)
	})
}

// deadlineBody lifts the read deadline when its body has been read to the end.
type deadlineBody struct {
	io.ReadCloser
	lift func()
	once sync.Once
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.once.Do(b.lift)
	}
	return n, err
}

// securityHeaders keeps the playground to its own origin: no external scripts, styles or
// connections, framing only by Config.FrameAncestors.
func (s *Server) securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors "+s.cfg.FrameAncestors+"; base-uri 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// auth requires one of the configured API keys, as `Authorization: Bearer <key>` or
// `X-API-Key: <key>`; it records the key as the caller's identity.
func (s *Server) auth(next http.Handler) http.Handler {
	if len(s.cfg.APIKeys) == 0 {
		return next
	}
	hashes := make([][32]byte, len(s.cfg.APIKeys))
	for i, k := range s.cfg.APIKeys {
		hashes[i] = sha256.Sum256([]byte(k))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Guessing is bounded per client address before any key is compared.
		addr := guessKey(s.clientIP(r))
		refund, ok := s.authFailures.reserve(addr)
		if !ok {
			s.metrics.rejected.WithLabelValues("auth_rate_limited").Inc()
			tooMany(w, 60, "too many requests with a wrong API key from your address; retry in a minute")
			return
		}
		key := r.Header.Get("X-API-Key")
		if h := r.Header.Get("Authorization"); key == "" && len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
			key = strings.TrimSpace(h[7:])
		}
		// Compare digests in constant time, against every key, so timing reveals nothing.
		got := sha256.Sum256([]byte(key))
		match := 0
		for _, h := range hashes {
			match |= subtle.ConstantTimeCompare(got[:], h[:])
		}
		if key == "" || match != 1 {
			s.metrics.rejected.WithLabelValues("unauthorized").Inc()
			w.Header().Set("WWW-Authenticate", `Bearer realm="wasmbox"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{
				"error": "missing or invalid API key: send `Authorization: Bearer <key>` or `X-API-Key: <key>`"})
			return
		}
		refund() // only failures spend the address's budget
		next.ServeHTTP(w, r.WithContext(withIdentity(r.Context(), key)))
	})
}

// guessKey is what failed keys are counted by: the client's address, or its /64 for IPv6,
// where one host holds a whole prefix.
func guessKey(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil || addr.Is4() {
		return ip
	}
	p, _ := addr.Prefix(64)
	return p.String()
}

// rateLimit allows RatePerMinute requests per key, or per client IP without keys.
func (s *Server) rateLimit(next http.Handler) http.Handler {
	if s.limiter == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who, _ := r.Context().Value(identityKey{}).(string)
		if who == "" {
			who = "ip:" + s.clientIP(r)
		}
		if !s.limiter.allow(who) {
			s.metrics.rejected.WithLabelValues("rate_limited").Inc()
			tooMany(w, (59+s.cfg.RatePerMinute)/s.cfg.RatePerMinute, "rate limit exceeded: at most "+itoa(s.cfg.RatePerMinute)+" requests per minute; retry later")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// tooMany answers 429 with the wait in the Retry-After header and in the body, in the shape
// LibreChat's client reads it ({"error": "rate_limited", "retry_after_seconds": N}).
func tooMany(w http.ResponseWriter, seconds int, message string) {
	w.Header().Set("Retry-After", itoa(seconds))
	writeJSON(w, http.StatusTooManyRequests, map[string]any{"error": "rate_limited", "retry_after_seconds": seconds, "message": message})
}

// capBody limits request bodies to the code cap plus room for the JSON-RPC envelope.
func (s *Server) capBody(next http.Handler) http.Handler {
	max := int64(s.cfg.MaxCodeBytes) + 64<<10
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			s.metrics.rejected.WithLabelValues("too_large").Inc()
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "request body over " + itoa(int(max)) + " bytes"})
			return
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, max)
		}
		next.ServeHTTP(w, r)
	})
}

func itoa(n int) string { return string(marshal(n)) }

// limiter holds one token bucket per caller and forgets callers idle for ten minutes.
type limiter struct {
	mu      sync.Mutex
	perMin  int
	buckets map[string]*bucket
	sweep   time.Time
}

type bucket struct {
	l    *rate.Limiter
	seen time.Time
}

func newLimiter(perMinute int) *limiter {
	return &limiter{perMin: perMinute, buckets: map[string]*bucket{}, sweep: time.Now()}
}

func (l *limiter) allow(who string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if now.Sub(l.sweep) > time.Minute {
		for k, b := range l.buckets {
			if now.Sub(b.seen) > 10*time.Minute {
				delete(l.buckets, k)
			}
		}
		l.sweep = now
	}
	b := l.buckets[who]
	if b == nil {
		b = &bucket{l: rate.NewLimiter(rate.Every(time.Minute/time.Duration(l.perMin)), l.perMin)}
		l.buckets[who] = b
	}
	b.seen = now
	return b.l.AllowN(now, 1)
}

// failures counts failed authentications per client in windows of a minute. reserve counts
// a request before its key is compared, so parallel requests cannot all pass one check;
// the returned refund uncounts it when the key was right. It is safe for concurrent use.
type failures struct {
	mu  sync.Mutex
	max int
	m   map[string]*failWindow
}

type failWindow struct {
	start time.Time
	n     int
}

func newFailures(perMinute int) *failures {
	return &failures{max: perMinute, m: map[string]*failWindow{}}
}

func (f *failures) reserve(who string) (refund func(), ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	w := f.m[who]
	if w == nil || now.Sub(w.start) > time.Minute {
		if len(f.m) > 100_000 {
			f.m = map[string]*failWindow{} // forget everyone rather than grow without bound
		}
		w = &failWindow{start: now}
		f.m[who] = w
	}
	if w.n >= f.max {
		return nil, false
	}
	w.n++
	return func() {
		f.mu.Lock()
		w.n--
		f.mu.Unlock()
	}, true
}
