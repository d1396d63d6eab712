// Package wasm hosts CPython for WASI in wazero: it compiles python.wasm once per process (with
// a compilation cache on disk so a restart does not recompile), and starts instances, each with
// its own memory limit, its own confined workspace, an empty environment, no sockets, and a
// private control channel to the guest-side driver.
package wasm

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
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
	// StdlibPath holds python311.zip, read-only.
	StdlibPath = "/usr/local/lib"
	// AssetsPath holds wasmbox's own guest modules (the driver), read-only.
	AssetsPath = "/usr/lib/wasmbox"
	// ControlPath is the directory of the control channel between host and driver.
	ControlPath = "/dev/wasmbox"
	// DataAliasPath shows the workspace a second time.
	DataAliasPath = "/mnt/data"
	// ZoneinfoPath holds the time zone database, read-only.
	ZoneinfoPath = "/usr/share/zoneinfo"
)

const pageSize = 64 << 10

// Host compiles python.wasm once and starts instances of it. It is safe for concurrent use.
type Host struct {
	rt       wazero.Runtime
	compiled wazero.CompiledModule
	stdlib   fs.FS
	zoneinfo fs.FS
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
}

// Option configures a [Host].
type Option func(*options) error

type options struct {
	memory        int64
	cacheDir      string
	assets        fs.FS
	wasm          []byte
	interruptible bool
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
	o := options{memory: 256 << 20, cacheDir: DefaultCacheDir(), wasm: cpython.Wasm, interruptible: true}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	cfg := wazero.NewRuntimeConfig().
		WithCloseOnContextDone(o.interruptible).
		WithMemoryLimitPages(uint32(o.memory / pageSize))
	if o.cacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(o.cacheDir)
		if err != nil {
			return nil, fmt.Errorf("wasm: open compilation cache %s: %w", o.cacheDir, err)
		}
		cfg = cfg.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("wasm: instantiate wasi: %w", err)
	}
	start := time.Now()
	compiled, err := rt.CompileModule(ctx, o.wasm)
	if err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("wasm: compile python.wasm: %w", err)
	}
	zoneinfo, err := fs.Sub(cpython.Zoneinfo, "zoneinfo")
	if err != nil {
		rt.Close(ctx)
		return nil, err
	}
	return &Host{rt: rt, compiled: compiled, stdlib: cpython.Files, zoneinfo: zoneinfo, assets: o.assets, memory: o.memory,
		cacheDir: o.cacheDir, compile: time.Since(start), interruptible: o.interruptible}, nil
}

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
	// Args is argv, starting with the program name.
	Args []string
	// Env is the guest's whole environment.
	Env map[string]string
	// Workspace are the limits of what the workspace may hold.
	Workspace workspace.Limits
}

// Instance is one running guest. Its output goes to the writers set with SetOutput; it talks to
// its driver through Send and Recv. It is safe for concurrent use; after Close (or after the
// guest exits) every call fails fast.
type Instance struct {
	ctl       *control
	stdout    capture.SwitchWriter
	stderr    capture.SwitchWriter
	workspace *Workspace
	cancel    context.CancelCauseFunc
	ctx       context.Context
	done      chan struct{}
	exitErr   error
	host      *Host
}

// ErrExited reports that the guest is no longer running.
var ErrExited = errors.New("wasm: guest exited")

