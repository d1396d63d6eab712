// Package python runs Python: CPython compiled to WASI, in wazero (package wasm), one guest
// instance per session, with a driver inside the guest that keeps the session's globals between
// runs like a notebook.
package python

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"wasmbox/assets"
	"wasmbox/internal/capture"
	"wasmbox/internal/filesnap"
	"wasmbox/runtime"
	"wasmbox/wasm"
	"wasmbox/workspace"
)

// Engine makes Python interpreters. It keeps a warm pool of started instances so a new session
// does not wait for CPython to start. It is safe for concurrent use.
type Engine struct {
	host   *wasm.Host
	limits runtime.Limits
	pool   *pool
	// ownHost is true when Close must close host.
	ownHost     bool
	snapshotCap int64
}

// Option configures an [Engine].
type Option func(*config) error

type config struct {
	poolSize      int
	limits        runtime.Limits
	host          *wasm.Host
	cacheDir      *string
	interruptible bool
	refill        bool
	snapshotCap   int64
	imageDir      *string
	buildHash     string
	skeleton      *wasm.Skeleton
}

// WithPoolRefill sets whether a guest taken from the pool is replaced (default true). A worker,
// which serves one session, starts one guest ahead and no more.
func WithPoolRefill(on bool) Option {
	return func(c *config) error { c.refill = on; return nil }
}

// WithInterruptible sets whether a run can be stopped inside this process (default true). A
// worker process turns it off: Python then runs several times faster, a timeout abandons the
// guest, [Engine.Healthy] turns false and the process must exit (it is killed from outside).
func WithInterruptible(on bool) Option {
	return func(c *config) error { c.interruptible = on; return nil }
}

// WithPoolSize sets how many started interpreters wait for new sessions (default 2; 0 turns
// the pool off).
func WithPoolSize(n int) Option {
	return func(c *config) error {
		if n < 0 || n > 64 {
			return fmt.Errorf("python: pool size %d: must be between 0 and 64", n)
		}
		c.poolSize = n
		return nil
	}
}

// WithLimits sets the default limits of runs whose request carries none, and the memory limit
// and workspace quota of every interpreter.
func WithLimits(l runtime.Limits) Option {
	return func(c *config) error {
		l, err := l.Normalize()
		c.limits = l
		return err
	}
}

// WithImageDir sets where the base image is kept on disk (default: the compilation cache's
// directory). Processes that exchange snapshots must share it.
func WithImageDir(dir string) Option {
	return func(c *config) error { c.imageDir = &dir; return nil }
}

// WithBuildHash sets the build hash of the base image, as [BuildHash] returns it ("" computes
// it): a worker is told it by its server rather than hashing tens of megabytes as it starts.
func WithBuildHash(h string) Option {
	return func(c *config) error { c.buildHash = h; return nil }
}

// WithSkeleton makes the engine load python.wasm's machine code through the skeleton's cache
// entry its server stored (see [wasm.WithSkeleton]); nil validates python.wasm as it loads.
func WithSkeleton(s *wasm.Skeleton) Option {
	return func(c *config) error { c.skeleton = s; return nil }
}

var buildHash = sync.OnceValue(func() string { return wasm.BuildHash(assets.Python(), guestEnv) })

// BuildHash is the hash that names the base image of this build's Python: the same in every
// process of the same binary. Computed once per process.
func BuildHash() string { return buildHash() }

// WithCacheDir sets wazero's compilation cache directory ("" disables it).
func WithCacheDir(dir string) Option {
	return func(c *config) error { c.cacheDir = &dir; return nil }
}

// New compiles CPython (or loads it from the compilation cache) and fills the pool.
func New(ctx context.Context, opts ...Option) (*Engine, error) {
	c := config{poolSize: 2, limits: runtime.DefaultLimits(), interruptible: true, refill: true}
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	hopts := []wasm.Option{wasm.WithMemoryLimit(c.limits.Memory), wasm.WithAssets(assets.Python()),
		wasm.WithInterruptible(c.interruptible), wasm.WithEnv(guestEnv), wasm.WithBuildHash(c.buildHash),
		wasm.WithSkeleton(c.skeleton)}
	if c.cacheDir != nil {
		hopts = append(hopts, wasm.WithCacheDir(*c.cacheDir))
	}
	if c.imageDir != nil {
		hopts = append(hopts, wasm.WithImageDir(*c.imageDir))
	}
	host, err := wasm.New(ctx, hopts...)
	if err != nil {
		return nil, err
	}
	// The base image is made (or read) now: in a worker, before it confines itself.
	if _, err := host.BaseImage(ctx); err != nil {
		host.Close(ctx)
		return nil, fmt.Errorf("python: %w", err)
	}
	e := &Engine{host: host, limits: c.limits, ownHost: true, snapshotCap: c.snapshotCap}
	e.pool = newPool(c.poolSize, c.refill, e.start)
	return e, nil
}

