package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"wasmbox/runtime"
	"wasmbox/runtime/bash"
	"wasmbox/runtime/javascript"
	"wasmbox/runtime/python"
	"wasmbox/sessions"
	"wasmbox/wasm"
	"wasmbox/worker"
)

// buildEngines makes every engine of a worker: the one place engines are made for serving.
// Python runs without wazero's per-loop interrupt check (the worker is killed from outside
// at the deadline) and bash starts programs directly (they inherit the worker's confinement).
func buildEngines(ctx context.Context, s worker.Setup) ([]runtime.Engine, error) {
	var engines []runtime.Engine
	fail := func(err error) ([]runtime.Engine, error) {
		for _, e := range engines {
			e.Close(ctx)
		}
		return nil, err
	}
	if s.Serves(runtime.Python) {
		popts := []python.Option{python.WithPoolSize(1), python.WithPoolRefill(false), python.WithLimits(s.Limits),
			python.WithInterruptible(false), python.WithCacheDir(s.CacheDir), python.WithSnapshotCap(s.SnapshotCap),
			python.WithBuildHash(s.BaseHash), python.WithSkeleton(s.Skeleton)}
		if s.ImageDir != "" {
			popts = append(popts, python.WithImageDir(s.ImageDir))
		}
		py, err := python.New(ctx, popts...)
		if err != nil {
			return fail(err)
		}
		engines = append(engines, py)
	}
	for _, lang := range []runtime.Language{runtime.JavaScript, runtime.TypeScript} {
		if s.Serves(lang) {
			js, err := javascript.New(lang, javascript.WithLimits(s.Limits))
			if err != nil {
				return fail(err)
			}
			engines = append(engines, js)
		}
	}
	if s.Serves(runtime.Bash) {
		opts := []bash.Option{bash.WithLimits(s.Limits), bash.WithDirectExec(), bash.WithStopAll(worker.StopAll),
			bash.WithProgramStarted(worker.ProgramStarted)}
		if s.Allowlist != nil {
			opts = append(opts, bash.WithAllowlist(s.Allowlist))
		}
		sh, err := bash.New(opts...)
		if err != nil {
			return fail(err)
		}
		engines = append(engines, sh)
	}
	return engines, nil
}

// workerConfig is what serve and stdio read about workers from flags and the environment.
type workerConfig struct {
	poolSize int
	poolMax  int // -1: the supervisor's default (see worker.WithPoolMax)
	idle     time.Duration
	budget   int64
	// runs is how many runs go on at once (MAX_CONCURRENT_EXECUTIONS): workers are charged
	// what they hold, with that many in reserve (see worker.WithHeldCharge); 0 charges every
	// worker its worst case.
	runs int
	// resident caps the sessions with a worker (MAX_RESIDENT_SESSIONS; 0: the memory budget
	// decides); snapshotCap caps one saved Python state (WASMBOX_SNAPSHOT_MAX_MB).
	resident    int
	snapshotCap int64
	imageDir    string // <data-dir>/images: the base image all workers map
	unconfine   bool   // WASMBOX_BASH_UNCONFINED: run bash even without the layers that stop escapes
	// shared says why the server may serve more than its own user (listening beyond loopback,
	// behind a trusted proxy, a Space, API keys); unconfine is not honoured then.
	shared  string
	disable []string // WASMBOX_DISABLE_LAYERS: layers switched off, for tests of the refusal
}

// backend is a running supervisor with what its probe found.
type backend struct {
	sup       *worker.Supervisor
	layers    map[string]string
	pyVersion string
	langs     []runtime.Language
}

// errBashRefused explains why bash is not offered.
var errBashRefused = errors.New("bash is off: neither Landlock nor user namespaces are available, so programs could reach the host's files; set WASMBOX_BASH_UNCONFINED=1 only for trusted local use on a server only you reach")

// workerOptions are the supervisor options every command that starts workers (serve, stdio,
// run) shares: the bash allowlist resolved to paths, the layers WASMBOX_DISABLE_LAYERS leaves
// and whether workers get namespaces.
func workerOptions(wc workerConfig, limits runtime.Limits, getenv func(string) string, log *slog.Logger) ([]worker.Option, *bash.Engine, bool, error) {
	sh, err := newBashEngine(getenv, limits) // resolves the allowlist to paths; runs nothing
	if err != nil {
		return nil, nil, false, err
	}
	confine := worker.Confinement{Landlock: true, Seccomp: true, Executables: sh.Programs()}
	namespaces := worker.NamespacesAvailable()
	for _, l := range wc.disable {
		switch l {
		case "landlock":
			confine.Landlock = false
		case "seccomp":
			confine.Seccomp = false
		case "namespaces":
			namespaces = false
		default:
			return nil, nil, false, fmt.Errorf("WASMBOX_DISABLE_LAYERS: unknown layer %q (want landlock, seccomp, namespaces)", l)
		}
	}
	setup := worker.Setup{Limits: limits, Allowlist: sh.Allowed(), CacheDir: wasm.DefaultCacheDir(), Confine: confine,
		SnapshotCap: wc.snapshotCap, ImageDir: wc.imageDir, BaseHash: python.BuildHash()}
	opts := []worker.Option{worker.WithSetup(setup), worker.WithPoolSize(wc.poolSize), worker.WithIdleTimeout(wc.idle),
		worker.WithNamespaces(namespaces), worker.WithLogger(log), worker.WithMaxResident(wc.resident)}
	if wc.poolMax >= 0 {
		opts = append(opts, worker.WithPoolMax(wc.poolMax))
	}
	if wc.budget > 0 {
		opts = append(opts, worker.WithMemoryBudget(wc.budget))
	}
	if wc.runs > 0 {
		opts = append(opts, worker.WithHeldCharge(wc.runs))
	}
	return opts, sh, namespaces, nil
}

