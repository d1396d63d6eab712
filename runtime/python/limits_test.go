package python

import (
	"context"
	"strings"
	"testing"
	"time"

	"wasmbox/runtime"
)

// TestInterpreter_Run_runaway stops each kind of runaway guest while a neighbour keeps working,
// and checks the runaway's session recovers with a fresh interpreter and its files intact.
func TestInterpreter_Run_runaway(t *testing.T) {
	cases := []struct {
		name   string
		code   string
		kind   runtime.ErrorKind
		limits runtime.Limits
	}{
		{"infinite loop", "while True:\n    pass", runtime.ErrTimeout, runtime.Limits{Timeout: 2 * time.Second}},
		{"C-level loop", "sum(range(10**15))", runtime.ErrTimeout, runtime.Limits{Timeout: 2 * time.Second}},
		{"sleep", "import time\ntime.sleep(3600)", runtime.ErrTimeout, runtime.Limits{Timeout: 2 * time.Second}},
		{"blocked read", "import os\nos.read(0, 10)\nwhile True: pass", runtime.ErrTimeout, runtime.Limits{Timeout: 2 * time.Second}},
		{"memory bomb", "a = []\nwhile True:\n    a.append(bytearray(10**6))", runtime.ErrMemory, runtime.Limits{Timeout: 60 * time.Second}},
		{"one huge allocation", "b = b'x' * (10**9)", runtime.ErrMemory, runtime.Limits{Timeout: 60 * time.Second}},
		{"print flood", "while True:\n    print('x' * 1000)", runtime.ErrOutputLimit, runtime.Limits{Timeout: 60 * time.Second}},
		{"stderr flood", "import sys\nwhile True:\n    sys.stderr.write('y' * 4096)", runtime.ErrOutputLimit, runtime.Limits{Timeout: 60 * time.Second}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			victim, _ := newInterp(t)
			neighbour, _ := newInterp(t)
			run(t, victim, "kept = 1\nopen('keep.txt', 'w').write('still here')")
			run(t, neighbour, "n = 0")

			done := make(chan *runtime.Result, 1)
			go func() { done <- run(t, victim, tc.code, tc.limits) }()
			// The neighbour answers while the runaway runs.
			for i := 1; i <= 3; i++ {
				res := run(t, neighbour, "n += 1\nn")
				if res.Error != nil || strings.TrimSpace(res.Stdout) != string(rune('0'+i)) {
					t.Fatalf("neighbour run %d: got %+v %q", i, res.Error, res.Stdout)
				}
			}
			var res *runtime.Result
			select {
			case res = <-done:
			case <-time.After(2 * time.Minute):
				t.Fatal("runaway was not stopped")
			}
			if res.Error == nil || res.Error.Kind != tc.kind {
				t.Fatalf("got error %+v, want kind %s (stderr %.300q)", res.Error, tc.kind, res.Stderr)
			}
			if !res.StateReset {
				t.Error("state_reset is false, want true")
			}
			if len(res.Stdout) > runtime.DefaultMaxOutput || len(res.Stderr) > runtime.DefaultMaxOutput+200 {
				t.Errorf("output not capped: %d/%d bytes", len(res.Stdout), len(res.Stderr))
			}
			after := run(t, victim, "print('kept' in globals(), open('keep.txt').read())")
			if after.Error != nil || after.Stdout != "False still here\n" || !after.StateReset {
				t.Errorf("next run: got %+v %q reset=%v, want a fresh interpreter with the file", after.Error, after.Stdout, after.StateReset)
			}
			if again := run(t, victim, "1"); again.StateReset {
				t.Error("state_reset reported twice")
			}
		})
	}
}

func TestInterpreter_Run_truncation(t *testing.T) {
	ip, _ := newInterp(t)
	res := run(t, ip, "print('a' * 25000)\nprint('done', flush=True)\nx = 5", runtime.Limits{MaxOutput: 1000})
	if res.Error != nil || !res.Truncated || len(res.Stdout) != 1000 {
		t.Fatalf("got error %+v truncated %v len %d, want 1000 bytes and truncated", res.Error, res.Truncated, len(res.Stdout))
	}
	if res := run(t, ip, "x"); res.Stdout != "5\n" {
		t.Errorf("state lost after truncation: %q", res.Stdout)
	}
}

func TestInterpreter_Run_recursion(t *testing.T) {
	ip, _ := newInterp(t)
	res := run(t, ip, "def f(n):\n    return f(n + 1)\nf(0)")
	if res.Error == nil || res.Error.Type != "RecursionError" {
		t.Fatalf("got %+v, want RecursionError", res.Error)
	}
	if res := run(t, ip, "print('ok')"); res.Stdout != "ok\n" {
		t.Errorf("after recursion: %q", res.Stdout)
	}
}

func TestInterpreter_Run_osExit(t *testing.T) {
	ip, _ := newInterp(t)
	res := run(t, ip, "import os\nprint('before', flush=True)\nos._exit(7)")
	if res.ExitCode != 7 || res.Error == nil || res.Error.Kind != runtime.ErrExit || !res.StateReset {
		t.Fatalf("got exit %d error %+v reset %v, want 7, exit, reset", res.ExitCode, res.Error, res.StateReset)
	}
	if res.Stdout != "before\n" {
		t.Errorf("stdout %q", res.Stdout)
	}
	if res := run(t, ip, "print('again')"); res.Stdout != "again\n" {
		t.Errorf("after os._exit: %q", res.Stdout)
	}
}

func TestInterpreter_Close_duringRun(t *testing.T) {
	ip, _ := newInterp(t)
	done := make(chan error, 1)
	started := make(chan struct{})
	go func() {
		close(started)
		_, err := ip.Run(context.Background(), runtime.Request{Code: "while True: pass", Limits: runtime.Limits{Timeout: time.Hour}})
		done <- err
	}()
	<-started
	time.Sleep(200 * time.Millisecond) // let the run begin; correctness does not depend on it
	ip.Close()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("Run did not return after Close")
	}
	if _, err := ip.Run(context.Background(), runtime.Request{Code: "1"}); err == nil {
		t.Error("Run after Close succeeded, want ErrClosed")
	}
}

func TestInterpreter_Run_contextCanceled(t *testing.T) {
	ip, _ := newInterp(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(200 * time.Millisecond)
		cancel()
	}()
	_, err := ip.Run(ctx, runtime.Request{Code: "while True: pass"})
	if err == nil {
		t.Fatal("Run with a canceled context returned no error")
	}
	if res := run(t, ip, "print('ok')"); res.Stdout != "ok\n" || !res.StateReset {
		t.Errorf("after cancel: %+v", res)
	}
}
