package python

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"wasmbox/runtime"
	"wasmbox/wasm/cpython"
)

var (
	sharedOnce sync.Once
	shared     *Engine
	sharedErr  error
)

// engine returns one engine shared by the package's tests: compiling CPython is the slow part.
func engine(t testing.TB) *Engine {
	t.Helper()
	sharedOnce.Do(func() {
		shared, sharedErr = New(context.Background(), WithPoolSize(2),
			WithLimits(runtime.Limits{Timeout: 60 * time.Second}))
	})
	if sharedErr != nil {
		t.Fatalf("New: %v", sharedErr)
	}
	return shared
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.Close(context.Background())
	}
	os.Exit(code)
}

func newInterp(t testing.TB) (*Interpreter, string) {
	t.Helper()
	dir := t.TempDir()
	ip, err := engine(t).New(context.Background(), dir)
	if err != nil {
		t.Fatalf("New interpreter: %v", err)
	}
	t.Cleanup(func() { ip.Close() })
	return ip.(*Interpreter), dir
}

func run(t testing.TB, ip runtime.Interpreter, code string, limits ...runtime.Limits) *runtime.Result {
	t.Helper()
	req := runtime.Request{Code: code, Language: runtime.Python}
	if len(limits) > 0 {
		req.Limits = limits[0]
	}
	res, err := ip.Run(context.Background(), req)
	if err != nil {
		t.Fatalf("Run(%q): %v", code, err)
	}
	return res
}

