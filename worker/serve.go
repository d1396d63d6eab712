package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"wasmbox/runtime"
	"wasmbox/wasm"
)

// Command is the hidden subcommand of the wasmbox binary that makes it a worker. cmd/wasmbox
// dispatches it to [Main].
const Command = "__worker"

// Setup is what the supervisor tells a new worker before anything else.
type Setup struct {
	// Limits are the per-interpreter limits (memory, quota) and the defaults of runs.
	Limits runtime.Limits `json:"limits"`
	// Allowlist names the programs bash may run ("" entries are ignored; nil: the default list).
	Allowlist []string `json:"allowlist,omitempty"`
	// CacheDir is wazero's compilation cache, read while the worker starts.
	CacheDir string `json:"cache_dir"`
	// ImageDir holds the Python base image every worker maps ("" : CacheDir). Saved session
	// states are relative to it, so all workers must share it.
	ImageDir string `json:"image_dir,omitempty"`
	// Confine says which layers to apply; see [Confinement].
	Confine Confinement `json:"confine"`
	// BaseHash is the build hash of the Python base image, which the server computes once for
	// all its workers ("": the worker computes it; see python.BuildHash).
	BaseHash string `json:"base_hash,omitempty"`
	// Skeleton is where the worker loads python.wasm's machine code from without validating it
	// again, set up by the server (nil: the worker validates; see wasm.WithSkeleton).
	Skeleton *wasm.Skeleton `json:"skeleton,omitempty"`
	// SnapshotCap bounds one saved interpreter state, in bytes (0: no cap).
	SnapshotCap int64 `json:"snapshot_cap,omitempty"`
	// Languages are the engines the worker builds (nil: all): a worker for one language
	// does not pay for the others (Python's engine costs most of a worker's start).
	Languages []runtime.Language `json:"languages,omitempty"`
}

// Serves reports whether a worker of this setup builds lang's engine.
func (s Setup) Serves(lang runtime.Language) bool {
	return s.Languages == nil || slices.Contains(s.Languages, lang)
}

// Builder makes the engines of a worker from its setup. cmd/wasmbox provides it, so this
// package knows no language.
type Builder func(ctx context.Context, s Setup) ([]runtime.Engine, error)

// healthChecker is implemented by engines that can tell when a guest got out of their control
// (a Python guest that could not be stopped): the worker then retires after the run.
type healthChecker interface{ Healthy() bool }

// Main is the body of the worker subcommand: it talks to the supervisor over fd 3 and returns
// the process's exit status.
func Main(ctx context.Context, build Builder) int {
	// Programs bash starts must not inherit the channel.
	if _, err := unix.FcntlInt(3, unix.F_SETFD, unix.FD_CLOEXEC); err != nil {
		fmt.Fprintln(os.Stderr, "wasmbox worker: no supervisor channel on fd 3 (this mode is started by wasmbox serve)")
		return 2
	}
	conn := os.NewFile(3, "supervisor")
	if err := serve(ctx, conn, build); err != nil && !errors.Is(err, io.EOF) {
		fmt.Fprintf(os.Stderr, "wasmbox worker: %v\n", err)
		return 1
	}
	return 0
}

