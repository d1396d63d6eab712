package main

import (
	"context"
	"crypto"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/server"

	"wasmbox/api"
	"wasmbox/front"
	"wasmbox/librechat"
	"wasmbox/mcp"
	"wasmbox/runtime"
	"wasmbox/sessions"
	"wasmbox/wasm/cpython"
	"wasmbox/workspace"
)

// serviceConfig is everything serve and stdio read from flags and the environment.
type serviceConfig struct {
	logLevel slog.Level
	// commitAfterAnswer: cluster mode answers a run before committing it (WASMBOX_CHECKPOINT).
	commitAfterAnswer bool
	addr              string
	dataDir           string
	maxSessions       int
	perOwner          int
	ttl               time.Duration
	maxConcurrent     int
	ownerRuns         int // WASMBOX_OWNER_MAX_RUNS; 0: half of maxConcurrent
	poolSize          int
	ratePerMinute     int
	apiKeys           []string
	workers           workerConfig
	proxies           []netip.Prefix
	hosts             []string // WASMBOX_ALLOWED_HOSTS; nil: see allowedHosts
	space             bool     // SPACE_ID is set: serving as a Hugging Face Space
	spaceHost         string   // SPACE_HOST, a Hugging Face Space's own name
	origins           []string
	frame             string
	basePath          string
	loopback          bool // serve listens on loopback only
	maxConns          int  // WASMBOX_MAX_CONNECTIONS
	maxConnsPer       int  // WASMBOX_MAX_CONNECTIONS_PER_CLIENT
	libreChatJWT      *librechat.Verifier
}

// envOr returns the environment variable's value, or def when it is unset.
func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

func defaultDataDir() string {
	d, err := os.UserCacheDir()
	if err != nil {
		d = os.TempDir()
	}
	return filepath.Join(d, "wasmbox", "data")
}

