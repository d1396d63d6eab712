package bash

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wasmbox/runtime"
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

// bashSnippets run in wasmbox and in real bash; stdout and exit status must match.
var bashSnippets = []struct{ name, code string }{
	{"echo and quoting", `echo "a  b" 'c  d' e\ \ f; echo -n no-newline; echo`},
	{"printf", `printf '%s=%d\n' a 1 b 2; printf '%5.2f|%-4s|%x\n' 3.14159 ab 255`},
	{"variables", `x=hello; y="$x world"; echo "$y" ${#y} ${y:0:5} ${y:6}`},
	{"parameter expansion", `f=path/to/file.tar.gz; echo ${f##*/} ${f%%.*} ${f%.*} ${f#*/} ${f/to/TO} ${unset:-default} ${unset:=assigned}; echo $unset`},
	{"case modification", `s=Hello; echo ${s^^} ${s,,} ${s^}`},
	{"arithmetic", `echo $((3 + 4 * 2)) $((17 / 5)) $((17 % 5)) $((2 ** 10)) $(( (1 + 2) << 2 )); i=5; ((i++)); ((i += 10)); echo $i`},
	{"for loop", `for i in 1 2 3; do echo "item $i"; done; for ((i = 0; i < 3; i++)); do printf '%d,' $i; done; echo`},
	{"while and until", `n=0; while [ $n -lt 3 ]; do n=$((n + 1)); done; echo $n; until [ $n -eq 0 ]; do n=$((n - 1)); done; echo $n`},
	{"if elif else", `for v in 1 5 10; do if [ $v -lt 3 ]; then echo small; elif [ $v -lt 7 ]; then echo mid; else echo big; fi; done`},
	{"case", `for w in apple banana cherry; do case $w in a*) echo "A: $w";; b*|c*) echo "BC: $w";; esac; done`},
	{"functions", `greet() { local name=$1; echo "hi $name"; return 3; }; greet bob; echo "status $?"`},
	{"recursion", `fact() { if [ $1 -le 1 ]; then echo 1; else echo $(( $1 * $(fact $(( $1 - 1 ))) )); fi; }; fact 6`},
	{"arrays", `a=(one two three); echo ${a[1]} ${#a[@]} "${a[@]}"; a+=(four); echo ${a[-1]}; for x in "${a[@]}"; do echo -n "$x;"; done; echo`},
	{"associative arrays", `declare -A m; m[x]=1; m[y]=2; echo ${m[x]} ${m[y]}; for k in x y; do echo "$k=${m[$k]}"; done`},
	{"command substitution", `d=$(echo inner | tr a-z A-Z); echo "got $d" "$(echo $(echo nested))"`},
	{"pipelines", `printf 'b\na\nc\na\n' | sort | uniq -c | sort -rn | head -1`},
	{"pipefail", `set -o pipefail; false | true; echo $?`},
	{"here-doc", "cat <<EOF\nline1 $((1+1))\nline2\nEOF\ncat <<'RAW'\n$notexpanded\nRAW"},
	{"here-string", `tr a-z A-Z <<< "shout"; wc -w <<< "one two three"`},
	{"redirections", `echo first > f.txt; echo second >> f.txt; cat f.txt; wc -l < f.txt; echo err 2>/dev/null >&2; echo done`},
	{"stderr redirect", `ls nonexistent-file 2>&1 | wc -l; echo ok`},
	{"globbing", `touch a.txt b.txt c.log; echo *.txt; ls *.log; for f in *.txt; do echo "file $f"; done`},
	{"brace expansion", `echo {a,b,c}-{1,2} {1..5} {01..03}`},
	{"test operators", `touch e; [ -f e ] && echo file; [ -d e ] || echo notdir; [[ abc == a* ]] && echo glob; [[ abc =~ ^a(b)c$ ]] && echo "re ${BASH_REMATCH[1]}"; [ -z "" ] && echo empty`},
	{"exit codes", `true; echo $?; false; echo $?; (exit 7); echo $?`},
	{"set -e", `set -e; echo before; false; echo never`},
	{"subshell isolation", `x=outer; (x=inner; echo $x); echo $x`},
	{"read loop", `printf 'a 1\nb 2\n' | while read k v; do echo "$k=$v"; done`},
	{"IFS splitting", `IFS=, read -r a b c <<< "1,2,3"; echo $c $b $a; line="x:y:z"; IFS=: arr=($line); echo ${arr[1]}`},
	{"string ops", `s="The quick brown fox"; echo ${s//o/0}; words=($s); echo ${#words[@]}; echo "${s:4:5}"`},
	{"seq and awk", `seq 1 5 | awk '{ sum += $1 } END { print "sum", sum, "avg", sum / NR }'`},
	{"sed", `printf 'foo bar\nbaz foo\n' | sed -e 's/foo/qux/g' -e '/baz/d'`},
	{"grep variants", `printf 'apple\nBanana\ncherry\n' > fr.txt; grep -i banana fr.txt; grep -c a fr.txt; egrep '^(a|c)' fr.txt; grep -v e fr.txt; echo rc=$?`},
	{"cut tr sort", `printf 'b:2\na:1\nc:3\n' | sort -t: -k2 -n | cut -d: -f1 | tr '\n' ' '; echo`},
	{"find and xargs", `mkdir -p d/e; touch d/x.txt d/e/y.txt; find d -name '*.txt' | sort | xargs -n1 basename`},
	{"files cp mv rm", `echo data > src; cp src dst; mv dst moved; cat moved; rm src moved; ls src 2>/dev/null || echo removed`},
	{"mkdir and directories", `mkdir -p a/b/c && cd a/b && pwd | tr '/' '\n' | tail -2 && cd - >/dev/null && pwd | sed "s|$HOME|~|"`},
	{"head tail wc", `seq 20 > n.txt; head -3 n.txt; tail -n 2 n.txt; wc -l < n.txt`},
	{"diff and cmp", `printf 'a\nb\n' > x; printf 'a\nc\n' > y; diff x y; echo "diff $?"; cmp -s x x && echo same`},
	{"sha256 base64", `printf 'abc' | sha256sum | cut -c1-16; printf 'hello' | base64; echo aGVsbG8= | base64 -d; echo`},
	{"tar and gzip", `mkdir t; echo in > t/f; tar cf - t | gzip > t.tgz; rm -r t; gzip -dc t.tgz | tar xf -; cat t/f; tar tf t.tgz 2>/dev/null; seq 3 | gzip | gunzip | tail -1`},
	{"aliases", "shopt -s expand_aliases\nalias ll='ls -1'\ntouch q\nll q"},
	{"export and env of children", `export GREETING=hi; awk 'BEGIN { print ENVIRON["GREETING"] }'; unset GREETING; awk 'BEGIN { print "[" ENVIRON["GREETING"] "]" }'`},
	{"jq", `echo '{"a":[1,2,{"b":"x"}]}' | jq -c '.a[2]'; echo '[3,1,2]' | jq 'sort | .[0]'`},
	{"trap on exit", `trap 'echo bye' EXIT; echo hi`},
}