func serve(ctx context.Context, conn io.ReadWriter, build Builder) error {
	m, err := readMessage(conn)
	if err != nil {
		return err
	}
	if m.Kind != kindSetup || m.Setup == nil {
		return fmt.Errorf("%w: want setup, got %q", errFrame, m.Kind)
	}
	if err := checkPeer(m.Version, m.Build, BuildID()); err != nil {
		writeMessage(conn, &message{Kind: kindReady, Error: err.Error(), Version: ProtocolVersion, Build: BuildID()})
		return err
	}
	setup := *m.Setup
	engines, err := build(ctx, setup)
	if err != nil {
		writeMessage(conn, &message{Kind: kindReady, Error: err.Error()})
		return err
	}
	retired := false
	defer func() {
		if retired {
			return // a guest may still hold a goroutine: exit without waiting for it
		}
		for _, e := range engines {
			e.Close(context.Background())
		}
	}()
	local, err := NewLocal(engines...)
	if err != nil {
		return err
	}
	if setup.Confine.MountNS {
		boundTree(setup) // while /proc and the cgroups are still there
		if err := prepareRoot(setup.Confine.Executables); err != nil {
			writeMessage(conn, &message{Kind: kindReady, Error: "mount namespace: " + err.Error()})
			return err
		}
	}
	var notes []string
	info := map[string]string{}
	for _, e := range engines {
		sk, ok := e.(interface{ SkeletonError() error })
		if !ok {
			continue
		}
		switch err := sk.SkeletonError(); {
		case err != nil:
			info[infoPythonLoad] = loadValidated
			notes = append(notes, "python.wasm was validated as the worker loaded it: "+err.Error())
		case setup.Skeleton == nil:
			info[infoPythonLoad] = loadValidated
		default:
			info[infoPythonLoad] = loadSkeleton
		}
	}
	if err := writeMessage(conn, &message{Kind: kindReady, Version: ProtocolVersion, Build: BuildID(), Notes: strings.Join(notes, "; "), Info: info}); err != nil {
		return err
	}
	// Loading python.wasm (its module, decoded, and the skeleton) leaves garbage on the heap;
	// the worker gives it back now rather than whenever the scavenger gets to it, beside its
	// wait for a session rather than before it says it is ready (7-45 ms).
	go debug.FreeOSMemory()

	m, err = readMessage(conn)
	if err != nil {
		return err
	}
	if m.Kind != kindBind || m.Bind == "" {
		return fmt.Errorf("%w: want bind, got %q", errFrame, m.Kind)
	}
	dir, layers, err := confine(setup, m.Bind)
	if err != nil {
		writeMessage(conn, &message{Kind: kindBound, Error: err.Error(), Info: layers})
		return err
	}
	sess, err := local.Open(ctx, dir)
	if err != nil {
		return err
	}
	defer func() {
		if !retired {
			sess.Close()
		}
	}()
	if err := writeMessage(conn, &message{Kind: kindBound, Info: layers, ExecListener: execListener, ProgramNproc: programNproc.Load(), ProgramForks: programForks.Load()}); err != nil {
		return err
	}

	var mu sync.Mutex // one run at a time, as the supervisor sends them
	for {
		m, err := readMessage(conn)
		if err != nil {
			return err
		}
		if execListener >= 0 {
			// The supervisor took its copy before it sent anything after bound: from now on
			// it alone answers, and if it stops, programs' execs and forks fail (ENOSYS)
			// instead of waiting.
			unix.Close(execListener)
			execListener = -1
		}
		switch {
		case m.Kind == kindFreeze:
			if err := serveFreeze(ctx, conn, sess); err != nil {
				return err
			}
			continue
		case m.Kind == kindThaw:
			if err := serveThaw(ctx, conn, m, sess); err != nil {
				return err
			}
			continue
		case m.Kind != kindRun || m.Request == nil:
			return fmt.Errorf("%w: want run, freeze or thaw, got %q", errFrame, m.Kind)
		}
		mu.Lock()
		marks := markTree()
		res, err := sess.Run(ctx, *m.Request)
		afterRun()
		if err == nil {
			res.Stderr += marks.notes()
		}
		mu.Unlock()
		reply := &message{Kind: kindResult}
		if err != nil {
			reply.Error = err.Error()
		} else {
			reply.Result = toWire(res)
		}
		for _, e := range engines {
			if h, ok := e.(healthChecker); ok && !h.Healthy() {
				reply.Retire = true
			}
		}
		if err := writeMessage(conn, reply); err != nil {
			return err
		}
		if reply.Retire {
			retired = true
			return nil
		}
	}
}