// parseServiceFlags reads flags, whose defaults come from their environment twins.
func parseServiceFlags(name string, args []string, getenv func(string) string, stderr io.Writer) (serviceConfig, error) {
	var c serviceConfig
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", envOr(getenv, "WASMBOX_ADDR", ":7860"), "listen address (env WASMBOX_ADDR)")
	fs.StringVar(&c.dataDir, "data-dir", envOr(getenv, "WASMBOX_DATA_DIR", defaultDataDir()), "sessions' workspaces and metadata (env WASMBOX_DATA_DIR)")
	maxSessions := fs.String("max-sessions", envOr(getenv, "MAX_SESSIONS", "100"), "maximum sessions (env MAX_SESSIONS)")
	perOwner := fs.String("max-sessions-per-owner", envOr(getenv, "WASMBOX_MAX_SESSIONS_PER_OWNER", "0"), "maximum sessions of one API key or client, 0 for a quarter of MAX_SESSIONS (env WASMBOX_MAX_SESSIONS_PER_OWNER)")
	ttl := fs.String("session-ttl", envOr(getenv, "SESSION_TTL", "1h"), "idle time before a session expires, a duration or seconds (env SESSION_TTL)")
	maxConc := fs.String("max-concurrent", envOr(getenv, "MAX_CONCURRENT_EXECUTIONS", strconv.Itoa(2*goruntime.NumCPU())), "runs at once across sessions (env MAX_CONCURRENT_EXECUTIONS)")
	pool := fs.String("pool-size", envOr(getenv, "WASMBOX_POOL_SIZE", "2"), "started workers kept ready for new sessions (env WASMBOX_POOL_SIZE)")
	poolMax := fs.String("pool-max", envOr(getenv, "WASMBOX_POOL_MAX", ""), "largest the pool grows while new sessions arrive faster than it refills; default 4x the pool size, at most 16 (env WASMBOX_POOL_MAX)")
	idle := fs.String("worker-idle", envOr(getenv, "WASMBOX_WORKER_IDLE", "10m"), "idle time before a session's worker stops; its files stay (env WASMBOX_WORKER_IDLE)")
	budget := fs.String("memory-budget", envOr(getenv, "WASMBOX_MEMORY_BUDGET", ""), "memory all workers may be charged, in MiB or with a unit (512M, 8G); default half the machine's (env WASMBOX_MEMORY_BUDGET)")
	rateLimit := fs.String("rate-limit", envOr(getenv, "RATE_LIMIT_PER_MINUTE", "120"), "requests per minute per API key or client IP, 0 for none (env RATE_LIMIT_PER_MINUTE)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	var err error
	atoi := func(name, v string, min int) int {
		n, e := strconv.Atoi(v)
		if e != nil || n < min {
			err = errors.Join(err, fmt.Errorf("%s=%q: want a whole number >= %d", name, v, min))
		}
		return n
	}
	c.maxSessions = atoi("MAX_SESSIONS", *maxSessions, 1)
	c.perOwner = atoi("WASMBOX_MAX_SESSIONS_PER_OWNER", *perOwner, 0)
	c.maxConcurrent = atoi("MAX_CONCURRENT_EXECUTIONS", *maxConc, 1)
	c.workers.runs = c.maxConcurrent
	c.ownerRuns = atoi("WASMBOX_OWNER_MAX_RUNS", envOr(getenv, "WASMBOX_OWNER_MAX_RUNS", "0"), 0)
	c.poolSize = atoi("WASMBOX_POOL_SIZE", *pool, 0)
	c.ratePerMinute = atoi("RATE_LIMIT_PER_MINUTE", *rateLimit, 0)
	c.maxConns = atoi("WASMBOX_MAX_CONNECTIONS", envOr(getenv, "WASMBOX_MAX_CONNECTIONS", strconv.Itoa(front.DefaultMaxConns)), 1)
	c.maxConnsPer = atoi("WASMBOX_MAX_CONNECTIONS_PER_CLIENT", envOr(getenv, "WASMBOX_MAX_CONNECTIONS_PER_CLIENT", strconv.Itoa(front.DefaultMaxConnsPerClient)), 1)
	c.workers.poolSize = c.poolSize
	c.workers.poolMax = -1
	if *poolMax != "" {
		c.workers.poolMax = atoi("WASMBOX_POOL_MAX", *poolMax, 0)
		if c.workers.poolMax < c.poolSize || c.workers.poolMax > 64 {
			err = errors.Join(err, fmt.Errorf("WASMBOX_POOL_MAX=%q: want a whole number from WASMBOX_POOL_SIZE (%d) to 64", *poolMax, c.poolSize))
		}
	}
	c.workers.resident = atoi("MAX_RESIDENT_SESSIONS", envOr(getenv, "MAX_RESIDENT_SESSIONS", "0"), 0)
	c.workers.snapshotCap = int64(atoi("WASMBOX_SNAPSHOT_MAX_MB", envOr(getenv, "WASMBOX_SNAPSHOT_MAX_MB", "256"), 1)) << 20
	if d, e := time.ParseDuration(*idle); e == nil && d > 0 {
		c.workers.idle = d
	} else {
		err = errors.Join(err, fmt.Errorf("WASMBOX_WORKER_IDLE=%q: want a duration like 10m", *idle))
	}
	if *budget != "" {
		n, e := parseSize(*budget)
		if e != nil || n < 64<<20 {
			err = errors.Join(err, fmt.Errorf("WASMBOX_MEMORY_BUDGET=%q: want a size of at least 64M, like 4096 (MiB), 512M or 8G", *budget))
		}
		c.workers.budget = n
	}
	for _, p := range splitList(getenv("WASMBOX_TRUSTED_PROXIES")) {
		prefix, e := netip.ParsePrefix(p)
		if e != nil {
			ip, e2 := netip.ParseAddr(p)
			if e2 != nil {
				err = errors.Join(err, fmt.Errorf("WASMBOX_TRUSTED_PROXIES: %q is not an address or CIDR", p))
				continue
			}
			prefix = netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen())
		}
		c.proxies = append(c.proxies, prefix)
	}
	c.hosts = splitList(getenv("WASMBOX_ALLOWED_HOSTS"))
	c.space = getenv("SPACE_ID") != ""
	c.spaceHost = strings.TrimSpace(getenv("SPACE_HOST"))
	c.origins = splitList(getenv("WASMBOX_ALLOWED_ORIGINS"))
	c.frame = getenv("WASMBOX_FRAME_ANCESTORS")
	c.basePath = getenv("WASMBOX_BASE_PATH")
	if c.frame == "" && getenv("SPACE_ID") != "" {
		// A Hugging Face Space shows its app in an iframe on huggingface.co.
		c.frame = "https://huggingface.co"
	}
	switch cp := getenv("WASMBOX_CHECKPOINT"); cp {
	case "", "before-answer":
	case "after-answer":
		c.commitAfterAnswer = true
	default:
		err = errors.Join(err, fmt.Errorf("WASMBOX_CHECKPOINT=%q: want before-answer or after-answer", cp))
	}
	if lv := getenv("WASMBOX_LOG_LEVEL"); lv != "" {
		if e := c.logLevel.UnmarshalText([]byte(lv)); e != nil {
			err = errors.Join(err, fmt.Errorf("WASMBOX_LOG_LEVEL=%q: want debug, info, warn or error", lv))
		}
	}
	c.workers.unconfine = getenv("WASMBOX_BASH_UNCONFINED") == "1"
	for _, l := range strings.Split(getenv("WASMBOX_DISABLE_LAYERS"), ",") {
		if l = strings.TrimSpace(l); l != "" {
			c.workers.disable = append(c.workers.disable, l)
		}
	}
	if d, e := time.ParseDuration(*ttl); e == nil && d > 0 {
		c.ttl = d
	} else if secs, e := strconv.Atoi(*ttl); e == nil && secs > 0 {
		c.ttl = time.Duration(secs) * time.Second
	} else {
		err = errors.Join(err, fmt.Errorf("SESSION_TTL=%q: want a duration like 30m or a number of seconds", *ttl))
	}
	for _, k := range strings.Split(getenv("WASMBOX_API_KEYS"), ",") {
		if k = strings.TrimSpace(k); k != "" {
			c.apiKeys = append(c.apiKeys, k)
		}
	}
	v, jwtErr := libreChatVerifier(getenv)
	c.libreChatJWT = v
	return c, errors.Join(err, jwtErr)
}