func TestBashParity(t *testing.T) {
	bashPath, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed: the parity table needs it to compare against")
	}
	e, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range bashSnippets {
		t.Run(s.name, func(t *testing.T) {
			if strings.Contains(s.code, "jq") && e.allow["jq"] == "" {
				t.Skip("jq is not installed")
			}
			realDir := t.TempDir()
			cmd := exec.Command(bashPath, "-c", s.code)
			cmd.Dir = realDir
			cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + realDir, "LANG=C.UTF-8"}
			want, _ := cmd.Output()
			wantCode := cmd.ProcessState.ExitCode()

			dir := t.TempDir()
			ip, err := e.New(context.Background(), dir)
			if err != nil {
				t.Fatal(err)
			}
			defer ip.Close()
			res := run(t, ip, s.code)
			if res.Stdout != string(want) {
				t.Errorf("stdout differs from bash's\n--- wasmbox ---\n%s--- bash ---\n%s--- wasmbox stderr ---\n%s", res.Stdout, want, res.Stderr)
			}
			if res.ExitCode != wantCode {
				t.Errorf("exit code %d, bash %d (stderr %q)", res.ExitCode, wantCode, res.Stderr)
			}
		})
	}
	if len(bashSnippets) < 40 {
		t.Errorf("only %d snippets, want at least 40", len(bashSnippets))
	}
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
