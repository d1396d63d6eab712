// Package wasm hosts CPython for WASI in wazero: it compiles python.wasm once per process (with
// a compilation cache on disk so a restart does not recompile), and starts instances, each with
// its own memory limit, its own confined workspace, an empty environment and no sockets.
//
// python.wasm is a WASI reactor (wasm/cpython/reactor.c): the host calls its exported
// wasmbox_exec with one request at a time, and the call returns when the request is done. Between
// calls no wasm frame is on the stack, so an instance's state is its linear memory: [Instance.Image]
// saves it and [Host.Restore] makes a new instance from it. New instances start from a base image,
// made once per python.wasm and driver (the interpreter initialized, the driver imported, common
// modules warm), rather than by starting CPython.
package wasm

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/experimental/sysfs"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"wasmbox/internal/capture"
	"wasmbox/wasm/cpython"
	"wasmbox/workspace"
)

// Guest paths every instance sees.
const (
	// WorkspacePath is where the session's workspace is mounted, read-write; it is the guest's cwd.
	WorkspacePath = "/workspace"
	// StdlibPath holds the standard library's zip ([cpython.StdlibZip]), read-only.
	StdlibPath = "/usr/local/lib"
	// AssetsPath holds wasmbox's own guest modules (the driver), read-only.
	AssetsPath = "/usr/lib/wasmbox"
	// DataAliasPath shows the workspace a second time.
	DataAliasPath = "/mnt/data"
	// ZoneinfoPath holds the time zone database, read-only.
	ZoneinfoPath = "/usr/share/zoneinfo"
	// MplDataPath holds matplotlib's data (fonts, styles), read-only; its get_data_path names it.
	MplDataPath = "/usr/share/matplotlib/mpl-data"
)

const pageSize = 64 << 10

// Host compiles python.wasm once and starts instances of it. It is safe for concurrent use.
type Host struct {
	rt       wazero.Runtime
	compiled wazero.CompiledModule
	stdlib   fs.FS
	zoneinfo fs.FS
	mplData  fs.FS
	assets   fs.FS
	memory   int64
	cacheDir string
	compile  time.Duration
	// interruptible: wazero checks for a closed context at every loop back-edge, so Kill
	// stops a running guest. Without it guests run several times faster but only a guest at
	// rest (in a host call) can be stopped; one that cannot is abandoned and marks the host
	// unhealthy, and the process hosting it must exit.
	interruptible bool
	abandoned     atomic.Bool
	env           map[string]string
	// base is the base image, made on first use ([Host.base]).
	baseOnce sync.Once
	base     *Image
	baseErr  error
	baseHash string
	shareErr error // why the machine code is not shared (see [Host.ShareError])
	// skeletonErr is why python.wasm was validated as it loaded (see [Host.SkeletonError]).
	skeletonErr error
	// baseFile is the open base image file when the base image was mapped from one: new
	// instances map it copy-on-write (see cowMemory).
	baseFile *os.File
}

// Option configures a [Host].
type Option func(*options) error

type options struct {
	memory        int64
	cacheDir      string
	assets        fs.FS
	wasm          []byte
	interruptible bool
	env           map[string]string
	imageDir      *string
	buildHash     string
	skeleton      *Skeleton
}

// WithEnv sets every instance's whole environment (the base image is made with it).
func WithEnv(env map[string]string) Option {
	return func(o *options) error { o.env = env; return nil }
}

// WithImageDir sets where base images are cached on disk ("" keeps them in memory only). The
// default is the compilation cache's directory.
func WithImageDir(dir string) Option {
	return func(o *options) error { o.imageDir = &dir; return nil }
}

// WithInterruptible sets whether a running guest can be stopped from Go (default true). A
// worker process, which is killed from outside at the deadline, turns it off for speed.
func WithInterruptible(on bool) Option {
	return func(o *options) error { o.interruptible = on; return nil }
}

// WithMemoryLimit sets the linear memory limit of every instance, in bytes (a multiple of 64 KiB
// is used, rounded down). The default is 256 MiB.
func WithMemoryLimit(n int64) Option {
	return func(o *options) error {
		if n < 16<<20 || n > 4<<30 {
			return fmt.Errorf("wasm: memory limit %d: must be between 16 MiB and 4 GiB", n)
		}
		o.memory = n
		return nil
	}
}

