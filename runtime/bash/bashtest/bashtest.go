// Package bashtest holds the tables bash is tested with, so that they run both in-process and
// in the worker production uses (in every layer mode): the parity table against real bash, and
// the escape table.
package bashtest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wasmbox/runtime"
)

// Snippets run in wasmbox and in real bash; stdout and exit status must match.
var Snippets = []struct{ Name, Code string }{
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
	{"tar -z", `mkdir t2; echo z > t2/f; tar czf t2.tgz t2; tar -tzf t2.tgz; rm -r t2; tar xzf t2.tgz; cat t2/f; tar -xvf t2.tgz | sort; ` +
		`tar --create --gzip --file=t3.tar.gz t2 && tar tf t3.tar.gz; mkdir out && tar -C out -xzf t2.tgz && cat out/t2/f; ` +
		`tar caf t4.tgz t2 && gzip -t t4.tgz && echo gz; tar -czf - t2 | tar -tzf -; tar xzf missing.tgz 2>/dev/null; echo rc=$?`},
	{"tar and gzip", `mkdir t; echo in > t/f; tar cf - t | gzip > t.tgz; rm -r t; gzip -dc t.tgz | tar xf -; cat t/f; tar tf t.tgz 2>/dev/null; seq 3 | gzip | gunzip | tail -1`},
	{"aliases", "shopt -s expand_aliases\nalias ll='ls -1'\ntouch q\nll q"},
	{"export and env of children", `export GREETING=hi; awk 'BEGIN { print ENVIRON["GREETING"] }'; unset GREETING; awk 'BEGIN { print "[" ENVIRON["GREETING"] "]" }'`},
	{"jq", `echo '{"a":[1,2,{"b":"x"}]}' | jq -c '.a[2]'; echo '[3,1,2]' | jq 'sort | .[0]'`},
	{"trap on exit", `trap 'echo bye' EXIT; echo hi`},
}

// Parity runs every snippet of [Snippets] in real bash and in an interpreter newInterp makes;
// stdout and exit status must match. It skips when bash is not installed.
func Parity(t *testing.T, newInterp func(t *testing.T) (runtime.Interpreter, string)) {
	bashPath, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed: the parity table needs it to compare against")
	}
	_, jqErr := exec.LookPath("jq")
	for _, s := range Snippets {
		t.Run(s.Name, func(t *testing.T) {
			if strings.Contains(s.Code, "jq") && jqErr != nil {
				t.Skip("jq is not installed")
			}
			realDir := t.TempDir()
			cmd := exec.Command(bashPath, "-c", s.Code)
			cmd.Dir = realDir
			cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + realDir, "LANG=C.UTF-8"}
			want, _ := cmd.Output()
			wantCode := cmd.ProcessState.ExitCode()

			ip, _ := newInterp(t)
			res := run(t, ip, s.Code)
			if res.Stdout != string(want) {
				t.Errorf("stdout differs from bash's\n--- wasmbox ---\n%s--- bash ---\n%s--- wasmbox stderr ---\n%s", res.Stdout, want, res.Stderr)
			}
			if res.ExitCode != wantCode {
				t.Errorf("exit code %d, bash %d (stderr %q)", res.ExitCode, wantCode, res.Stderr)
			}
		})
	}
	if len(Snippets) < 40 {
		t.Errorf("only %d snippets, want at least 40", len(Snippets))
	}
}

func run(t *testing.T, ip runtime.Interpreter, code string) *runtime.Result {
	t.Helper()
	res, err := ip.Run(context.Background(), runtime.Request{Code: code, Language: runtime.Bash, Limits: runtime.Limits{Timeout: 20 * time.Second}})
	if err != nil {
		t.Fatalf("Run(%q): %v", code, err)
	}
	return res
}

// Canary is set in the environment of the process running [Escapes]; it must never appear
// in any output.
const Canary = "WASMBOX_CANARY_7f3a9c"

