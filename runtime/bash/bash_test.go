package bash

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"wasmbox/runtime"
	"wasmbox/runtime/bash/bashtest"
)

func newInterp(t *testing.T, opts ...Option) (runtime.Interpreter, string) {
	t.Helper()
	e, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ip, err := e.New(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ip.Close() })
	return ip, dir
}

func run(t *testing.T, ip runtime.Interpreter, code string, limits ...runtime.Limits) *runtime.Result {
	t.Helper()
	req := runtime.Request{Code: code, Language: runtime.Bash, Limits: runtime.Limits{Timeout: time.Minute}}
	if len(limits) > 0 {
		req.Limits = limits[0]
	}
	res, err := ip.Run(context.Background(), req)
	if err != nil {
		t.Fatalf("Run(%q): %v", code, err)
	}
	return res
}

// TestBashParity: the parity table, in-process (the worker runs it again, see the worker
// package's tests).
func TestBashParity(t *testing.T) {
	bashtest.Parity(t, func(t *testing.T) (runtime.Interpreter, string) { return newInterp(t) })
}

func TestInterpreter_Run_state(t *testing.T) {
	ip, dir := newInterp(t)
	steps := []struct{ code, want string }{
		{`mkdir -p sub; cd sub; X=1; export EXP=exported; f() { echo "f:$1"; }; shopt -s expand_aliases; alias say='echo said'`, ""},
		{`pwd | sed "s|$HOME|~|"; echo $X; f arg; say it; awk 'BEGIN { print ENVIRON["EXP"] }'`, "~/sub\n1\nf:arg\nsaid it\nexported\n"},
		{`cd; pwd | sed "s|$HOME|~|"`, "~\n"},
		{`exit 4`, ""},
		{`echo after exit $X`, "after exit 1\n"},
	}
	for i, s := range steps {
		res := run(t, ip, s.code)
		if res.Stdout != s.want {
			t.Errorf("step %d %q: got %q (stderr %q), want %q", i, s.code, res.Stdout, res.Stderr, s.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "sub")); err != nil {
		t.Errorf("directory not in the workspace: %v", err)
	}
}

// TestInterpreter_workspaceNames: /workspace and /mnt/data name the workspace for builtins,
// redirections, globs, cd and programs, with the same results as its own path.
func TestInterpreter_workspaceNames(t *testing.T) {
	snippets := []string{
		`echo hi > W/f; cat W/f; wc -c < W/f`,
		`echo a > W/a.txt; echo b > W/b.txt; ls W; cat W/*.txt; for f in W/*.txt; do echo "${f##*/}"; done`,
		`mkdir -p W/d/e; touch W/d/e/x; cd W/d && ls && cd e && ls && cd .. && pwd | sed 's#.*/##'`,
		`cd W; echo in > g; cat g; ls -1 | sort`,
		`echo data > W/s; cp W/s W/t; mv W/t W/u; cat W/u; rm W/s; ls W`,
		`echo x > W/k; find W -name k | wc -l; grep -c x W/k; head -c1 W/k; echo; stat -c %s W/k; du -s W >/dev/null && echo du`,
		`echo 1 >> W/n; echo 2 >> W/n; [ -f W/n ] && echo file; test -d W && echo dir; sort -r W/n | tr '\n' ,; echo`,
		`mkdir W/z && tar -C W -cf W/z.tar n 2>/dev/null; echo q > W/z/q; tar -cf W/q.tar -C W/z q && tar -tf W/q.tar`,
		`printf 'p\n' > W/p; xargs -a W/p echo; find W -name p | xargs cat`,
	}
	for i, code := range snippets {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			var want string
			for _, name := range []string{"", "/workspace", "/mnt/data"} {
				ip, dir := newInterp(t)
				w := name
				if w == "" {
					w = dir
				}
				res := run(t, ip, strings.ReplaceAll(code, "W", w))
				got := fmt.Sprintf("exit %d: %s%s", res.ExitCode, strings.ReplaceAll(res.Stdout, dir, "W"), res.Stderr)
				if name == "" {
					want = got
					if res.ExitCode != 0 {
						t.Fatalf("with the workspace's own path: %s", got)
					}
					continue
				}
				if got != want {
					t.Errorf("with %s: got %q, want %q", name, got, want)
				}
			}
		})
	}
	ip, _ := newInterp(t)
	for _, code := range []string{"cat /mnt/dataX/f", "ls /mnt", "cd /mnt/data/..; ls", "cat /workspace/../etc/passwd", "ls /mnt/data/../../etc"} {
		if res := run(t, ip, code); res.ExitCode == 0 || strings.Contains(res.Stdout, "root:") {
			t.Errorf("%s: exit %d, stdout %q: want refused", code, res.ExitCode, res.Stdout)
		}
	}
}

