package bash

import (
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	"wasmbox/runtime"
	"wasmbox/runtime/bash/bashtest"
)

// TestInterpreter_escapes: the escape table, in-process (the worker runs it again, see the
// worker package's tests).
func TestInterpreter_escapes(t *testing.T) {
	bashtest.Escapes(t, func(t *testing.T) (runtime.Interpreter, string) { return newInterp(t) })
}

func TestInterpreter_Run_denied(t *testing.T) {
	ip, _ := newInterp(t)
	res := run(t, ip, "python3 -c 'print(1)'")
	if res.Error == nil || res.Error.Kind != runtime.ErrDenied || !strings.Contains(res.Stderr, "allowed programs:") || !strings.Contains(res.Stderr, "grep") {
		t.Errorf("denied command: %+v %q", res.Error, res.Stderr)
	}
	res = run(t, ip, "cat /etc/hostname")
	if res.Error == nil || res.Error.Kind != runtime.ErrDenied || !strings.Contains(res.Stderr, "outside the workspace") {
		t.Errorf("path outside: %+v %q", res.Error, res.Stderr)
	}
}

func TestNew_allowlist(t *testing.T) {
	for _, bad := range []string{"sh", "bash", "python3", "python3.11", "curl", "env", "node", "perl", "ssh"} {
		if _, err := New(WithAllowlist([]string{"cat", bad})); err == nil {
			t.Errorf("allowlist with %q accepted", bad)
		}
	}
	if _, err := ParseAllowlist("cat,/bin/sh"); err == nil {
		t.Error("a path in BASH_ALLOWLIST accepted")
	}
	names, err := ParseAllowlist("cat, grep wc")
	if err != nil || len(names) != 3 {
		t.Fatalf("ParseAllowlist: %v %v", names, err)
	}
	e, err := New(WithAllowlist(names))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(e.Allowed(), ","); got != "cat,grep,wc" {
		t.Errorf("allowed %s", got)
	}
	ip, err := e.New(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer ip.Close()
	res := run(t, ip, "echo a | wc -c; ls")
	if res.Stdout != "2\n" || res.Error == nil || res.Error.Kind != runtime.ErrDenied {
		t.Errorf("restricted allowlist: %q %+v", res.Stdout, res.Error)
	}
}

// TestInterpreter_Run_runaway stops loops, sleepers, floods and a fork bomb; afterwards no
// program of the run is left and the interpreter keeps working.
func TestInterpreter_Run_runaway(t *testing.T) {
	ip, _ := newInterp(t)
	short := runtime.Limits{Timeout: 2 * time.Second}
	cases := []struct {
		name, code string
		kind       runtime.ErrorKind
		limits     runtime.Limits
	}{
		{"shell loop", "while true; do :; done", runtime.ErrTimeout, short},
		{"sleeping program", "sleep 1234.5", runtime.ErrTimeout, short},
		{"background programs", "sleep 1234.6 & sleep 1234.7 & wait", runtime.ErrTimeout, short},
		{"pipeline that never ends", "cat /dev/zero | head -c 100000000000 | wc -c", runtime.ErrTimeout, short},
		{"output flood", "while true; do echo flood flood flood flood; done", runtime.ErrOutputLimit, runtime.Limits{Timeout: time.Minute}},
		{"program output flood", "cat /dev/zero", runtime.ErrOutputLimit, runtime.Limits{Timeout: time.Minute}},
		{"fork bomb kept running", ":(){ :|:& };:; sleep 5", runtime.ErrDenied, runtime.Limits{Timeout: time.Minute}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, ip, tc.code, tc.limits)
			if res.Error == nil || res.Error.Kind != tc.kind {
				t.Fatalf("got %+v (stderr %.300q), want kind %s", res.Error, res.Stderr, tc.kind)
			}
			if len(res.Stdout) > runtime.DefaultMaxOutput || len(res.Stderr) > runtime.DefaultMaxOutput {
				t.Errorf("output not capped: %d/%d", len(res.Stdout), len(res.Stderr))
			}
			if after := run(t, ip, "echo alive"); after.Stdout != "alive\n" {
				t.Errorf("after %s: %q %q", tc.name, after.Stdout, after.Stderr)
			}
		})
	}
	// The classic fork bomb returns at once (its jobs are in the background); they are stopped
	// when the run ends, and the process's goroutines come back down.
	base := goruntime.NumGoroutine()
	res := run(t, ip, ":(){ :|:& };:", runtime.Limits{Timeout: time.Minute})
	if res.Error != nil && res.Error.Kind != runtime.ErrDenied {
		t.Errorf("classic fork bomb: %+v", res.Error)
	}
	deadline := time.Now().Add(time.Minute)
	for goruntime.NumGoroutine() > base+50 {
		if time.Now().After(deadline) {
			t.Fatalf("fork bomb goroutines linger: %d, started at %d", goruntime.NumGoroutine(), base)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if after := run(t, ip, "echo alive"); after.Stdout != "alive\n" {
		t.Errorf("after the fork bomb: %q", after.Stdout)
	}
	// No sleeper of the runs above survives.
	deadline = time.Now().Add(30 * time.Second)
	for {
		out, _ := exec.Command("pgrep", "-f", "sleep 1234").Output()
		if len(strings.TrimSpace(string(out))) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("programs outlived their run: %s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestInterpreter_Run_quota(t *testing.T) {
	ip, dir := newInterp(t)
	limits := runtime.Limits{Timeout: time.Minute, WorkspaceQuota: 1 << 20}
	res := run(t, ip, "head -c 2000000 /dev/zero > big; echo after", limits)
	if res.Error == nil || res.Error.Kind != runtime.ErrDenied || !strings.Contains(res.Stderr, "quota") || strings.Contains(res.Stdout, "after") {
		t.Fatalf("writing past the quota: %+v %q %q", res.Error, res.Stdout, res.Stderr)
	}
	res = run(t, ip, "echo more > more.txt", limits)
	if res.Error == nil || !strings.Contains(res.Stderr, "quota") {
		t.Errorf("a write while over quota: %+v %q", res.Error, res.Stderr)
	}
	res = run(t, ip, "rm big; echo small > small.txt; cat small.txt", limits)
	if res.Error != nil || res.Stdout != "small\n" {
		t.Errorf("after freeing space: %+v %q %q", res.Error, res.Stdout, res.Stderr)
	}
	// A single file is also capped by RLIMIT_FSIZE (64 MiB), whatever the quota.
	res = run(t, ip, "head -c 70000000 /dev/zero > huge", runtime.Limits{Timeout: time.Minute, WorkspaceQuota: 1 << 30})
	if fi, err := os.Stat(filepath.Join(dir, "huge")); err == nil && fi.Size() > 64<<20 {
		t.Errorf("a %d-byte file was written past RLIMIT_FSIZE", fi.Size())
	}
}