// Language implements [runtime.Engine].
func (e *Engine) Language() runtime.Language { return runtime.Python }

// PoolSize returns how many started interpreters are waiting right now.
func (e *Engine) PoolSize() int { return e.pool.size() }

// CompileTime is how long compiling python.wasm (or loading it from the cache) took.
func (e *Engine) CompileTime() time.Duration { return e.host.CompileTime() }

// Healthy reports whether every guest the engine stopped did stop; see [WithInterruptible].
func (e *Engine) Healthy() bool { return e.host.Healthy() }

// SkeletonError is why python.wasm was validated as it loaded although [WithSkeleton] said
// where to load it from without; nil otherwise.
func (e *Engine) SkeletonError() error { return e.host.SkeletonError() }

// Close stops the pool and releases the runtime.
func (e *Engine) Close(ctx context.Context) error {
	e.pool.close()
	if e.ownHost {
		return e.host.Close(ctx)
	}
	return nil
}

// Version starts an interpreter and returns the CPython version it reports (sys.version).
func (e *Engine) Version(ctx context.Context) (string, error) {
	g, err := e.start(ctx)
	if err != nil {
		return "", err
	}
	defer g.in.Close()
	return g.version, nil
}

// guest is a started instance whose driver has said it is ready.
type guest struct {
	in      *wasm.Instance
	version string
}

// guestEnv is the guest's whole environment. The entry (reactor.c) starts CPython as
// `python -S -s -P` would: no site module (no site-packages exist), no user site, no script
// directory on sys.path.
var guestEnv = map[string]string{
	"PYTHONHOME":              "/usr/local",
	"PYTHONDONTWRITEBYTECODE": "1",
	"PYTHONUTF8":              "1",
	"HOME":                    wasm.WorkspacePath,
	"LANG":                    "C.UTF-8",
	"TMPDIR":                  wasm.WorkspacePath,
	// pytz reads zones from here (the host serves the zones compiled from the tzdata wheel there)
	// instead of scanning its copy inside the stdlib zip, which takes seconds per zone lookup.
	"PYTZ_TZDATADIR": "/usr/share/zoneinfo",
}

// start makes one guest from the base image and asks its driver for the version.
func (e *Engine) start(ctx context.Context) (*guest, error) {
	in, err := e.host.Start(ctx, e.spec())
	if err != nil {
		return nil, fmt.Errorf("python: start interpreter: %w", err)
	}
	return e.hello(ctx, in)
}

func (e *Engine) spec() wasm.Spec {
	return wasm.Spec{Workspace: workspace.Limits{Bytes: e.limits.WorkspaceQuota, Entries: e.limits.WorkspaceEntries}}
}

// hello asks a new guest's driver for its version, which also proves it answers.
func (e *Engine) hello(ctx context.Context, in *wasm.Instance) (*guest, error) {
	out := capture.NewCappedBuffer(4096)
	in.SetOutput(out, out)
	msg, err := in.Call(ctx, []byte(`{"op":"hello"}`), nil)
	in.SetOutput(nil, nil)
	var hello struct {
		Version string `json:"version"`
	}
	if err == nil && (json.Unmarshal(msg, &hello) != nil || hello.Version == "") {
		err = fmt.Errorf("%w: unexpected answer to hello", wasm.ErrProtocol)
	}
	if err != nil {
		in.Close()
		return nil, fmt.Errorf("python: start interpreter: %w (guest said: %q)", err, out.String())
	}
	return &guest{in: in, version: hello.Version}, nil
}

// New implements [runtime.Engine]: it takes a started interpreter from the pool (or starts one)
// and binds it to workspaceDir.
func (e *Engine) New(ctx context.Context, workspaceDir string) (runtime.Interpreter, error) {
	ip := &Interpreter{engine: e, dir: workspaceDir}
	g, err := e.take(ctx, workspaceDir)
	if err != nil {
		return nil, err
	}
	ip.g = g
	return ip, nil
}

