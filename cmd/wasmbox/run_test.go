package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"wasmbox/runtime"
)

func TestRun_commands(t *testing.T) {
	script := filepath.Join(t.TempDir(), "hello.py")
	os.WriteFile(script, []byte("print('from file')"), 0o644)
	cases := []struct {
		name     string
		args     []string
		env      map[string]string
		stdin    string
		code     int
		out, err string
		notOut   string // stdout must not contain it ("": no check)
	}{
		{name: "stdin", args: []string{"run", "--lang", "python", "-"}, stdin: "print(6 * 7)", code: 0, out: "42\n"},
		{name: "file", args: []string{"run", "--lang", "python", script}, code: 0, out: "from file\n"},
		{name: "exception", args: []string{"run", "-"}, stdin: "1/0", code: 1, err: "ZeroDivisionError"},
		{name: "exit code", args: []string{"run", "-"}, stdin: "import sys; sys.exit(4)", code: 4},
		{name: "timeout", args: []string{"run", "-"}, env: map[string]string{"EXECUTION_TIMEOUT": "1"}, stdin: "while True: pass", code: 1, err: "timeout"},
		{name: "timeout at C level", args: []string{"run", "-"}, env: map[string]string{"EXECUTION_TIMEOUT": "1"}, stdin: "sum(range(10**12))", code: 1, err: "timeout"},
		{name: "truncation", args: []string{"run", "-"}, env: map[string]string{"MAX_OUTPUT_LENGTH": "5"}, stdin: "print('abcdefgh')", code: 0, out: "abcde", err: "truncated"},
		{name: "bad timeout", args: []string{"run", "-"}, env: map[string]string{"EXECUTION_TIMEOUT": "soon"}, code: 2, err: "EXECUTION_TIMEOUT"},
		{name: "unknown language", args: []string{"run", "--lang", "cobol", "-"}, code: 2, err: "not available"},
		{name: "javascript", args: []string{"run", "--lang", "javascript", "-"}, stdin: "const xs = [1, 2, 3]; console.log(xs.map(x => x * 2))", code: 0, out: "[ 2, 4, 6 ]\n"},
		{name: "javascript exception", args: []string{"run", "--lang", "javascript", "-"}, stdin: "null.x", code: 1, err: "TypeError"},
		{name: "javascript timeout", args: []string{"run", "--lang", "javascript", "-"}, env: map[string]string{"EXECUTION_TIMEOUT": "1"}, stdin: "for (;;) {}", code: 1, err: "timeout"},
		{name: "bash", args: []string{"run", "--lang", "bash", "-"}, stdin: "for i in 3 1 2; do echo $i; done | sort | tr '\\n' ' '", code: 0, out: "1 2 3 "},
		{name: "bash exit status", args: []string{"run", "--lang", "bash", "-"}, stdin: "echo out; exit 5", code: 5, out: "out\n"},
		{name: "bash denied", args: []string{"run", "--lang", "bash", "-"}, stdin: "bash -c id", code: 126, err: "not allowed"},
		{name: "bash allowlist env", args: []string{"run", "--lang", "bash", "-"}, env: map[string]string{"BASH_ALLOWLIST": "cat,sh"}, stdin: "true", code: 1, err: "can never be allowed"},
		// The loader escape (an allowlisted program runs the dynamic loader on a copy of a
		// binary in the workspace) is closed in `wasmbox run` as in a server: by the exec check
		// without namespaces, by the noexec workspace with them.
		{name: "bash loader escape, no namespaces", args: []string{"run", "--lang", "bash", "-"}, env: map[string]string{"WASMBOX_DISABLE_LAYERS": "namespaces"},
			stdin: loaderEscape, code: 123, notOut: "secret"},
		{name: "bash loader escape", args: []string{"run", "--lang", "bash", "-"}, stdin: loaderEscape, code: 123, notOut: "secret"},
		// Without Landlock and namespaces bash is refused, as in a server, unless the user
		// says it may run unconfined; the other languages run.
		{name: "bash without Landlock or namespaces", args: []string{"run", "--lang", "bash", "-"}, env: map[string]string{"WASMBOX_DISABLE_LAYERS": "landlock,namespaces"},
			stdin: "echo hi", code: 1, err: "bash is off", notOut: "hi"},
		{name: "bash unconfined", args: []string{"run", "--lang", "bash", "-"}, env: map[string]string{"WASMBOX_DISABLE_LAYERS": "landlock,namespaces", "WASMBOX_BASH_UNCONFINED": "1"},
			stdin: "echo hi", code: 0, out: "hi\n", err: "WITHOUT Landlock or namespaces"},
		{name: "python without Landlock or namespaces", args: []string{"run", "-"}, env: map[string]string{"WASMBOX_DISABLE_LAYERS": "landlock,namespaces"},
			stdin: "print(6 * 7)", code: 0, out: "42\n"},
		{name: "unknown layer", args: []string{"run", "-"}, env: map[string]string{"WASMBOX_DISABLE_LAYERS": "selinux"}, stdin: "print(1)", code: 1, err: "unknown layer"},
		{name: "typescript", args: []string{"run", "--lang", "typescript", "-"}, stdin: "const n: number = 21; console.log(n * 2)", code: 0, out: "42\n"},
		{name: "typescript syntax", args: []string{"run", "--lang", "typescript", "-"}, stdin: "let x: = 1", code: 1, err: "cell-1.ts:1:"},
		{name: "missing file", args: []string{"run", "/nonexistent.py"}, code: 2, err: "no such file"},
		{name: "no args", args: nil, code: 2, err: "Usage"},
		{name: "unknown command", args: []string{"frobnicate"}, code: 2, err: "unknown command"},
		{name: "version", args: []string{"version"}, code: 0, out: "CPython 3.13.5"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var out, errb bytes.Buffer
			// A bound for hangs only: the first case compiles python.wasm (116 MiB of machine
			// code), which under -race beside other test packages on two cores took 190 s.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			if strings.Contains(tc.stdin, "LOADER") {
				if loader == "" {
					t.Skip("no dynamic loader found")
				}
				tc.stdin = strings.ReplaceAll(tc.stdin, "LOADER", loader)
			}
			var code int
			// `wasmbox run` starts a worker from its own binary: the built one, not this test.
			if len(tc.args) > 0 && tc.args[0] == "run" {
				cmd := exec.CommandContext(ctx, buildBinary(t), tc.args...)
				cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(tc.stdin), &out, &errb
				// A process that hangs is asked for its goroutines (Go prints them on SIGQUIT)
				// before it is killed, so the failure says where it hung.
				cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGQUIT) }
				cmd.WaitDelay = 10 * time.Second
				start := time.Now()
				err := cmd.Run()
				code = cmd.ProcessState.ExitCode()
				if took := time.Since(start); err != nil && code < 0 || took > 2*time.Minute {
					t.Errorf("the process: %v after %s; its stderr:\n%.20000s", err, took, errb.String())
				}
			} else {
				code = run(ctx, tc.args, strings.NewReader(tc.stdin), &out, &errb)
			}
			if code != tc.code {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tc.code, errb.String())
			}
			if !strings.Contains(out.String(), tc.out) {
				t.Errorf("stdout %q, want it to contain %q", out.String(), tc.out)
			}
			if tc.notOut != "" && strings.Contains(out.String(), tc.notOut) {
				t.Errorf("stdout %q contains %q", out.String(), tc.notOut)
			}
			if !strings.Contains(errb.String(), tc.err) {
				t.Errorf("stderr %q, want it to contain %q", errb.String(), tc.err)
			}
		})
	}
}