// WithCacheDir sets the directory of wazero's compilation cache ("" disables it). The default is
// wasmbox/wazero under the user cache directory.
func WithCacheDir(dir string) Option {
	return func(o *options) error { o.cacheDir = dir; return nil }
}

// WithAssets sets the read-only file system mounted at [AssetsPath] (the guest driver lives there).
func WithAssets(f fs.FS) Option {
	return func(o *options) error { o.assets = f; return nil }
}

// WithSkeleton makes the host load python.wasm's machine code from the compilation cache
// through the skeleton's entry s, which [Precompile] made, without validating python.wasm again
// (see skeleton.go). Where the entry is missing or holds other code, the host compiles
// python.wasm as without it.
func WithSkeleton(s *Skeleton) Option {
	return func(o *options) error { o.skeleton = s; return nil }
}

// WithBuildHash sets the build hash the base image is named and checked by, as [BuildHash]
// returns it for the same assets and environment. A process that starts many hosts' processes
// (the worker supervisor) computes it once and passes it on, instead of every process hashing
// python.wasm, the standard library and the assets again; "" computes it.
func WithBuildHash(h string) Option {
	return func(o *options) error { o.buildHash = h; return nil }
}

// BuildHash is the hash that names this build's base image: python.wasm, the standard
// library, assets (the guest driver) and the guests' environment.
func BuildHash(assets fs.FS, env map[string]string) string {
	return buildHash(cpython.Wasm, assets, env)
}

// DefaultCacheDir returns where compiled modules are cached unless configured otherwise.
func DefaultCacheDir() string {
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "wasmbox", "wazero")
}

// New compiles python.wasm (or loads it from the compilation cache).
func New(ctx context.Context, opts ...Option) (*Host, error) {
	OpenPagemap() // now: a worker is confined later, without /proc
	o := options{memory: 256 << 20, cacheDir: DefaultCacheDir(), wasm: cpython.Wasm, interruptible: true}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	cfg := wazero.NewRuntimeConfig().
		WithCloseOnContextDone(o.interruptible).
		WithMemoryLimitPages(uint32(o.memory / pageSize))
	var code *codeCache // maps the machine code from its shared file as it loads
	if o.cacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(o.cacheDir)
		if err != nil {
			return nil, fmt.Errorf("wasm: open compilation cache %s: %w", o.cacheDir, err)
		}
		code = mapCodeFrom(cache, filepath.Join(o.cacheDir, codeDir))
		cfg = cfg.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("wasm: instantiate wasi: %w", err)
	}
	if err := instantiateServices(ctx, rt); err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("wasm: instantiate the wasmbox host module: %w", err)
	}
	// The build hash (of tens of megabytes of embedded files) is computed while the module
	// loads, unless the caller knows it (a worker is told by its server).
	hashed := make(chan string, 1)
	if o.buildHash != "" {
		hashed <- o.buildHash
	} else {
		go func() { hashed <- buildHash(o.wasm, o.assets, o.env) }()
	}
	start := time.Now()
	compiled, skelErr, err := compileModule(ctx, rt, &o, code)
	if err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("wasm: compile python.wasm: %w", err)
	}
	if err := instantiateCxx(ctx, rt, compiled); err != nil {
		rt.Close(ctx)
		return nil, err
	}
	releaseBodies(compiled)
	var shareErr error
	if code.mappedFrom(compiled) != "" {
		r, _ := codeRegionOf(compiled)
		sharedCode.Add(int64(r.end - r.start))
	} else if o.cacheDir != "" {
		// Failing to share costs memory, not correctness: the host keeps its private copy.
		var fatal bool
		_, fatal, shareErr = shareCode(compiled, filepath.Join(o.cacheDir, codeDir))
		if fatal {
			rt.Close(ctx)
			return nil, shareErr
		}
	}
	zoneinfo, err := fs.Sub(cpython.Zoneinfo, "zoneinfo")
	if err != nil {
		rt.Close(ctx)
		return nil, err
	}
	mplData, err := fs.Sub(cpython.MplData, "mpl-data")
	if err != nil {
		rt.Close(ctx)
		return nil, err
	}
	imageDir := o.cacheDir
	if o.imageDir != nil {
		imageDir = *o.imageDir
	}
	return &Host{rt: rt, compiled: compiled, stdlib: cpython.Files, zoneinfo: zoneinfo, mplData: mplData, assets: o.assets, memory: o.memory,
		cacheDir: imageDir, compile: time.Since(start), interruptible: o.interruptible, env: o.env,
		baseHash: <-hashed, shareErr: shareErr, skeletonErr: skelErr}, nil
}