func (e *Engine) take(ctx context.Context, dir string) (*guest, error) {
	g := e.pool.get()
	if g == nil {
		var err error
		if g, err = e.start(ctx); err != nil {
			return nil, err
		}
	}
	if err := g.in.BindWorkspace(dir); err != nil {
		g.in.Close()
		return nil, fmt.Errorf("python: open workspace: %w", err)
	}
	return g, nil
}

// Interpreter is one session's Python. Runs are serialized; Close may be called at any time.
type Interpreter struct {
	engine *Engine
	dir    string
	mu     sync.Mutex // serializes runs
	gmu    sync.Mutex // guards g and closed
	g      *guest     // nil after the state was lost, until the next run starts a new one
	closed bool
	lost   bool // the next run starts a fresh interpreter and says so
	seq    int64
}

// ErrClosed is returned by Run after Close.
var ErrClosed = errors.New("python: interpreter closed")

// Close stops the interpreter; a run in progress ends promptly.
func (ip *Interpreter) Close() error {
	ip.gmu.Lock()
	g := ip.g
	ip.g = nil
	ip.closed = true
	ip.gmu.Unlock()
	if g != nil {
		g.in.Close()
	}
	return nil
}

// reply is the driver's answer to a request.
type reply struct {
	ID       int64  `json:"id"`
	Status   string `json:"status"`
	Type     string `json:"type"`
	Message  string `json:"message"`
	ExitCode int    `json:"exit_code"`
}

// Run implements [runtime.Interpreter].
func (ip *Interpreter) Run(ctx context.Context, req runtime.Request) (*runtime.Result, error) {
	ip.mu.Lock()
	defer ip.mu.Unlock()
	limits := req.Limits
	if limits == (runtime.Limits{}) {
		limits = ip.engine.limits
	}
	limits = limits.WithDefaults()
	start := time.Now()
	res := &runtime.Result{}

	ip.gmu.Lock()
	if ip.closed {
		ip.gmu.Unlock()
		return nil, ErrClosed
	}
	g := ip.g
	ip.gmu.Unlock()
	if g == nil {
		ng, err := ip.engine.take(ctx, ip.dir)
		if err != nil {
			return nil, err
		}
		ip.gmu.Lock()
		if ip.closed {
			ip.gmu.Unlock()
			ng.in.Close()
			return nil, ErrClosed
		}
		ip.g, g = ng, ng
		ip.gmu.Unlock()
		res.StateReset = ip.lost
	}

	// Bash programs and uploads change the workspace behind the guest's back: measure it anew.
	g.in.Workspace().Resync()
	before := filesnap.Snapshot(ip.dir)
	stdout := capture.NewStream(limits.MaxOutput)
	stderr := capture.NewStream(limits.MaxOutput)
	flood := make(chan struct{})
	var floodOnce sync.Once
	onFlood := func() { floodOnce.Do(func() { close(flood) }) }
	stdout.OnFlood, stderr.OnFlood = onFlood, onFlood
	g.in.SetOutput(stdout, stderr)
	defer g.in.SetOutput(nil, nil)

	ip.seq++
	id := ip.seq
	msg, _ := json.Marshal(map[string]any{"op": "run", "id": id, "code": req.Code, "script": req.Script})

	runCtx, cancel := context.WithTimeout(ctx, limits.Timeout)
	defer cancel()
	type answer struct {
		msg []byte
		err error
	}
	answers := make(chan answer, 1)
	var images imageSink
	go func() {
		// The run is over when the call returns: the guest cannot say so early.
		m, err := g.in.Call(runCtx, msg, serve(&images))
		if err != nil && runCtx.Err() != nil {
			err = runCtx.Err()
		}
		answers <- answer{m, err}
	}()

	var a answer
	select {
	case a = <-answers:
	case <-flood:
		a.err = errFlood
	case <-runCtx.Done():
		// An interruptible guest stops at once; a non-interruptible one is abandoned by Kill.
		a.err = runCtx.Err()
	}
	res.Duration = time.Since(start)

	var rep reply
	switch {
	case a.err == nil:
		if json.Unmarshal(a.msg, &rep) != nil || rep.ID != id {
			a.err = wasm.ErrProtocol
		}
	case errors.Is(a.err, context.DeadlineExceeded) && ctx.Err() == nil:
		a.err = errTimeout
	}
	if a.err != nil {
		// The guest cannot be trusted to be in a sane state: stop it; the next run starts afresh.
		g.in.Kill(a.err)
		ip.drop(g)
		res.StateReset = true
	}
	res.Stdout, res.Stderr = stdout.String(), stderr.String()
	res.Truncated = stdout.Dropped() > 0 || stderr.Dropped() > 0
	res.Images = images.take()

	switch {
	case a.err == nil:
		ip.fill(res, rep, limits)
	case errors.Is(a.err, errTimeout):
		res.Error = &runtime.Error{Kind: runtime.ErrTimeout,
			Message: fmt.Sprintf("execution stopped after the %s time limit; Python state was reset (variables and imports are gone, files remain)", limits.Timeout)}
		res.ExitCode = -1
	case errors.Is(a.err, errFlood):
		res.Error = &runtime.Error{Kind: runtime.ErrOutputLimit,
			Message: fmt.Sprintf("execution stopped after writing more than %d bytes of output; Python state was reset", capture.FloodLimit(limits.MaxOutput))}
		res.ExitCode = -1
	case ctx.Err() != nil:
		return nil, ctx.Err()
	default:
		ip.fillExit(res, g, a.err)
	}
	if why := g.in.Workspace().Refused(); why != nil {
		// WASI has no ENOSPC: the guest saw EIO; this says what it was.
		res.Stderr += fmt.Sprintf("\n[wasmbox] a write was refused: %v\n", why)
	}
	res.Files = filesnap.Changed(before, filesnap.Snapshot(ip.dir))
	return res, nil
}

