package javascript

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"wasmbox/runtime"
)

func newInterp(t *testing.T, lang runtime.Language) runtime.Interpreter {
	t.Helper()
	e, err := New(lang)
	if err != nil {
		t.Fatal(err)
	}
	ip, err := e.New(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ip.Close() })
	return ip
}

func run(t *testing.T, ip runtime.Interpreter, code string, limits ...runtime.Limits) *runtime.Result {
	t.Helper()
	req := runtime.Request{Code: code}
	if len(limits) > 0 {
		req.Limits = limits[0]
	}
	res, err := ip.Run(context.Background(), req)
	if err != nil {
		t.Fatalf("Run(%q): %v", code, err)
	}
	return res
}

func TestInterpreter_Run_notebook(t *testing.T) {
	ip := newInterp(t, runtime.JavaScript)
	steps := []struct{ code, stdout, errType string }{
		{"var v = 1; let l = 2; const c = 3; function f(x) { return x * 10 } class K { static k() { return 'k' } }", "", ""},
		{"v + l + c", "6\n", ""},
		{"f(l)", "20\n", ""},
		{"K.k()", "'k'\n", ""},
		{"l = 5; l", "5\n", ""},
		{"undefined", "", ""},
		{"const t = await Promise.resolve(41); const { a, b: [bb] } = { a: 1, b: [2] }; async function g() { return t + 1 } class Q {}", "", ""},
		{"[t, a, bb, typeof Q]", "[ 41, 1, 2, 'function' ]\n", ""},
		{"await g()", "42\n", ""},
		{"if (true) { 'block value' }", "'block value'\n", ""},
		{"let l = 1", "", "SyntaxError"},
		{"nope()", "", "ReferenceError"},
		{"l", "5\n", ""},
	}
	for i, s := range steps {
		res := run(t, ip, s.code)
		typ := ""
		if res.Error != nil {
			typ = res.Error.Type
		}
		if res.Stdout != s.stdout || typ != s.errType {
			t.Errorf("step %d %q: got stdout %q error %q (%+v %s), want %q %q", i, s.code, res.Stdout, typ, res.Error, res.Stderr, s.stdout, s.errType)
		}
	}
}

func TestInterpreter_Run_errors(t *testing.T) {
	ip := newInterp(t, runtime.JavaScript)
	res := run(t, ip, "function inner() {\n  throw new TypeError('bad input');\n}\ninner();")
	if res.Error == nil || res.Error.Kind != runtime.ErrException || res.Error.Type != "TypeError" || res.ExitCode != 1 {
		t.Fatalf("got %+v", res.Error)
	}
	if !strings.Contains(res.Stderr, "TypeError: bad input") || !strings.Contains(res.Stderr, "<cell-1>:2:") {
		t.Errorf("stderr lacks the message or line: %q", res.Stderr)
	}
	res = run(t, ip, "let x = ;\n")
	if res.Error == nil || res.Error.Type != "SyntaxError" || !strings.Contains(res.Stderr, "Line 1:9") {
		t.Errorf("syntax error: %+v %q", res.Error, res.Stderr)
	}
	res = run(t, ip, "throw 'plain string'")
	if res.Error == nil || !strings.Contains(res.Stderr, "Uncaught 'plain string'") {
		t.Errorf("thrown string: %+v %q", res.Error, res.Stderr)
	}
	res = run(t, ip, "Promise.reject(new Error('nobody catches'));\n'after'")
	if res.Error == nil || res.Error.Type != "UnhandledPromiseRejection" || !strings.Contains(res.Stderr, "Uncaught (in promise) Error: nobody catches") {
		t.Errorf("unhandled rejection: %+v %q", res.Error, res.Stderr)
	}
	res = run(t, ip, "Promise.reject(new Error('caught')).catch(e => console.log('handled', e.message))")
	if res.Error != nil || res.Stdout != "handled caught\n" {
		t.Errorf("handled rejection: %+v %q", res.Error, res.Stdout)
	}
	res = run(t, ip, "setTimeout(() => { throw new Error('in timer') }, 1); setTimeout(() => console.log('not reached'), 50)")
	if res.Error == nil || !strings.Contains(res.Stderr, "in timer") || strings.Contains(res.Stdout, "not reached") {
		t.Errorf("error in a timer: %+v %q %q", res.Error, res.Stdout, res.Stderr)
	}
	res = run(t, ip, "function deep(n) { return deep(n + 1) + 1 }\ndeep(0)")
	if res.Error == nil || res.Error.Type != "RangeError" || !strings.Contains(res.Stderr, "Maximum call stack size exceeded") {
		t.Errorf("deep recursion: %+v %q", res.Error, res.Stderr)
	}
	if res := run(t, ip, "'still alive'"); res.Stdout != "'still alive'\n" {
		t.Errorf("after errors: %q", res.Stdout)
	}
}

func TestInterpreter_Run_noHostAccess(t *testing.T) {
	t.Setenv("WASMBOX_JS_CANARY", "leaked")
	ip := newInterp(t, runtime.JavaScript)
	for _, code := range []string{
		"require('fs').readFileSync('/etc/passwd')",
		"require('child_process').execSync('id')",
		"require('net')",
		"require('/etc/passwd')",
		"require('./x.js')",
		"process.exit(1)",
		"process.binding('fs')",
		"import('fs')",
	} {
		res := run(t, ip, code)
		if res.Error == nil {
			t.Errorf("%q succeeded: %q", code, res.Stdout)
		}
	}
	res := run(t, ip, "JSON.stringify([process.env, Object.keys(process.env).length, process.argv, typeof fetch, typeof XMLHttpRequest, typeof WebSocket])")
	if res.Stdout != `'[{},0,["node"],"undefined","undefined","undefined"]'`+"\n" {
		t.Errorf("host view: %q", res.Stdout)
	}
	if strings.Contains(res.Stdout+res.Stderr, "leaked") {
		t.Error("host environment visible")
	}
	if res := run(t, ip, "require('url').URL === URL && typeof require('util').inspect"); res.Stdout != "'function'\n" {
		t.Errorf("allowed modules: %q %s", res.Stdout, res.Stderr)
	}
}