// TestWeight: programs that start others are charged for them; xargs -P is bounded.
func TestWeight(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		want int64
		err  bool
	}{
		{[]string{"cat", "-P", "0"}, 1, false},
		{[]string{"find", ".", "-exec", "cat", "{}", ";"}, 2, false},
		{[]string{"xargs", "cat"}, 2, false},
		{[]string{"xargs", "-P", "4", "cat"}, 5, false},
		{[]string{"xargs", "-P4", "-n", "1", "cat"}, 5, false},
		{[]string{"xargs", "--max-procs=8", "cat"}, 9, false},
		{[]string{"xargs", "-n", "1", "xargs", "-P", "0", "cat"}, 2, false}, // the inner one is not xargs' option
		{[]string{"xargs", "-P", "0", "cat"}, 0, true},
		{[]string{"xargs", "-P", "9", "cat"}, 0, true},
		{[]string{"xargs", "-P", "-1", "cat"}, 0, true},
		{[]string{"xargs", "-P", "x", "cat"}, 0, true},
		{[]string{"xargs", "-P", "99999999999999999999", "cat"}, 0, true},
		{[]string{"xargs", "-P"}, 2, false}, // xargs itself refuses it
	} {
		got, err := weight(tc.argv)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("weight(%q): got %d, %v; want %d, error %v", tc.argv, got, err, tc.want, tc.err)
		}
	}
}

// TestInterpreter_grantMemory: reservations never add up past the memory limit, and a program
// that would get less than the minimum is not started.
func TestInterpreter_grantMemory(t *testing.T) {
	ip := &Interpreter{}
	const memory = 256 << 20
	var total int64
	n := 0
	for {
		limit, reserved, ok := ip.grantMemory(memory, int64(1+n%3))
		if !ok {
			break
		}
		if limit < minProgramMemory || reserved < limit {
			t.Fatalf("grant %d: limit %d, reserved %d", n, limit, reserved)
		}
		total += reserved
		n++
	}
	if total > memory || ip.granted.Load() != total {
		t.Errorf("%d grants reserve %d bytes in all (held %d), over the %d limit", n, total, ip.granted.Load(), memory)
	}
	if n < 5 {
		t.Errorf("only %d programs at once under a 256 MiB limit", n)
	}
	if _, _, ok := (&Interpreter{}).grantMemory(8<<20, 1); ok {
		t.Error("a program was granted less than the minimum")
	}
}

// TestInterpreter_programLimits: started directly (as in a worker), a program gets its run's
// CPU time and a share of the session's memory as limits. (They are set just after the
// program starts: what it starts at once may be forked before, and keeps the worker's.)
func TestInterpreter_programLimits(t *testing.T) {
	ip, _ := newInterp(t, WithDirectExec())
	mark := fmt.Sprintf("%d.75", 4000+os.Getpid()%1000)
	found := make(chan string, 1)
	go func() {
		defer close(found)
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			dirs, _ := os.ReadDir("/proc")
			for _, d := range dirs {
				b, _ := os.ReadFile("/proc/" + d.Name() + "/cmdline")
				if string(b) != "sleep\x00"+mark+"\x00" {
					continue
				}
				l, _ := os.ReadFile("/proc/" + d.Name() + "/limits")
				if strings.Contains(string(l), "Max cpu time              3 ") {
					found <- string(l)
					return
				}
			}
		}
	}()
	run(t, ip, "sleep "+mark, runtime.Limits{Timeout: 2 * time.Second, Memory: 256 << 20})
	limits, ok := <-found
	if !ok {
		t.Fatal("no program with the run's CPU time as its limit")
	}
	var as int64
	for _, l := range strings.Split(limits, "\n") {
		if f := strings.Fields(l); len(f) > 3 && f[1] == "address" {
			as, _ = strconv.ParseInt(f[3], 10, 64)
		}
	}
	if as != 64<<20 {
		t.Errorf("address space of the only program: got %d, want a quarter of 256 MiB", as)
	}
}