// Precompiled is what [Precompile] did.
type Precompiled struct {
	// Took is how long compiling python.wasm (or loading it from the cache) took.
	Took time.Duration
	// Skeleton is what hosts pass to [WithSkeleton] to load the machine code without validating
	// python.wasm again; nil when it could not be set up (SkeletonErr says why).
	Skeleton    *Skeleton
	SkeletonErr error
}

// Precompile compiles python.wasm into the compilation cache in dir, unless it is there
// already, and returns how long that took. Compiling python.wasm with numpy and pandas takes
// about a gigabyte for tens of seconds, more than a worker's memory cgroup allows, so the
// server does it once before it starts workers, which then load the machine code from the
// cache. interruptible must be what the workers' hosts use ([WithInterruptible]): it is part of
// the machine code and of its key in the cache. It also stores the machine code under the key
// of python.wasm's skeleton (see skeleton.go), which hosts then load without validating; once
// that is done, a later Precompile of the same build loads the code through the skeleton too.
func Precompile(ctx context.Context, dir string, interruptible bool) (Precompiled, error) {
	if p, ok := precompiledSkeleton(ctx, dir, interruptible); ok {
		return p, nil
	}
	cache, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		return Precompiled{}, fmt.Errorf("wasm: open compilation cache %s: %w", dir, err)
	}
	defer cache.Close(ctx)
	cfg := wazero.NewRuntimeConfig().WithCloseOnContextDone(interruptible).WithCompilationCache(cache)
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	defer rt.Close(ctx)
	start := time.Now()
	compiled, err := rt.CompileModule(ctx, cpython.Wasm)
	if err != nil {
		return Precompiled{}, fmt.Errorf("wasm: compile python.wasm: %w", err)
	}
	p := Precompiled{Took: time.Since(start)}
	// The machine code file the workers will map is written now, by the server, from the code it
	// just compiled or loaded; workers then only compare and map it.
	code := filepath.Join(dir, codeDir)
	if name, err := publishCode(compiled, code); err == nil {
		sweepCode(code, []string{name}, time.Now())
	}
	if s, err := storeSkeleton(ctx, dir, compiled, interruptible); err != nil {
		p.SkeletonErr = err
	} else {
		p.Skeleton = &s
	}
	return p, nil
}

// SkeletonError is why this host validated python.wasm as it loaded it rather than loading its
// machine code through the skeleton ([WithSkeleton]); nil when it did not validate, or was
// not asked to skip it.
func (h *Host) SkeletonError() error { return h.skeletonErr }

// ShareError is why this host's machine code is not mapped from a file shared with other
// processes, or nil when it is (or there is no compilation cache to share through).
func (h *Host) ShareError() error { return h.shareErr }

// CompileTime is how long compiling (or loading from the cache) took.
func (h *Host) CompileTime() time.Duration { return h.compile }

// MemoryLimit is the linear memory limit of each instance in bytes.
func (h *Host) MemoryLimit() int64 { return h.memory }

// Healthy reports whether every guest this host was asked to stop did stop.
func (h *Host) Healthy() bool { return !h.abandoned.Load() }

// Close releases the runtime; instances must be closed first.
func (h *Host) Close(ctx context.Context) error { return h.rt.Close(ctx) }

// Spec describes one instance.
type Spec struct {
	// Workspace are the limits of what the workspace may hold.
	Workspace workspace.Limits
	// fixed gives the guest a fixed random stream and clock: the base image is then the same
	// bytes in every process of a build (see [Host.baseImage]).
	fixed bool
}