func TestInterpreter_Run_limits(t *testing.T) {
	ip := newInterp(t, runtime.JavaScript)
	run(t, ip, "let kept = 'yes'")
	short := runtime.Limits{Timeout: 500 * time.Millisecond}
	for _, code := range []string{"while (true) {}", "setInterval(() => {}, 1)", "new Promise(() => {}); setTimeout(() => {}, 100000)", "(async () => { for (;;) await null })()"} {
		res := run(t, ip, code, short)
		if res.Error == nil || res.Error.Kind != runtime.ErrTimeout || res.StateReset {
			t.Errorf("%q: got %+v reset=%v, want a timeout that keeps state", code, res.Error, res.StateReset)
		}
		if res := run(t, ip, "kept"); res.Stdout != "'yes'\n" {
			t.Errorf("after %q the state is gone: %q %s", code, res.Stdout, res.Stderr)
		}
	}
	res := run(t, ip, "for (;;) console.log('flood flood flood')")
	if res.Error == nil || res.Error.Kind != runtime.ErrOutputLimit || !res.Truncated || len(res.Stdout) > runtime.DefaultMaxOutput {
		t.Errorf("flood: %+v truncated=%v len=%d", res.Error, res.Truncated, len(res.Stdout))
	}
	res = run(t, ip, "console.log('x'.repeat(50)); 1", runtime.Limits{MaxOutput: 10})
	if !res.Truncated || res.Error != nil || res.Stdout != "xxxxxxxxxx" {
		t.Errorf("truncation: %+v %q", res.Error, res.Stdout)
	}
}

// TestInterpreter_Run_memoryBomb runs an unbounded allocation; it must stop with a memory error
// long before the process is at risk, and the session must start afresh.
func TestInterpreter_Run_memoryBomb(t *testing.T) {
	ip := newInterp(t, runtime.JavaScript)
	run(t, ip, "let before = 1")
	res := run(t, ip, "let a = []; while (true) a.push(new Array(1e6).fill(1))", runtime.Limits{Timeout: 2 * time.Minute})
	if res.Error == nil || res.Error.Kind != runtime.ErrMemory || !res.StateReset {
		t.Fatalf("got %+v reset=%v, want a memory error and a reset", res.Error, res.StateReset)
	}
	if peak := peakRSS(t); peak > 2<<30 {
		t.Errorf("peak RSS %d MiB, want under 2 GiB", peak>>20)
	} else {
		t.Logf("peak RSS of the test process: %d MiB", peak>>20)
	}
	after := run(t, ip, "typeof before")
	if after.Stdout != "'undefined'\n" || !after.StateReset {
		t.Errorf("after the bomb: %q reset=%v", after.Stdout, after.StateReset)
	}
}

// peakRSS reads the process's high-water mark of resident memory.
func peakRSS(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Skip("no VmHWM")
	return 0
}

func TestInterpreter_Run_typescript(t *testing.T) {
	ip := newInterp(t, runtime.TypeScript)
	res := run(t, ip, "interface P { x: number; y?: string }\nconst p: P = { x: 1 };\nenum Color { Red, Green }\nfunction id<T>(v: T): T { return v }\nconsole.log(id<number>(p.x), Color.Green, Color[0])")
	if res.Error != nil || res.Stdout != "1 1 Red\n" {
		t.Fatalf("got %+v %q %s", res.Error, res.Stdout, res.Stderr)
	}
	if res := run(t, ip, "p.x + 1"); res.Stdout != "2\n" {
		t.Errorf("state across TS cells: %q %s", res.Stdout, res.Stderr)
	}
	res = run(t, ip, "const n: number = 1;\nlet s: string = 'a';\nconst bad = (x: number => x;")
	if res.Error == nil || res.Error.Type != "SyntaxError" || !strings.Contains(res.Stderr, "cell-3.ts:3:") {
		t.Errorf("transpile error: %+v %q", res.Error, res.Stderr)
	}
	// Types are not checked: this runs.
	if res := run(t, ip, "const wrong: number = 'text' as any; wrong"); res.Stdout != "'text'\n" {
		t.Errorf("type errors are not checked: %q %s", res.Stdout, res.Stderr)
	}
	res = run(t, ip, "type T = { a: number };\n\n\nfunction boom(): never {\n  throw new Error('from ts');\n}\nboom();")
	if res.Error == nil || !strings.Contains(res.Stderr, "from ts") || !strings.Contains(res.Stderr, "cell-5.ts:5:") {
		t.Errorf("runtime error in TS should point at the TS line: %q", res.Stderr)
	}
	if res := run(t, ip, "const v = await Promise.resolve<number>(3); v * 2"); res.Stdout != "6\n" {
		t.Errorf("top-level await in TS: %q %s", res.Stdout, res.Stderr)
	}
}

func TestInterpreter_Close_duringRun(t *testing.T) {
	ip := newInterp(t, runtime.JavaScript)
	done := make(chan struct{})
	go func() {
		defer close(done)
		ip.Run(context.Background(), runtime.Request{Code: "while (true) {}", Limits: runtime.Limits{Timeout: time.Hour}})
	}()
	time.Sleep(100 * time.Millisecond)
	ip.Close()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("Run did not return after Close")
	}
	if _, err := ip.Run(context.Background(), runtime.Request{Code: "1"}); err == nil {
		t.Error("Run after Close succeeded")
	}
}