// Start instantiates python.wasm and runs its _start in a goroutine; the workspace is unbound
// (empty) until [Instance.BindWorkspace].
func (h *Host) Start(spec Spec) (*Instance, error) {
	ctx, cancel := context.WithCancelCause(context.Background())
	in := &Instance{
		ctl:       newControl(ctx),
		workspace: newWorkspace(spec.Workspace),
		cancel:    cancel,
		ctx:       ctx,
		done:      make(chan struct{}),
		host:      h,
	}
	fsc := wazero.NewFSConfig().
		WithFSMount(h.stdlib, StdlibPath).
		WithFSMount(h.zoneinfo, ZoneinfoPath)
	if h.assets != nil {
		fsc = fsc.WithFSMount(h.assets, AssetsPath)
	}
	fsc = fsc.(sysfs.FSConfig).WithSysFSMount(in.workspace, WorkspacePath)
	// The same workspace at /mnt/data, where LibreChat's code-interpreter prompts tell models
	// to put files.
	fsc = fsc.(sysfs.FSConfig).WithSysFSMount(in.workspace, DataAliasPath)
	fsc = fsc.(sysfs.FSConfig).WithSysFSMount(in.ctl, ControlPath)
	done := ctx.Done()
	cfg := wazero.NewModuleConfig().
		WithName("").
		WithArgs(spec.Args...).
		WithStdin(eofReader{}).
		WithStdout(&in.stdout).
		WithStderr(&in.stderr).
		WithFSConfig(fsc).
		WithRandSource(rand.Reader).
		WithSysWalltime().
		WithSysNanotime().
		WithNanosleep(func(ns int64) {
			t := time.NewTimer(time.Duration(ns))
			defer t.Stop()
			select {
			case <-t.C:
			case <-done: // a sleeping guest must not outlive its deadline
			}
		})
	for k, v := range spec.Env {
		cfg = cfg.WithEnv(k, v)
	}
	go func() {
		defer close(in.done)
		mod, err := h.rt.InstantiateModule(ctx, h.compiled, cfg)
		if mod != nil {
			mod.Close(context.Background())
		}
		var exit *sys.ExitError
		if errors.As(err, &exit) && exit.ExitCode() == 0 {
			err = nil
		}
		in.exitErr = err
		in.ctl.close()
	}()
	return in, nil
}

// Close stops the guest at once and waits for it to be gone (see [Instance.Kill]).
func (in *Instance) Close() error {
	in.Kill(ErrExited)
	in.workspace.Unbind()
	return nil
}

// abandonAfter is how long Kill waits for a guest of a non-interruptible host to come to rest.
const abandonAfter = 250 * time.Millisecond

// Kill stops the guest with cause (returned by [Instance.Cause]) and waits for it to be gone.
// On a non-interruptible host a guest that is computing cannot be stopped: Kill gives up after
// a moment and marks the host unhealthy (see [Host.Healthy]).
func (in *Instance) Kill(cause error) {
	in.cancel(cause)
	in.ctl.close()
	if in.host.interruptible {
		<-in.done
		return
	}
	select {
	case <-in.done:
	case <-time.After(abandonAfter):
		in.host.abandoned.Store(true)
	}
}

// AtRest waits until the guest is blocked reading its next message from the host, which is
// how a run's end is known: a reply alone is the guest's word, and code can forge it.
func (in *Instance) AtRest(ctx context.Context) error { return in.ctl.atRest(ctx) }

// Cause is why the instance was stopped (nil while it runs).
func (in *Instance) Cause() error { return context.Cause(in.ctx) }

// Done is closed when the guest has exited.
func (in *Instance) Done() <-chan struct{} { return in.done }

// ExitErr is the guest's exit error once Done is closed (nil for a clean exit 0).
func (in *Instance) ExitErr() error {
	<-in.done
	return in.exitErr
}

// BindWorkspace points the guest's /workspace at dir.
func (in *Instance) BindWorkspace(dir string) error { return in.workspace.Bind(dir) }

// Workspace returns the instance's workspace file system.
func (in *Instance) Workspace() *Workspace { return in.workspace }

// SetOutput routes the guest's stdout and stderr to the given writers (nil discards).
func (in *Instance) SetOutput(stdout, stderr io.Writer) {
	in.stdout.Set(stdout)
	in.stderr.Set(stderr)
}

// Send queues one message for the driver.
func (in *Instance) Send(msg []byte) error { return in.ctl.send(msg) }

// Recv waits for the driver's next message, the guest's exit, or ctx.
func (in *Instance) Recv(ctx context.Context) ([]byte, error) { return in.ctl.recv(ctx) }

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