// Instance is one guest. Its output goes to the writers set with SetOutput; [Instance.Call]
// hands its driver one request at a time. It is safe for concurrent use; after Close (or after
// the guest exits) every call fails fast.
type Instance struct {
	mod       api.Module
	cow       *cowMemory // the instance's memory, when it is copy-on-write capable
	exec      api.Function
	alloc     api.Function
	stdout    capture.SwitchWriter
	stderr    capture.SwitchWriter
	workspace *Workspace
	cancel    context.CancelCauseFunc
	ctx       context.Context
	host      *Host

	callMu sync.Mutex // one call at a time
	cxx    cxxCalls   // C++ exceptions' nested calls (cxxeh.go), used under callMu
	// services answers the driver's requests during a call; reply is the answer waiting for
	// the guest to fetch it.
	services func([]byte) ([]byte, error)
	reply    []byte

	mu      sync.Mutex
	exitErr error // why the guest is gone (nil while it lives)
	done    chan struct{}
}

// ErrExited reports that the guest is no longer running.
var ErrExited = errors.New("wasm: guest exited")

// ErrProtocol reports a malformed exchange with the guest; the instance cannot be trusted after it.
var ErrProtocol = errors.New("wasm: guest protocol violation")

// MaxMessage bounds one message in either direction.
const MaxMessage = 32 << 20

// Start makes a new instance: from the base image when there is one (made on first use), else
// by starting CPython. The workspace is unbound (empty) until [Instance.BindWorkspace].
func (h *Host) Start(ctx context.Context, spec Spec) (*Instance, error) {
	img, err := h.baseImage(ctx)
	if err != nil {
		return nil, err
	}
	in, _, err := h.Restore(ctx, spec, img)
	return in, err
}

// Boot makes a new instance by starting CPython (wasi-libc's _initialize, then wasmbox_init),
// without the base image.
func (h *Host) Boot(ctx context.Context, spec Spec) (*Instance, error) {
	in, err := h.instantiate(spec)
	if err != nil {
		return nil, err
	}
	// What the interpreter writes to stderr while it starts explains a failure to start.
	initErr := capture.NewCappedBuffer(4096)
	in.stderr.Set(initErr)
	for _, name := range []string{"_initialize", "wasmbox_init"} {
		fn := in.mod.ExportedFunction(name)
		if fn == nil {
			in.Close()
			return nil, fmt.Errorf("wasm: python.wasm exports no %s: not wasmbox's reactor build", name)
		}
		res, err := fn.Call(in.callContext(ctx))
		if err == nil && name == "wasmbox_init" && res[0] != 0 {
			err = errors.New("wasmbox_init failed")
			if msg := strings.TrimSpace(initErr.String()); msg != "" {
				err = fmt.Errorf("wasmbox_init failed: %s", msg)
			}
		}
		if err != nil {
			in.gone(err)
			in.Close()
			return nil, fmt.Errorf("wasm: start CPython: %s: %w", name, err)
		}
	}
	in.stderr.Set(nil)
	return in, nil
}