// Escapes tries to get out of the workspace, at host secrets, or onto the network, in an
// interpreter newInterp makes (it returns the interpreter and its workspace's host path). The
// calling process holds [Canary] in its environment, which must never appear in any output.
func Escapes(t *testing.T, newInterp func(t *testing.T) (runtime.Interpreter, string)) {
	t.Setenv("WASMBOX_SECRET", Canary)
	ip, dir := newInterp(t)
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret.txt"), []byte(Canary), 0o600)
	rel, _ := filepath.Rel(dir, outside)
	attacks := []struct{ name, code string }{
		{"cat /etc/passwd", "cat /etc/passwd"},
		{"proc self environ", "cat /proc/self/environ"},
		{"proc 1 environ", "cat /proc/1/environ"},
		{"proc parent environ", "cat /proc/$PPID/environ; cat /proc/self/../$PPID/environ"},
		{"env", "env"},
		{"printenv", "printenv"},
		{"declare", "declare -x; export -p; set | grep -i secret"},
		{"sh -c", "sh -c 'cat /etc/passwd'"},
		{"bash -c", "bash -c env"},
		{"python3 -c", "python3 -c 'import os; print(os.environ)'"},
		{"perl", "perl -e 'print %ENV'"},
		{"absolute program", "/usr/bin/env"},
		{"relative program", "cp /usr/bin/env ./e; ./e"},
		{"command substitution", "echo $(/usr/bin/env)"},
		{"exec builtin", "exec env"},
		{"command builtin", "command env"},
		{"symlink to root", "ln -s / r; cat r/etc/passwd; ls r"},
		{"relative symlink", "ln -s ../../../../../../../.. up; cat up/etc/passwd"},
		{"symlink to secret", "ln -s " + filepath.Join(outside, "secret.txt") + " s; cat s"},
		{"dotdot to secret", "cat " + filepath.Join(rel, "secret.txt")},
		{"cd out", "cd /; cat etc/passwd"},
		{"cd dotdot", "cd ../../..; ls; cat " + filepath.Join(outside, "secret.txt")},
		{"find /", "find / -name passwd -maxdepth 2"},
		{"glob outside", "echo /etc/*; echo " + outside + "/*"},
		{"redirect read", "read l < /etc/passwd; echo \"$l\""},
		{"redirect write", "echo pwned > /tmp/wasmbox-pwned; echo pwned > " + filepath.Join(outside, "x")},
		{"source outside", ". /etc/passwd; source " + filepath.Join(outside, "secret.txt")},
		{"awk getline", `awk 'BEGIN { while ((getline l < "/etc/passwd") > 0) print l }'`},
		{"awk system", `awk 'BEGIN { system("env") }'`},
		{"sed e command", `echo x | sed 'e env'`},
		{"xargs shell", "echo x | xargs sh -c env"},
		{"find exec", "touch f; find . -name f -exec env \\;"},
		{"tar checkpoint action", "touch f; tar cf /dev/null --checkpoint=1 --checkpoint-action=exec=env f"},
		{"LD_PRELOAD", "echo > evil.so; LD_PRELOAD=$PWD/evil.so cat /dev/null; export LD_PRELOAD=$PWD/evil.so; cat evil.so"},
		{"dev tcp", "echo hi > /dev/tcp/127.0.0.1/80; cat < /dev/tcp/127.0.0.1/80"},
		{"network via tools", "wget http://127.0.0.1/; curl http://127.0.0.1/; nc 127.0.0.1 80"},
		{"stat outside", "stat /etc/shadow; du -s /"},
		{"copy outside in", "cp /etc/passwd p; cat p"},
		{"copy out", "echo x > f; cp f " + filepath.Join(outside, "copied")},
	}
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			res := run(t, ip, a.code)
			out := res.Stdout + res.Stderr
			if strings.Contains(out, Canary) {
				t.Fatalf("canary leaked: %q", out)
			}
			if strings.Contains(out, "root:x:0:0") {
				t.Fatalf("/etc/passwd leaked: %q", out)
			}
			if strings.Contains(out, "PATH=") && strings.Contains(out, "HOME=") && strings.Contains(a.code, "env") {
				t.Fatalf("an environment was printed: %q", out)
			}
		})
	}
	for _, p := range []string{"/tmp/wasmbox-pwned", filepath.Join(outside, "x"), filepath.Join(outside, "copied")} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s was written outside the workspace", p)
		}
	}
}
