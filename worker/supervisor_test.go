package worker_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wasmbox/runtime"
	"wasmbox/worker"
)

// binary is the wasmbox binary workers run as: make test builds it first.
func binary(t testing.TB) string {
	t.Helper()
	p, _ := filepath.Abs("../bin/wasmbox")
	if v := os.Getenv("WASMBOX_BIN"); v != "" {
		p = v
	}
	if _, err := os.Stat(p); err != nil {
		t.Skipf("no wasmbox binary at %s (run make build): %v", p, err)
	}
	return p
}

func newSupervisor(t testing.TB, confine worker.Confinement, opts ...worker.Option) *worker.Supervisor {
	t.Helper()
	limits := runtime.DefaultLimits()
	limits.Timeout = 5 * time.Second
	base := []worker.Option{worker.WithExecutable(binary(t)), worker.WithPoolSize(0),
		worker.WithSetup(worker.Setup{Limits: limits, Confine: confine}),
		worker.WithLanguages(runtime.Python, runtime.JavaScript, runtime.TypeScript, runtime.Bash)}
	s, err := worker.New(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func run(t testing.TB, ip runtime.Interpreter, lang runtime.Language, code string) *runtime.Result {
	t.Helper()
	res, err := ip.Run(context.Background(), runtime.Request{Language: lang, Code: code})
	if err != nil {
		t.Fatalf("run %s %q: %v", lang, code, err)
	}
	return res
}

func TestSupervisor_Run_debug(t *testing.T) {
	for _, c := range []worker.Confinement{{}, {Landlock: true}, {Seccomp: true}} {
		s := newSupervisor(t, c)
		ip, err := s.Open(context.Background(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		res := run(t, ip, runtime.Python, "print(6*7)")
		t.Logf("%+v: %q %q %+v layers=%v", c, res.Stdout, res.Stderr, res.Error, s.Layers())
		if strings.TrimSpace(res.Stdout) != "42" {
			t.Errorf("got %q", res.Stdout)
		}
		ip.Close()
	}
}
