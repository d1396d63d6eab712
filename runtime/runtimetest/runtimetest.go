// Package runtimetest is the conformance suite of the execution contract: every engine passes
// it in-process, and again behind the worker boundary, as io/fs implementations pass
// testing/fstest.
package runtimetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"wasmbox/runtime"
)

// Snippets are one language's programs for the suite. An empty snippet skips its test.
type Snippets struct {
	Print42   string // prints "42\n"
	SetState  string // keeps state that ReadState prints as "42\n"
	ReadState string
	Raise     string // fails with an exception
	Exit3     string // exits with status 3
	Loop      string // never ends
	Flood     string // prints far more than 10 bytes, then ends
	WriteFile string // writes the file "conformance.txt" in the workspace
}

// For returns the snippets of a language wasmbox knows.
func For(lang runtime.Language) Snippets {
	switch lang {
	case runtime.Python:
		return Snippets{Print42: "print(42)", SetState: "v = 41", ReadState: "print(v + 1)", Raise: "raise ValueError('x')",
			Exit3: "import sys; sys.exit(3)", Loop: "while True: pass", Flood: "print('x' * 5000)",
			WriteFile: "open('conformance.txt', 'w').write('ok')"}
	case runtime.JavaScript, runtime.TypeScript:
		return Snippets{Print42: "console.log(42)", SetState: "var v = 41", ReadState: "console.log(v + 1)", Raise: "throw new Error('x')",
			Loop: "for (;;) {}", Flood: "console.log('x'.repeat(5000))"}
	case runtime.Bash:
		return Snippets{Print42: "echo 42", SetState: "v=41", ReadState: "echo $((v + 1))", Raise: "false", Exit3: "exit 3",
			Loop: "while true; do :; done", Flood: "seq 1 2000", WriteFile: "echo ok > conformance.txt"}
	}
	return Snippets{}
}

// Opener returns a new interpreter of the language under test, closed by the test's cleanup.
type Opener func(t *testing.T) runtime.Interpreter

// TestEngine runs the suite on interpreters made by e, each with a workspace of its own.
func TestEngine(t *testing.T, e runtime.Engine) {
	TestInterpreter(t, e.Language(), func(t *testing.T) runtime.Interpreter {
		ip, err := e.New(context.Background(), t.TempDir())
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		t.Cleanup(func() { ip.Close() })
		return ip
	})
}

// TestInterpreter runs the suite on interpreters of lang made by open.
func TestInterpreter(t *testing.T, lang runtime.Language, open Opener) {
	sn := For(lang)
	limits := runtime.DefaultLimits()
	limits.Timeout = 2 * time.Second
	run := func(t *testing.T, ip runtime.Interpreter, code string, l runtime.Limits) *runtime.Result {
		t.Helper()
		res, err := ip.Run(context.Background(), runtime.Request{Language: lang, Code: code, Limits: l})
		if err != nil {
			t.Fatalf("Run(%q): %v (what code does wrong is a Result, not an error)", code, err)
		}
		return res
	}
	kind := func(r *runtime.Result) runtime.ErrorKind {
		if r.Error == nil {
			return ""
		}
		return r.Error.Kind
	}
	t.Run("output", func(t *testing.T) {
		res := run(t, open(t), sn.Print42, limits)
		if res.Stdout != "42\n" || !res.OK() || res.ExitCode != 0 {
			t.Errorf("got %q %+v exit %d, want 42", res.Stdout, res.Error, res.ExitCode)
		}
	})
	t.Run("state", func(t *testing.T) {
		ip := open(t)
		run(t, ip, sn.SetState, limits)
		if res := run(t, ip, sn.ReadState, limits); res.Stdout != "42\n" || res.StateReset {
			t.Errorf("got %q reset=%v, want the state kept", res.Stdout, res.StateReset)
		}
	})
	t.Run("failure", func(t *testing.T) {
		res := run(t, open(t), sn.Raise, limits)
		if res.OK() || res.ExitCode == 0 || (kind(res) != runtime.ErrException && kind(res) != runtime.ErrExit) {
			t.Errorf("got %+v exit %d, want an exception or exit result", res.Error, res.ExitCode)
		}
	})
	if sn.Exit3 != "" {
		t.Run("exit status", func(t *testing.T) {
			res := run(t, open(t), sn.Exit3, limits)
			if kind(res) != runtime.ErrExit || res.ExitCode != 3 {
				t.Errorf("got %+v exit %d, want exit 3", res.Error, res.ExitCode)
			}
		})
	}
	t.Run("timeout", func(t *testing.T) {
		ip := open(t)
		start := time.Now()
		res := run(t, ip, sn.Loop, limits)
		if kind(res) != runtime.ErrTimeout {
			t.Errorf("got %+v, want timeout", res.Error)
		}
		if took := time.Since(start); took > limits.Timeout+20*time.Second {
			t.Errorf("the timeout took %s", took)
		}
		if res := run(t, ip, sn.Print42, limits); res.Stdout != "42\n" {
			t.Errorf("after a timeout: %q %+v", res.Stdout, res.Error)
		}
	})
	t.Run("truncation", func(t *testing.T) {
		l := limits
		l.MaxOutput = 10
		res := run(t, open(t), sn.Flood, l)
		if !res.Truncated || len(res.Stdout) > 10 {
			t.Errorf("got %d bytes, truncated=%v; want at most 10 and truncated", len(res.Stdout), res.Truncated)
		}
	})
	if sn.WriteFile != "" {
		t.Run("files", func(t *testing.T) {
			res := run(t, open(t), sn.WriteFile, limits)
			if len(res.Files) != 1 || res.Files[0].Path != "conformance.txt" {
				t.Errorf("files %+v, want conformance.txt", res.Files)
			}
		})
	}
	t.Run("close during a run", func(t *testing.T) {
		ip := open(t)
		run(t, ip, sn.Print42, limits)
		l := limits
		l.Timeout = time.Minute
		done := make(chan struct{})
		go func() {
			defer close(done)
			ip.Run(context.Background(), runtime.Request{Language: lang, Code: sn.Loop, Limits: l})
		}()
		time.Sleep(300 * time.Millisecond)
		ip.Close()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("Run did not return after Close")
		}
		if _, err := ip.Run(context.Background(), runtime.Request{Language: lang, Code: sn.Print42, Limits: limits}); err == nil {
			t.Error("Run after Close succeeded")
		}
	})
	t.Run("unknown language or empty code", func(t *testing.T) {
		res, err := open(t).Run(context.Background(), runtime.Request{Language: lang, Code: "", Limits: limits})
		if err != nil || strings.Contains(res.Stderr, "panic") {
			t.Errorf("empty code: %v %+v", err, res)
		}
	})
}