func TestEngine_Version(t *testing.T) {
	v, err := engine(t).Version(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(v, cpython.Version+" ") {
		t.Errorf("embedded CPython reports %q, want version %s", v, cpython.Version)
	}
}

func TestInterpreter_Run_stdlib(t *testing.T) {
	ip, _ := newInterp(t)
	cases := []struct{ name, code, want string }{
		{"json", `import json; print(json.dumps({"a": [1, 2.5, None]}, sort_keys=True))`, `{"a": [1, 2.5, null]}`},
		{"re", `import re; print(re.findall(r"\d+", "a1b22c333"))`, `['1', '22', '333']`},
		{"datetime", `import datetime; print(datetime.date(2024, 2, 29) + datetime.timedelta(days=1))`, `2024-03-01`},
		{"decimal", `from decimal import Decimal; print(Decimal("0.1") + Decimal("0.2"))`, `0.3`},
		{"sqlite3", `import sqlite3; c = sqlite3.connect(":memory:"); c.execute("create table t(x)"); c.executemany("insert into t values (?)", [(1,), (2,)]); print(c.execute("select sum(x) from t").fetchone()[0])`, `3`},
		{"sqlite3 file", `import sqlite3; c = sqlite3.connect("db.sqlite"); c.execute("create table if not exists t(x)"); c.execute("insert into t values (7)"); c.commit(); print(c.execute("select count(*) from t").fetchone()[0] >= 1)`, `True`},
		{"zlib", `import zlib; print(len(zlib.compress(b"a" * 1000)) < 50, zlib.decompress(zlib.compress(b"xyz")))`, `True b'xyz'`},
		{"bz2 lzma", `import bz2, lzma; print(bz2.decompress(bz2.compress(b"q")), lzma.decompress(lzma.compress(b"r")))`, `b'q' b'r'`},
		{"hashlib", `import hashlib; print(hashlib.sha256(b"abc").hexdigest()[:16], hashlib.md5(b"").hexdigest()[:8])`, `ba7816bf8f01cfea d41d8cd9`},
		{"csv", "import csv, io\nr = csv.reader(io.StringIO('a,b\\n1,\"2,3\"\\n'))\nprint(list(r))", `[['a', 'b'], ['1', '2,3']]`},
		{"statistics", `import statistics; print(statistics.mean([1, 2, 3, 4]), statistics.median([3, 1, 2]))`, `2.5 2`},
		{"dataclasses", "from dataclasses import dataclass\n@dataclass\nclass P:\n    x: int\n    y: int = 0\nprint(P(1))", `P(x=1, y=0)`},
		{"asyncio", "import asyncio\nasync def f(x):\n    await asyncio.sleep(0.01)\n    return x * 2\nprint(asyncio.run(f(21)))", `42`},
		{"math random", `import math, random; random.seed(1); print(math.isqrt(10**20), 0 <= random.random() < 1)`, `10000000000 True`},
		{"unicodedata", `import unicodedata; print(unicodedata.name("é"))`, `LATIN SMALL LETTER E WITH ACUTE`},
		{"zoneinfo", `from datetime import datetime; from zoneinfo import ZoneInfo; print(datetime(2024, 7, 1, 12, tzinfo=ZoneInfo("Europe/Paris")).utcoffset(), len(__import__("zoneinfo").available_timezones()) > 400)`, `2:00:00 True`},
		{"time sleep", `import time; t = time.monotonic(); time.sleep(0.05); print(time.monotonic() - t >= 0.04)`, `True`},
		{"collections itertools functools", `import collections, itertools, functools; print(collections.Counter("abca").most_common(1), list(itertools.accumulate([1,2,3])), functools.reduce(int.__mul__, [1,2,3,4]))`, `[('a', 2)] [1, 3, 6] 24`},
		{"xml", `import xml.etree.ElementTree as ET; print(ET.fromstring("<a><b>hi</b></a>").find("b").text)`, `hi`},
		{"tempfile", `import tempfile; f = tempfile.NamedTemporaryFile("w", delete=False); f.write("x"); f.close(); print(f.name.startswith("/workspace"))`, `True`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, ip, tc.code)
			if res.Error != nil {
				t.Fatalf("error %+v; stderr:\n%s", res.Error, res.Stderr)
			}
			if got := strings.TrimSpace(res.Stdout); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestInterpreter_Run_notebook(t *testing.T) {
	ip, _ := newInterp(t)
	steps := []struct {
		code, stdout, stderr string
		kind                 runtime.ErrorKind
		exit                 int
	}{
		{code: "x = 40\ndef inc(v):\n    return v + 1", stdout: ""},
		{code: "x = inc(x)\nx + 1", stdout: "42\n"},
		{code: "import math\nmath.pi", stdout: "3.141592653589793\n"},
		{code: "'text'", stdout: "'text'\n"},
		{code: "None", stdout: ""},
		{code: "y = [x]\ny", stdout: "[41]\n"},
		{code: "print('a')\nprint('b', file=__import__('sys').stderr)", stdout: "a\n", stderr: "b\n"},
		{code: "def f():\n    return 1/0\nf()", kind: runtime.ErrException, exit: 1,
			stderr: "Traceback (most recent call last):\n  File \"<cell-8>\", line 3, in <module>\n  File \"<cell-8>\", line 2, in f\nZeroDivisionError: division by zero\n"},
		{code: "x", stdout: "41\n"},
		{code: "input()", kind: runtime.ErrException, exit: 1},
		{code: "import sys\nprint('bye')\nsys.exit(3)", stdout: "bye\n", kind: runtime.ErrExit, exit: 3},
		{code: "x", stdout: "41\n"},
		{code: "import sys; sys.exit()", stdout: ""},
		{code: "raise SystemExit('stopped')", stderr: "stopped\n", kind: runtime.ErrExit, exit: 1},
		{code: "def broken(:\n  pass", kind: runtime.ErrException, exit: 1},
		{code: "import sys; sys.stdout.close()", stdout: ""},
		{code: "print('streams restored')", stdout: "streams restored\n"},
	}
	for i, s := range steps {
		res := run(t, ip, s.code)
		gotKind := runtime.ErrorKind("")
		if res.Error != nil {
			gotKind = res.Error.Kind
		}
		if gotKind != s.kind || res.ExitCode != s.exit {
			t.Fatalf("step %d %q: got kind %q exit %d, want %q %d (stderr %q)", i, s.code, gotKind, res.ExitCode, s.kind, s.exit, res.Stderr)
		}
		if res.Stdout != s.stdout {
			t.Errorf("step %d %q: stdout got %q, want %q", i, s.code, res.Stdout, s.stdout)
		}
		// Tracebacks carry source lines; compare the frame lines only.
		if s.stderr != "" && stripSource(res.Stderr) != s.stderr {
			t.Errorf("step %d %q: stderr got %q, want %q", i, s.code, stripSource(res.Stderr), s.stderr)
		}
		if res.StateReset {
			t.Errorf("step %d: state reset, want kept", i)
		}
	}
}

// stripSource drops the indented source and caret lines of a traceback.
func stripSource(s string) string {
	var out []string
	for _, l := range strings.SplitAfter(s, "\n") {
		if strings.HasPrefix(l, "    ") {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "")
}

func TestInterpreter_Run_exceptionDetails(t *testing.T) {
	ip, _ := newInterp(t)
	res := run(t, ip, "d = {}\nd['missing']")
	if res.Error == nil || res.Error.Kind != runtime.ErrException || res.Error.Type != "KeyError" {
		t.Fatalf("got error %+v, want exception KeyError", res.Error)
	}
	if !strings.Contains(res.Stderr, "line 2") || !strings.Contains(res.Stderr, "d['missing']") {
		t.Errorf("traceback lacks the line and source: %q", res.Stderr)
	}
	if strings.Contains(res.Stderr, "wasmbox_driver") {
		t.Errorf("traceback shows driver frames: %q", res.Stderr)
	}
	res = run(t, ip, "x = (1,\n")
	if res.Error == nil || res.Error.Type != "SyntaxError" || !strings.Contains(res.Stderr, "line 1") {
		t.Errorf("got %+v %q, want a SyntaxError pointing at line 1", res.Error, res.Stderr)
	}
}

// TestInterpreter_Run_cellSources: the source of recent cells stays for tracebacks (a function
// defined earlier shows its line), that of old cells is dropped: a long session does not keep
// every cell it ran (300 cells of 20 KiB would be 6 MiB).
func TestInterpreter_Run_cellSources(t *testing.T) {
	ip, _ := newInterp(t)
	run(t, ip, "def f():\n    raise ValueError('from f')")
	pad := "# " + strings.Repeat("x", 20<<10) + "\n"
	for i := range 300 {
		if res := run(t, ip, pad+fmt.Sprintf("i = %d", i)); res.Error != nil {
			t.Fatalf("cell %d: %+v", i, res.Error)
		}
	}
	res := run(t, ip, "import linecache\nprint(sum(k.startswith('<cell-') for k in linecache.cache), sum(len(''.join(v[2])) for k, v in linecache.cache.items() if k.startswith('<cell-')))")
	var n, size int
	if _, err := fmt.Sscan(res.Stdout, &n, &size); err != nil || n > 256 || size > 4<<20 {
		t.Errorf("cells in linecache: %q (%v), want at most 256 and 4 MiB", res.Stdout, err)
	}
	run(t, ip, "def g():\n    raise ValueError('from g')")
	if res := run(t, ip, "g()"); !strings.Contains(res.Stderr, "raise ValueError('from g')") {
		t.Errorf("a recent cell's function lost its source line: %q", res.Stderr)
	}
	if res := run(t, ip, "f()"); !strings.Contains(res.Stderr, "ValueError: from f") {
		t.Errorf("an old cell's function: %q", res.Stderr)
	}
}

// TestInterpreter_Run_framing attacks the host-driver protocol from user code.
func TestInterpreter_Run_framing(t *testing.T) {
	ip, _ := newInterp(t)
	// Output that looks like control messages is just output.
	fake := `{"id": 2, "status": "ok"}`
	res := run(t, ip, fmt.Sprintf("import os, sys\nm = %q\nprint('%%010d' %% len(m)); print(m)\nos.write(1, b'0000000025\\n' + m.encode())\nos.write(2, m.encode())", fake))
	if res.Error != nil || !strings.Contains(res.Stdout, fake) {
		t.Fatalf("got %+v stdout %q", res.Error, res.Stdout)
	}
	if res := run(t, ip, "print('still fine')"); res.Stdout != "still fine\n" || res.StateReset {
		t.Fatalf("after fake frames: got %+v", res)
	}
	// There is no control file to forge messages on.
	res = run(t, ip, "open('/dev/wasmbox/ctl', 'wb')")
	if res.Error == nil || res.Error.Type != "FileNotFoundError" && res.Error.Type != "PermissionError" {
		t.Fatalf("open of a control file: got %+v %q, want it refused", res.Error, res.Stderr)
	}
	// User code may call the host's services itself: garbage is refused as an exception.
	res = run(t, ip, "kept = 1\nimport _wasmbox\n_wasmbox.call(b'garbage')")
	if res.Error == nil || res.Error.Type != "RuntimeError" || res.StateReset {
		t.Fatalf("garbage to the host's services: got %+v reset=%v, want RuntimeError", res.Error, res.StateReset)
	}
	if res := run(t, ip, "print(kept)"); res.Stdout != "1\n" {
		t.Fatalf("state after refused service: got %+v", res)
	}
	// Code that makes the driver answer for another request breaks the protocol: the
	// interpreter is reset and says so, and the next run works in a fresh one.
	res = run(t, ip, "import json\njson.dumps = lambda *a, **k: '{\"id\": 999, \"status\": \"ok\"}'")
	if res.Error == nil || !res.StateReset {
		t.Fatalf("forged response: got %+v reset=%v, want an error and a reset", res.Error, res.StateReset)
	}
	res = run(t, ip, "print(1 + 1)")
	if res.Error != nil || res.Stdout != "2\n" || !res.StateReset {
		t.Fatalf("run after protocol violation: got %+v %q reset=%v", res.Error, res.Stdout, res.StateReset)
	}
}

func TestInterpreter_isolation(t *testing.T) {
	a, dirA := newInterp(t)
	b, dirB := newInterp(t)
	run(t, a, "secret = 'a-only'\nopen('mine.txt', 'w').write('from a')")
	if _, err := os.Stat(filepath.Join(dirA, "mine.txt")); err != nil {
		t.Fatalf("file not in a's workspace: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dirB, "mine.txt")); err == nil {
		t.Fatal("a's file appeared in b's workspace")
	}
	res := run(t, b, "print('secret' in globals(), __import__('os').listdir('.'))")
	if res.Stdout != "False []\n" {
		t.Errorf("b sees %q, want nothing of a", res.Stdout)
	}
}

// TestInterpreter_confinement tries to reach the host from the guest.
func TestInterpreter_confinement(t *testing.T) {
	t.Setenv("WASMBOX_TEST_SECRET", "hunter2")
	ip, dir := newInterp(t)
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("host secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A symlink planted by someone else (bash, a host bug) that points out of the workspace.
	if err := os.Symlink(outside, filepath.Join(dir, "planted")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "passwd-link")); err != nil {
		t.Fatal(err)
	}
	rel, _ := filepath.Rel(dir, outside)
	attacks := []struct{ name, code string }{
		{"etc passwd", "open('/etc/passwd').read()"},
		{"dotdot walk", "open('../../../../../../etc/passwd').read()"},
		{"dotdot from workspace", "open('/workspace/../../etc/passwd').read()"},
		{"list root", "import os; os.listdir('/')"},
		{"list parent", "import os; os.listdir('..')"},
		{"planted dir symlink", "open('planted/secret.txt').read()"},
		{"planted file symlink", "open('passwd-link').read()"},
		{"relative symlink", "import os; os.symlink('../../../../../../../etc', 'x'); open('x/passwd').read()"},
		{"absolute symlink", "import os; os.symlink('/etc/passwd', 'abs'); open('abs').read()"},
		{"chained symlinks", "import os; os.mkdir('d'); os.symlink('..', 'd/up'); os.symlink('d/up/d/up/..', 'chain'); open('chain/" + rel + "/secret.txt').read()"},
		{"symlink to outside via rel path", "import os; os.symlink(" + fmt.Sprintf("%q", "../"+filepath.Base(outside)) + ", 'sib'); os.listdir('sib')"},
		{"hard link out", "import os; os.link('/etc/passwd', 'hl'); open('hl').read()"},
		{"hard link planted", "import os; os.link('planted/secret.txt', 'hl2'); open('hl2').read()"},
		{"rename out", "open('f', 'w').write('x'); import os; os.rename('f', '../f')"},
		{"rename in", "import os; os.rename('planted/secret.txt', 'stolen.txt'); open('stolen.txt').read()"},
		{"write outside", "open('../evil.txt', 'w').write('x')"},
		{"mkdir outside", "import os; os.mkdir('/tmp/evil')"},
		{"stdlib is read-only", "open('/usr/local/lib/evil', 'w')"},
		{"socket", "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_STREAM); s.connect(('127.0.0.1', 80))"},
		{"stdin", "import sys; print(sys.stdin.read() == '' or 1/0)\ninput()"},
	}
	for _, tc := range attacks {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, ip, tc.code)
			if res.Error == nil {
				t.Fatalf("attack succeeded: stdout %q", res.Stdout)
			}
			if strings.Contains(res.Stdout+res.Stderr, "root:") || strings.Contains(res.Stdout+res.Stderr, "host secret") {
				t.Fatalf("host data leaked: %q %q", res.Stdout, res.Stderr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "evil.txt")); err == nil {
		t.Error("a file was written outside the workspace")
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "secret.txt")); string(b) != "host secret" {
		t.Error("the file outside the workspace was changed or moved")
	}
	res := run(t, ip, "import os; print(sorted(os.environ))")
	if strings.Contains(res.Stdout, "WASMBOX_TEST_SECRET") || strings.Contains(res.Stdout, "PATH") {
		t.Errorf("host environment visible: %s", res.Stdout)
	}
	// Hard links inside the workspace work; symbolic links are never created, with a clear error.
	res = run(t, ip, "import os\nos.makedirs('a/b', exist_ok=True)\nopen('a/b/f.txt', 'w').write('in')\nos.link('a/b/f.txt', 'hard')\nos.rename('hard', 'a/hard')\nprint(open('a/hard').read())")
	if res.Error != nil || res.Stdout != "in\n" {
		t.Errorf("hard links inside the workspace: got %+v %q %q", res.Error, res.Stdout, res.Stderr)
	}
	for _, code := range []string{"import os; os.symlink('a/b/f.txt', 'ok-link')", "import pathlib; pathlib.Path('l').symlink_to('a')"} {
		res = run(t, ip, code)
		if res.Error == nil || !strings.Contains(res.Stderr, "symbolic links are not supported in the workspace") {
			t.Errorf("%s: got %+v %q, want a clear refusal", code, res.Error, res.Stderr)
		}
	}
}

func TestInterpreter_Run_quota(t *testing.T) {
	dir := t.TempDir()
	e, err := New(context.Background(), WithPoolSize(0), WithLimits(runtime.Limits{WorkspaceQuota: 1 << 20}))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(context.Background())
	ip, err := e.New(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ip.Close()
	res := run(t, ip, "open('big', 'wb').write(b'x' * (2 << 20))")
	if res.Error == nil || !strings.Contains(res.Stderr, "quota") {
		t.Fatalf("writing past the quota: got %+v %q", res.Error, res.Stderr)
	}
	res = run(t, ip, "import os; os.remove('big'); open('small', 'wb').write(b'x' * 1000)")
	if res.Error != nil {
		t.Fatalf("writing after freeing space: %+v %q", res.Error, res.Stderr)
	}
}

func TestInterpreter_Run_files(t *testing.T) {
	ip, _ := newInterp(t)
	res := run(t, ip, "import os\nos.makedirs('out', exist_ok=True)\nopen('out/a.txt', 'w').write('hello')")
	if len(res.Files) != 1 || res.Files[0].Path != "out/a.txt" || res.Files[0].Size != 5 {
		t.Errorf("files got %+v, want out/a.txt (5 bytes)", res.Files)
	}
	if res := run(t, ip, "1"); len(res.Files) != 0 {
		t.Errorf("unchanged workspace reports files %+v", res.Files)
	}
}

func TestInterpreter_Run_script(t *testing.T) {
	ip, _ := newInterp(t)
	res, err := ip.Run(t.Context(), runtime.Request{Code: "x = 1\nx + 1", Script: true})
	if err != nil || res.Stdout != "" {
		t.Errorf("script mode shows the last value: %q %v", res.Stdout, err)
	}
	if res := run(t, ip, "x + 1"); res.Stdout != "2\n" {
		t.Errorf("cell mode: %q", res.Stdout)
	}
}

// TestBuildHash: the hash a server passes to its workers (BuildHash) is the one a host computes
// for itself, so workers told it name and check base images and snapshots as they would alone.
func TestBuildHash(t *testing.T) {
	if got, want := BuildHash(), engine(t).host.BuildID(); got != want {
		t.Errorf("BuildHash() = %s, want the engine's own %s", got, want)
	}
}
