// Package fronttest serves wasmbox's fronts over httptest for their tests: one CPython engine
// per test binary, a sessions manager per test, the fronts a test asks for.
package fronttest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"wasmbox/front"
	"wasmbox/runtime"
	"wasmbox/runtime/bash"
	"wasmbox/runtime/python"
	"wasmbox/sessions"
)

var (
	engOnce sync.Once
	eng     *python.Engine
	engErr  error
)

// Python returns the test binary's shared CPython engine.
func Python(t testing.TB) *python.Engine {
	t.Helper()
	engOnce.Do(func() { eng, engErr = python.New(context.Background(), python.WithPoolSize(2)) })
	if engErr != nil {
		t.Fatal(engErr)
	}
	return eng
}

// Main is a test binary's TestMain: the binary also serves as bash's launcher, as the wasmbox
// binary does, and the shared engine is closed at the end.
func Main(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == bash.LauncherCommand {
		os.Exit(bash.Launch(os.Args[2:]))
	}
	code := m.Run()
	if eng != nil {
		eng.Close(context.Background())
	}
	os.Exit(code)
}

// Fixture is a served front.
type Fixture struct {
	Front *front.Front
	HTTP  *httptest.Server
	Mgr   *sessions.Manager
}

// Serve serves the fronts mounts makes on a new front with cfg, over sessions running the
// shared Python engine (a minute per run) unless opts say otherwise. Everything is closed at
// the test's end.
func Serve(t testing.TB, cfg front.Config, mounts func(*front.Front) []front.Mount, opts ...sessions.Option) *Fixture {
	t.Helper()
	base := []sessions.Option{sessions.WithDataDir(t.TempDir()), sessions.WithEngine(Python(t)),
		sessions.WithLimits(runtime.Limits{Timeout: time.Minute}), sessions.WithReapInterval(0)}
	mgr, err := sessions.New(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Sessions = mgr
	cfg.Version = "test"
	f, err := front.New(cfg)
	if err != nil {
		mgr.Close()
		t.Fatal(err)
	}
	hs := httptest.NewServer(f.Handler(mounts(f)...))
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
		mgr.Close()
	})
	return &Fixture{Front: f, HTTP: hs, Mgr: mgr}
}

// Echo is an engine of lang whose interpreters print the code they are given and run nothing:
// tests of the fronts' own paths (fuzzing their inputs) use it, as they need no real run.
type Echo runtime.Language

// Language implements runtime.Engine.
func (e Echo) Language() runtime.Language { return runtime.Language(e) }

// New implements runtime.Engine.
func (e Echo) New(context.Context, string) (runtime.Interpreter, error) { return echoInterp{}, nil }

// Close implements runtime.Engine.
func (e Echo) Close(context.Context) error { return nil }

type echoInterp struct{}

func (echoInterp) Run(_ context.Context, req runtime.Request) (*runtime.Result, error) {
	return &runtime.Result{Stdout: req.Code}, nil
}

func (echoInterp) Close() error { return nil }

// ServeEcho is [Serve] with [Echo] engines for every language instead of CPython, and the
// fronts' handler without a listener: tests call Handler directly.
func ServeEcho(t testing.TB, cfg front.Config, mounts func(*front.Front) []front.Mount) (http.Handler, *sessions.Manager) {
	t.Helper()
	opts := []sessions.Option{sessions.WithDataDir(t.TempDir()), sessions.WithReapInterval(0),
		sessions.WithLimits(runtime.Limits{Timeout: time.Minute, WorkspaceQuota: 4 << 20})}
	for _, l := range []runtime.Language{runtime.Python, runtime.JavaScript, runtime.TypeScript, runtime.Bash} {
		opts = append(opts, sessions.WithEngine(Echo(l)))
	}
	mgr, err := sessions.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Sessions = mgr
	cfg.Version = "test"
	f, err := front.New(cfg)
	if err != nil {
		mgr.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { mgr.Close() })
	return f.Handler(mounts(f)...), mgr
}

// CheckJSON fails t unless w's status is one of allowed and its body is JSON: what every
// front must answer to any input, fuzzed ones too.
func CheckJSON(t testing.TB, w *httptest.ResponseRecorder, allowed ...int) {
	t.Helper()
	if !slices.Contains(allowed, w.Code) {
		t.Errorf("status %d, want one of %v: %s", w.Code, allowed, w.Body)
	}
	if !json.Valid(w.Body.Bytes()) {
		t.Errorf("response is not JSON: %q", w.Body)
	}
}