var (
	errTimeout = errors.New("python: timeout")
	errFlood   = errors.New("python: output flood")
)

// drop forgets g after it was stopped; the next run starts a new guest and reports state_reset.
func (ip *Interpreter) drop(g *guest) {
	ip.gmu.Lock()
	if ip.g == g {
		ip.g = nil
		ip.lost = true
	}
	ip.gmu.Unlock()
}

func (ip *Interpreter) fill(res *runtime.Result, rep reply, limits runtime.Limits) {
	switch rep.Status {
	case "ok":
	case "exit":
		res.ExitCode = rep.ExitCode
		if rep.ExitCode != 0 {
			res.Error = &runtime.Error{Kind: runtime.ErrExit, Message: fmt.Sprintf("exited with status %d", rep.ExitCode)}
		}
	case "exception":
		res.ExitCode = 1
		kind := runtime.ErrException
		msg := rep.Type
		if rep.Message != "" {
			msg += ": " + rep.Message
		}
		if rep.Type == "MemoryError" {
			// Linear memory never shrinks: release it with the instance rather than keep a
			// session holding its whole limit.
			kind = runtime.ErrMemory
			msg = fmt.Sprintf("MemoryError: the %d MiB memory limit was reached; Python state was reset", limits.Memory>>20)
			ip.gmu.Lock()
			g := ip.g
			ip.gmu.Unlock()
			if g != nil {
				g.in.Kill(errors.New("memory limit"))
				ip.drop(g)
			}
			res.StateReset = true
		}
		res.Error = &runtime.Error{Kind: kind, Type: rep.Type, Message: msg}
	default:
		res.Error = &runtime.Error{Kind: runtime.ErrInternal, Message: "unexpected reply from the Python driver"}
	}
}

// fillExit describes a guest that ended during the run (os._exit, a trap, a protocol violation).
func (ip *Interpreter) fillExit(res *runtime.Result, g *guest, err error) {
	code, exited := g.in.ExitCode()
	switch {
	case errors.Is(err, wasm.ErrProtocol):
		res.Error = &runtime.Error{Kind: runtime.ErrInternal,
			Message: "the Python driver broke the host protocol; Python state was reset"}
		res.ExitCode = -1
	case exited && code != 0 || errors.Is(err, wasm.ErrExited):
		res.ExitCode = int(code)
		if code != 0 {
			res.Error = &runtime.Error{Kind: runtime.ErrExit, Message: fmt.Sprintf("the Python process exited with status %d; Python state was reset", code)}
		}
	case strings.Contains(res.Stderr, "MemoryError") || strings.Contains(res.Stderr, "out of memory"):
		res.Error = &runtime.Error{Kind: runtime.ErrMemory, Message: "the memory limit was reached; Python state was reset"}
		res.ExitCode = -1
	default:
		res.Error = &runtime.Error{Kind: runtime.ErrInternal, Message: fmt.Sprintf("the Python process crashed (%v); Python state was reset", err)}
		res.ExitCode = -1
	}
}