// libreChatVerifier reads the public side of LibreChat's JWT mode from the variables LibreChat's
// own documentation names for the code API: CODEAPI_JWT_JWKS_JSON, or CODEAPI_JWT_PUBLIC_KEY
// (PEM or JWK; CODEAPI_JWT_PUBLIC_KEY_BASE64 for a base64 PEM) with CODEAPI_JWT_KID, and
// CODEAPI_JWT_ISSUER, CODEAPI_JWT_AUDIENCE, CODEAPI_JWT_ALLOWED_ALGS. None set: no token mode.
func libreChatVerifier(getenv func(string) string) (*librechat.Verifier, error) {
	keys := map[string]crypto.PublicKey{}
	if set := getenv("CODEAPI_JWT_JWKS_JSON"); set != "" {
		k, err := librechat.ParseJWKS(set)
		if err != nil {
			return nil, fmt.Errorf("CODEAPI_JWT_JWKS_JSON: %w", err)
		}
		keys = k
	}
	pub := getenv("CODEAPI_JWT_PUBLIC_KEY")
	if b64 := getenv("CODEAPI_JWT_PUBLIC_KEY_BASE64"); pub == "" && b64 != "" {
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
		if err != nil {
			return nil, fmt.Errorf("CODEAPI_JWT_PUBLIC_KEY_BASE64: %w", err)
		}
		pub = string(b)
	}
	if pub != "" {
		k, err := librechat.ParsePublicKey(pub)
		if err != nil {
			return nil, fmt.Errorf("CODEAPI_JWT_PUBLIC_KEY: %w", err)
		}
		keys[envOr(getenv, "CODEAPI_JWT_KID", envOr(getenv, "CODEAPI_JWT_KEY_ID", librechat.DefaultKeyID))] = k
	}
	if len(keys) == 0 {
		return nil, nil
	}
	v, err := librechat.NewVerifier(librechat.VerifierConfig{Keys: keys, Issuer: getenv("CODEAPI_JWT_ISSUER"),
		Audience: getenv("CODEAPI_JWT_AUDIENCE"), Algorithms: splitList(getenv("CODEAPI_JWT_ALLOWED_ALGS"))})
	if err != nil {
		return nil, fmt.Errorf("LibreChat token settings: %w", err)
	}
	return v, nil
}

// splitList reads a comma- or space-separated setting.
func splitList(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })
}

// allowedHosts is WASMBOX_ALLOWED_HOSTS; else, on a server no API key protects or one bound
// to loopback, the loopback names, so a page that rebinds its name to the server's address is
// refused (on a Hugging Face Space, SPACE_ID set, also the Space's names: SPACE_HOST and
// *.hf.space, which the platform's proxy passes on); else none (any host: keys protect every
// route).
func (c serviceConfig) allowedHosts() []string {
	switch {
	case len(c.hosts) > 0:
		return c.hosts
	case len(c.apiKeys) == 0 || c.loopback:
		hosts := append([]string(nil), front.LoopbackHosts...)
		if c.space {
			hosts = append(hosts, spaceHosts)
			if c.spaceHost != "" {
				hosts = append(hosts, c.spaceHost)
			}
		}
		return hosts
	}
	return nil
}

// spaceHosts are the names Hugging Face serves Spaces under.
const spaceHosts = "*.hf.space"