// instantiate makes an instance of python.wasm without running any of its code.
func (h *Host) instantiate(spec Spec) (*Instance, error) {
	ctx, cancel := context.WithCancelCause(context.Background())
	in := &Instance{
		workspace: newWorkspace(spec.Workspace),
		cancel:    cancel,
		ctx:       ctx,
		host:      h,
		done:      make(chan struct{}),
	}
	fsc := wazero.NewFSConfig().
		WithFSMount(h.stdlib, StdlibPath).
		WithFSMount(h.zoneinfo, ZoneinfoPath).
		WithFSMount(h.mplData, MplDataPath)
	if h.assets != nil {
		fsc = fsc.WithFSMount(h.assets, AssetsPath)
	}
	fsc = fsc.(sysfs.FSConfig).WithSysFSMount(devFS{}, DevPath)
	fsc = fsc.(sysfs.FSConfig).WithSysFSMount(in.workspace, WorkspacePath)
	// The same workspace at /mnt/data, where LibreChat's code-interpreter prompts tell models
	// to put files.
	fsc = fsc.(sysfs.FSConfig).WithSysFSMount(in.workspace, DataAliasPath)
	done := ctx.Done()
	cfg := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions().
		WithArgs("python").
		WithStdin(eofReader{}).
		WithStdout(&in.stdout).
		WithStderr(&in.stderr).
		WithFSConfig(fsc).
		WithRandSource(rand.Reader).
		WithSysWalltime().
		WithSysNanotime()
	if spec.fixed {
		cfg = fixedWorld(cfg)
	}
	cfg = cfg.WithNanosleep(func(ns int64) {
		t := time.NewTimer(time.Duration(ns))
		defer t.Stop()
		select {
		case <-t.C:
		case <-done: // a sleeping guest must not outlive its deadline
		}
	})
	// In a fixed order: the environment is in the base image's memory, which must be the same
	// bytes in every process (see fixedWorld).
	for _, k := range slices.Sorted(maps.Keys(h.env)) {
		cfg = cfg.WithEnv(k, h.env[k])
	}
	alloc := &cowAllocator{}
	mod, err := h.rt.InstantiateModule(experimental.WithMemoryAllocator(ctx, alloc), h.compiled, cfg)
	if err != nil {
		cancel(err)
		return nil, fmt.Errorf("wasm: instantiate python.wasm: %w", err)
	}
	in.mod = mod
	in.cow = alloc.mem
	in.exec = mod.ExportedFunction("wasmbox_exec")
	in.alloc = mod.ExportedFunction("wasmbox_alloc")
	if in.exec == nil || in.alloc == nil || mod.Memory() == nil {
		in.Close()
		return nil, errors.New("wasm: python.wasm lacks wasmbox_exec, wasmbox_alloc or its memory: not wasmbox's reactor build")
	}
	return in, nil
}

type instanceKey struct{}

// callContext is the context of a call into the guest: cancelled when the instance is killed
// (an interruptible host then stops the guest), carrying the instance for the host functions.
func (in *Instance) callContext(ctx context.Context) context.Context {
	cctx, cancel := context.WithCancelCause(in.ctx)
	context.AfterFunc(ctx, func() { cancel(context.Cause(ctx)) })
	return context.WithValue(cctx, instanceKey{}, in)
}

// Call hands the driver one request and returns its response once the guest has finished it.
// services answers the driver's requests in the meantime (nil: none are served). A guest that
// exits, traps or breaks the protocol is gone afterwards ([Instance.Done]); one stopped by ctx
// (on an interruptible host) too.
func (in *Instance) Call(ctx context.Context, req []byte, services func([]byte) ([]byte, error)) ([]byte, error) {
	in.callMu.Lock()
	defer in.callMu.Unlock()
	if err := in.Err(); err != nil {
		return nil, err
	}
	if len(req) > MaxMessage {
		return nil, fmt.Errorf("wasm: request of %d bytes exceeds %d", len(req), MaxMessage)
	}
	in.services = services
	defer func() { in.services, in.reply = nil, nil }()
	cctx := in.callContext(ctx)
	res, err := in.alloc.Call(cctx, uint64(len(req)))
	if err != nil {
		return nil, in.gone(err)
	}
	ptr := uint32(res[0])
	if ptr == 0 || !in.mod.Memory().Write(ptr, req) {
		return nil, in.gone(fmt.Errorf("%w: no room for the request", ErrProtocol))
	}
	res, err = in.exec.Call(cctx, uint64(ptr), uint64(len(req)))
	if err == nil && in.ctx.Err() != nil {
		// Killed while the guest was finishing on its own (woken from a sleep, it returned
		// before wazero's next check): it is gone all the same, and Kill waits for that.
		err = context.Cause(in.ctx)
	}
	if err != nil {
		return nil, in.gone(err)
	}
	out, n := uint32(res[0]>>32), uint32(res[0])
	if res[0] == 0 || n > MaxMessage {
		return nil, in.gone(fmt.Errorf("%w: the driver gave no response", ErrProtocol))
	}
	b, ok := in.mod.Memory().Read(out, n)
	if !ok {
		return nil, in.gone(fmt.Errorf("%w: response outside memory", ErrProtocol))
	}
	return bytes.Clone(b), nil
}