// newBackend starts the supervisor and probes one worker: Python answers, and the layers that
// took effect decide whether bash is offered.
func newBackend(ctx context.Context, wc workerConfig, limits runtime.Limits, getenv func(string) string, log *slog.Logger) (*backend, error) {
	opts, sh, namespaces, err := workerOptions(wc, limits, getenv, log)
	if err != nil {
		return nil, err
	}
	opts = append(opts, worker.WithSnapshotStore(sessions.Snapshots{}))
	langs := []runtime.Language{runtime.Bash, runtime.JavaScript, runtime.Python, runtime.TypeScript}
	// The server's environment (API keys) stays out of reach of every process of this user:
	// /proc/<pid>/environ of a process that is not dumpable is readable only with
	// CAP_SYS_PTRACE, which no worker or program has. It matters where neither Landlock nor
	// a PID namespace hides the server's /proc (WASMBOX_BASH_UNCONFINED). Not with
	// namespaces: there no program sees the server's /proc (own PID namespace, no /proc
	// mounted), and a worker's uid_map is written by the server through /proc/<worker>, which a
	// non-root server cannot open when the worker inherited "not dumpable" (its start then
	// fails with EACCES).
	if !namespaces {
		if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
			log.Warn("could not make the server undumpable", "err", err)
		}
	}
	sup, err := worker.New(append(opts, worker.WithLanguages(langs...))...)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "wasmbox-probe-")
	if err != nil {
		sup.Close()
		return nil, err
	}
	defer os.RemoveAll(dir)
	h, err := sup.Open(ctx, dir)
	if err != nil {
		sup.Close()
		return nil, err
	}
	res, err := h.Run(ctx, runtime.Request{Language: runtime.Python, Code: "import sys\nprint(sys.version)", Script: true,
		Limits: limits.WithDefaults()})
	h.Close()
	if err == nil && !res.OK() {
		err = fmt.Errorf("%s: %s", res.Error.Kind, res.Error.Message)
	}
	if err != nil {
		sup.Close()
		return nil, fmt.Errorf("probe a worker: %w", err)
	}
	b := &backend{sup: sup, layers: sup.Layers(), pyVersion: strings.TrimSpace(res.Stdout)}
	landlockOn := strings.HasPrefix(b.layers["landlock"], "active")
	if err := bashVerdict(landlockOn, namespaces, wc, log); err != nil {
		b.layers["bash"] = "refused: " + err.Error()
		langs = []runtime.Language{runtime.JavaScript, runtime.Python, runtime.TypeScript}
	} else {
		b.layers["bash"] = "mvdan.cc/sh interpreter in the session's worker; builtins confined to the workspace; programs only from the allowlist (" + strings.Join(sh.Allowed(), " ") + "), started by the worker and confined as it is"
		if !landlockOn && !namespaces {
			b.layers["bash"] += "; WARNING: WASMBOX_BASH_UNCONFINED is set and neither Landlock nor namespaces are active"
		}
	}
	b.langs = langs
	return b, nil
}

// bashVerdict says whether bash may run where Landlock and namespaces are active or not: nil,
// or why not (logged). Without both, only WASMBOX_BASH_UNCONFINED lets it run, with a warning,
// and never on a server other people reach.
func bashVerdict(landlock, namespaces bool, wc workerConfig, log *slog.Logger) error {
	switch {
	case landlock || namespaces:
		return nil
	case wc.unconfine && wc.shared != "":
		// Unconfined programs can read the data directory, every session's files: never on a
		// server other people reach.
		err := fmt.Errorf("%w; WASMBOX_BASH_UNCONFINED=1 is ignored because this server is %s: unconfined programs could read every session's files",
			errBashRefused, wc.shared)
		log.Error(err.Error())
		return err
	case !wc.unconfine:
		log.Warn(errBashRefused.Error())
		return errBashRefused
	}
	log.Warn("WASMBOX_BASH_UNCONFINED=1: bash programs run WITHOUT Landlock or namespaces: they can read every file this user can, the data directory (other sessions' files) included; only for trusted local use",
		"user", os.Getuid())
	return nil
}

// Languages and Open make a backend a sessions.Backend with the languages the probe allowed.
func (b *backend) Languages() []runtime.Language { return b.langs }

func (b *backend) Open(ctx context.Context, dir string) (runtime.Interpreter, error) {
	return b.sup.Open(ctx, dir)
}