// perOwnerCap is WASMBOX_MAX_SESSIONS_PER_OWNER, where 0 means a quarter of MAX_SESSIONS.
func (c serviceConfig) perOwnerCap() int {
	if c.perOwner == 0 {
		return sessions.DefaultSessionsPerOwner(c.maxSessions)
	}
	return c.perOwner
}

// parseSize reads a size in MiB ("4096") or with a unit ("512M", "8G").
func parseSize(v string) (int64, error) {
	mult := int64(1 << 20)
	switch {
	case strings.HasSuffix(v, "G"):
		mult, v = 1<<30, strings.TrimSuffix(v, "G")
	case strings.HasSuffix(v, "M"):
		v = strings.TrimSuffix(v, "M")
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 || n > 1<<24 {
		return 0, fmt.Errorf("bad size %q", v)
	}
	return n * mult, nil
}

// bashUnavailable is what every front answers for bash where the probe refused it.
const bashUnavailable = "bash is not available on this server: its host offers neither Landlock nor user namespaces, which wasmbox needs to confine the programs bash starts; use Python or JavaScript instead."

// unavailable says why each language the backend does not serve is missing.
func unavailable(served []runtime.Language) map[runtime.Language]string {
	if slices.Contains(served, runtime.Bash) {
		return nil
	}
	return map[runtime.Language]string{runtime.Bash: bashUnavailable}
}

// service is a running wasmbox: workers, sessions and the MCP server.
type service struct {
	backend  *backend
	sessions *sessions.Manager
	mcp      *mcp.Server
	front    *front.Front
	handler  http.Handler
	shared   *sharedStore // cluster mode; nil in local mode
}

func newService(ctx context.Context, c serviceConfig, log *slog.Logger) (*service, error) {
	limits, err := limitsFromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	links, err := checkDataDir(c.dataDir)
	if err != nil {
		return nil, err
	}
	if !links {
		log.Info("the data directory's file system makes no hard links: base images are published by rename", "data_dir", c.dataDir)
	}
	c.workers.imageDir = filepath.Join(c.dataDir, "images")
	b, err := newBackend(ctx, c.workers, limits, os.Getenv, log)
	if err != nil {
		return nil, err
	}
	isolation := map[string]string{
		"python":     "CPython " + cpython.Version + " compiled to WASI in wazero, inside the session's worker: own linear memory, no sockets, no host environment, only /workspace and the read-only stdlib; stopped by killing the worker; new interpreters are restored from a base memory image, so all share one PYTHONHASHSEED (random is reseeded); a session's state is saved as a snapshot when its worker stops and restored by the next",
		"javascript": "goja in the session's worker: no file system, network, processes or host modules; interrupted at the timeout; heap growth past the memory limit stops the run and resets the runtime; call depth capped",
		"workspace": fmt.Sprintf("quota %d MiB of allocated bytes (each inode once) and %d files and directories, paths of at most %d bytes and %d levels, no symbolic links; held by wasmbox's own accounting (no size-limited file system): Python's file system refuses the write, bash programs run under RLIMIT_FSIZE of the remaining quota with a watcher that stops the run, uploads reserve their size",
			limits.WorkspaceQuota>>20, limits.WorkspaceEntries, workspace.MaxPath, workspace.MaxDepth),
	}
	for layer, state := range b.layers {
		isolation[layer] = state
	}
	sopts := []sessions.Option{sessions.WithDataDir(c.dataDir), sessions.WithBackend(b), sessions.WithLimits(limits),
		sessions.WithMaxSessions(c.maxSessions), sessions.WithTTL(c.ttl),
		sessions.WithMaxSessionsPerOwner(c.perOwnerCap()),
		sessions.WithMaxConcurrent(c.maxConcurrent, 8*c.maxConcurrent), sessions.WithLogger(log)}
	if c.ownerRuns > 0 {
		sopts = append(sopts, sessions.WithMaxRunsPerOwner(c.ownerRuns))
	}
	shared, err := openCluster(ctx, os.Getenv, c.addr, log)
	if err != nil {
		b.sup.Close()
		return nil, err
	}
	if shared != nil {
		sopts = append(sopts, sessions.WithShared(shared), sessions.WithCommitAfterAnswer(c.commitAfterAnswer))
		isolation["cluster"] = "sessions are kept in the shared object store and run under a Redis lease; each run commits the session's files and Python snapshot"
	}
	mgr, err := sessions.New(sopts...)
	if err != nil {
		b.sup.Close()
		return nil, err
	}
	fcfg := front.Config{
		Version: version, PythonVersion: b.pyVersion, Sessions: mgr, APIKeys: c.apiKeys,
		RatePerMinute: c.ratePerMinute, PoolSize: func() int { return b.sup.Stats().Pooled },
		PythonLoads: b.sup.PythonLoads, Logger: log,
		Isolation: isolation, TrustedProxies: c.proxies, AllowedHosts: c.allowedHosts(), AllowedOrigins: c.origins,
		FrameAncestors: c.frame, BasePath: c.basePath, Unavailable: unavailable(b.langs),
	}
	if shared != nil {
		fcfg.SharedRates = shared.leases // every replica counts a client's requests
	}
	fr, err := front.New(fcfg)
	if err != nil {
		mgr.Close()
		b.sup.Close()
		return nil, err
	}
	var mopts []mcp.Option
	if shared != nil {
		mopts = append(mopts, mcp.WithSessionKey(shared.mcpKey))
	}
	srv := mcp.New(fr, mopts...)
	lc := librechat.New(fr, c.libreChatJWT)
	if shared != nil {
		lc.WithSharedHints(shared.leases, log) // a conversation's session, whichever replica a call reaches
	}
	handler := fr.Handler(srv.Mount, api.New(fr).Mount, lc.Mount)
	if shared != nil {
		handler = shared.internal(mgr, handler)
	}
	return &service{backend: b, sessions: mgr, mcp: srv, front: fr, handler: handler, shared: shared}, nil
}

// close stops the workers first, which saves each idle session's Python state beside its
// workspace, then writes the sessions' metadata.
func (s *service) close() {
	s.sessions.WaitCommits()
	s.backend.sup.Close()
	s.sessions.Close()
	if s.shared != nil {
		s.shared.close()
	}
}

func serveCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := parseServiceFlags("serve", args, os.Getenv, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "wasmbox serve: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: c.logLevel}))
	// Listen first, so a bad or busy address is reported before anything else starts.
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		fmt.Fprintf(stderr, "wasmbox serve: %v\n", err)
		return 1
	}
	c.loopback = isLoopback(ln.Addr())
	switch {
	case c.space:
		c.workers.shared = "a Hugging Face Space"
	case !c.loopback:
		c.workers.shared = "listening beyond loopback (" + ln.Addr().String() + ")"
	case len(c.proxies) > 0:
		c.workers.shared = "behind a reverse proxy (WASMBOX_TRUSTED_PROXIES)"
	case len(c.apiKeys) > 0 || c.libreChatJWT != nil:
		// Keys mean clients, and a client on this machine (LibreChat beside it) may serve
		// many users.
		c.workers.shared = "for clients with API keys or LibreChat's tokens"
	}
	svc, err := newService(ctx, c, log)
	if err != nil {
		ln.Close()
		fmt.Fprintf(stderr, "wasmbox serve: %v\n", err)
		return 1
	}
	defer svc.close()
	if len(c.apiKeys) == 0 && !isLoopback(ln.Addr()) {
		log.Warn("no WASMBOX_API_KEYS set and listening beyond loopback: anyone who can reach this address can run code", "addr", ln.Addr().String())
	}
	if len(c.hosts) == 0 && (len(c.apiKeys) == 0 || c.loopback) {
		log.Info("serving only these Host names; set WASMBOX_ALLOWED_HOSTS to the names clients use (or \"*\" for any) to serve others", "hosts", strings.Join(c.allowedHosts(), ","))
	}
	// Before any request is authenticated, connections and their headers are bounded per
	// client address and in total.
	lim := svc.front.Listen(ln, c.maxConns, c.maxConnsPer)
	hs := front.Server(svc.handler, lim)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(lim) }()
	log.Info("wasmbox serving", "addr", ln.Addr().String(), "mcp", mcp.PathStreamable, "sse", mcp.PathSSE, "data_dir", c.dataDir, "version", version)
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(stderr, "wasmbox serve: %v\n", err)
			return 1
		}
	case <-ctx.Done():
		log.Info("shutting down (a second signal forces exit)")
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := hs.Shutdown(shutdown); err != nil {
			hs.Close()
		}
	}
	return 0
}

func isLoopback(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

func stdioCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c, err := parseServiceFlags("stdio", args, os.Getenv, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "wasmbox stdio: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: c.logLevel}))
	svc, err := newService(ctx, c, log)
	if err != nil {
		fmt.Fprintf(stderr, "wasmbox stdio: %v\n", err)
		return 1
	}
	defer svc.close()
	err = server.NewStdioServer(svc.mcp.MCPServer()).Listen(ctx, stdin, stdout)
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, io.EOF) {
		fmt.Fprintf(stderr, "wasmbox stdio: %v\n", err)
		return 1
	}
	return 0
}