// loaderEscape copies cat into the workspace and asks xargs (allowlisted) to have another
// xargs run the dynamic loader (LOADER) on the copy: if the loader ran it, "secret" would be
// printed. The outer xargs exits 123 when the inner one fails.
const loaderEscape = "echo /usr/bin/cat | xargs -I{} cp {} ./c && echo secret > s && printf '%s\\0' LOADER ./c s | xargs -0 xargs"

// loader is the host's dynamic loader ("" if none is found).
var loader = func() string {
	for _, pattern := range []string{"/lib64/ld-linux-*.so.2", "/lib/ld-linux-*.so.1", "/lib/ld-linux*.so.*"} {
		if m, _ := filepath.Glob(pattern); len(m) > 0 {
			return m[0]
		}
	}
	return ""
}()

func TestLimitsFromEnv(t *testing.T) {
	cases := []struct {
		env     map[string]string
		want    runtime.Limits
		wantErr bool
	}{
		{env: map[string]string{}, want: runtime.DefaultLimits()},
		{env: map[string]string{"EXECUTION_TIMEOUT": "2.5", "MAX_OUTPUT_LENGTH": "100"},
			want: runtime.Limits{Timeout: 2500 * time.Millisecond, MaxOutput: 100, Memory: runtime.DefaultMemory, WorkspaceQuota: runtime.DefaultWorkspaceQuota, WorkspaceEntries: runtime.DefaultWorkspaceEntries}},
		{env: map[string]string{"WORKSPACE_MAX_FILES": "50"},
			want: runtime.Limits{Timeout: runtime.DefaultTimeout, MaxOutput: runtime.DefaultMaxOutput, Memory: runtime.DefaultMemory, WorkspaceQuota: runtime.DefaultWorkspaceQuota, WorkspaceEntries: 50}},
		{env: map[string]string{"WORKSPACE_MAX_FILES": "-1"}, wantErr: true},
		{env: map[string]string{"EXECUTION_TIMEOUT": "0"}, wantErr: true},
		{env: map[string]string{"EXECUTION_TIMEOUT": "-3"}, wantErr: true},
		{env: map[string]string{"MAX_OUTPUT_LENGTH": "lots"}, wantErr: true},
	}
	for _, tc := range cases {
		got, err := limitsFromEnv(func(k string) string { return tc.env[k] })
		if (err != nil) != tc.wantErr {
			t.Errorf("%v: err %v, want error %v", tc.env, err, tc.wantErr)
			continue
		}
		if !tc.wantErr && got != tc.want {
			t.Errorf("%v: got %+v, want %+v", tc.env, got, tc.want)
		}
	}
}