// gone records why the guest can no longer be used, closes it and returns the reason.
func (in *Instance) gone(err error) error {
	var exit *sys.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 0 && context.Cause(in.ctx) == nil {
		err = ErrExited
	}
	in.mu.Lock()
	if in.exitErr == nil {
		in.exitErr = err
		close(in.done)
	}
	err = in.exitErr
	in.mu.Unlock()
	in.cancel(err)
	in.mod.Close(context.Background())
	return err
}

// Err is why the guest is gone, nil while it lives.
func (in *Instance) Err() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.exitErr
}

// ExitCode is the guest's exit status when it exited through proc_exit (os._exit).
func (in *Instance) ExitCode() (uint32, bool) {
	var exit *sys.ExitError
	if errors.As(in.Err(), &exit) {
		return exit.ExitCode(), true
	}
	return 0, false
}

// Close stops the guest at once (see [Instance.Kill]).
func (in *Instance) Close() error {
	in.Kill(ErrExited)
	in.workspace.Unbind()
	return nil
}

// abandonAfter is how long Kill waits for a guest of a non-interruptible host to return.
const abandonAfter = 250 * time.Millisecond

// Kill stops the guest with cause (returned by [Instance.Cause]). A guest in a call is stopped
// by wazero on an interruptible host; on a non-interruptible one, a guest that is computing
// cannot be stopped: Kill gives up after a moment and marks the host unhealthy (see
// [Host.Healthy]).
func (in *Instance) Kill(cause error) {
	in.cancel(cause)
	if in.callMu.TryLock() {
		// Not in a call: nothing runs.
		in.gone(cause)
		in.callMu.Unlock()
		return
	}
	select {
	case <-in.done:
	case <-time.After(abandonAfter):
		if in.host.interruptible {
			<-in.done
			return
		}
		in.host.abandoned.Store(true)
	}
}

// Cause is why the instance was stopped (nil while it runs).
func (in *Instance) Cause() error { return context.Cause(in.ctx) }

// Done is closed when the guest is gone.
func (in *Instance) Done() <-chan struct{} { return in.done }

// BindWorkspace points the guest's /workspace at dir.
func (in *Instance) BindWorkspace(dir string) error { return in.workspace.Bind(dir) }

// Workspace returns the instance's workspace file system.
func (in *Instance) Workspace() *Workspace { return in.workspace }

// SetOutput routes the guest's stdout and stderr to the given writers (nil discards).
func (in *Instance) SetOutput(stdout, stderr io.Writer) {
	in.stdout.Set(stdout)
	in.stderr.Set(stderr)
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// instantiateServices adds the host module python.wasm imports as "wasmbox": call hands the
// host a service request and returns the length of its answer (-1: refused), reply copies that
// answer into the guest's buffer.
func instantiateServices(ctx context.Context, rt wazero.Runtime) error {
	_, err := rt.NewHostModuleBuilder("wasmbox").
		NewFunctionBuilder().WithFunc(func(ctx context.Context, m api.Module, ptr, n uint32) int32 {
		in, _ := ctx.Value(instanceKey{}).(*Instance)
		if in == nil || in.services == nil || n > MaxMessage {
			return -1
		}
		msg, ok := m.Memory().Read(ptr, n)
		if !ok {
			return -1
		}
		reply, err := in.services(bytes.Clone(msg))
		if err != nil || len(reply) > MaxMessage {
			return -1
		}
		in.reply = reply
		return int32(len(reply))
	}).Export("call").
		NewFunctionBuilder().WithFunc(func(ctx context.Context, m api.Module, buf uint32) {
		in, _ := ctx.Value(instanceKey{}).(*Instance)
		if in == nil {
			return
		}
		m.Memory().Write(buf, in.reply)
		in.reply = nil
	}).Export("reply").
		// A C++ throw in the guest (cxxeh.go).
		NewFunctionBuilder().WithFunc(func(context.Context) { panic(errCxxThrow) }).Export("cxx_throw").
		Instantiate(ctx)
	return err
}
