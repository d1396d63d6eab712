package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"wasmbox/wasm"
	"wasmbox/worker"
)

// hostileServer is a real `wasmbox serve` with a canary in its environment.
type hostileServer struct {
	t       *testing.T
	url     string
	cmd     *exec.Cmd
	canary  string
	data    string
	timeout time.Duration
	logs    *bytes.Buffer
	logw    *lockedWriter // logs, written by the server's stderr
	uid     int           // the server's uid, -1: the test's
	bin     string        // the binary it runs
	key     string        // an API key info sends, if set
	stop    func()
}

// logged reports whether the server's log holds text, waiting up to 30 s for it: what the
// server wrote before it answered is copied from its stderr by another goroutine, which may
// not have got to it yet on a loaded machine.
func (s *hostileServer) logged(text string) bool {
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if strings.Contains(s.logw.String(), text) {
			return true
		}
		if time.Now().After(end) {
			return false
		}
	}
}

func startHostileServer(t *testing.T, env ...string) *hostileServer {
	t.Helper()
	return startServerIn(t, t.TempDir(), env...)
}

// startServerIn starts `wasmbox serve` on data; it is stopped (SIGTERM) at the test's end or
// by stop.
func startServerIn(t *testing.T, data string, env ...string) *hostileServer {
	t.Helper()
	return startServer(t, data, -1, env...)
}

// startServer starts `wasmbox serve` on data as uid (-1: as the test runs); for another uid,
// the binary and data directory are made reachable for it and its home is inside data.
func startServer(t *testing.T, data string, uid int, env ...string) *hostileServer {
	t.Helper()
	return startServerBin(t, buildBinary(t), data, uid, env...)
}

// startServerBin is startServer with the binary bin (a copy of the built one gives a server
// whose workers can be told from other servers').
func startServerBin(t *testing.T, bin, data string, uid int, env ...string) *hostileServer {
	t.Helper()
	var wrap []string
	if uid >= 0 {
		for _, p := range []string{bin, data} {
			for d := filepath.Dir(p); d != "/" && d != "."; d = filepath.Dir(d) {
				if fi, err := os.Stat(d); err == nil && fi.Mode().Perm()&0o005 != 0o005 {
					os.Chmod(d, fi.Mode().Perm()|0o055)
				}
			}
		}
		home := filepath.Join(data, "home")
		// The compiled python.wasm is copied, so the server need not compile it again.
		if src := wasm.DefaultCacheDir(); src != "" {
			copyTree(filepath.Join(home, ".cache", "wasmbox", "wazero"), src)
		}
		filepath.Walk(data, func(p string, _ os.FileInfo, err error) error {
			if err == nil {
				os.Lchown(p, uid, uid)
			}
			return nil
		})
		wrap = []string{"setpriv", "--reuid=" + strconv.Itoa(uid), "--regid=" + strconv.Itoa(uid), "--clear-groups", "--"}
		env = append(env, "HOME="+home, "XDG_CACHE_HOME="+filepath.Join(home, ".cache"))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &hostileServer{t: t, bin: bin, url: "http://" + addr, canary: "canary" + randHex(8), data: data, timeout: 3 * time.Second, logs: &bytes.Buffer{}, uid: uid}
	args := append(wrap, bin, "serve", "--addr", addr, "--data-dir", s.data)
	s.cmd = exec.Command(args[0], args[1:]...)
	s.cmd.Env = append(os.Environ(), "WASMBOX_SECRET_CANARY="+s.canary, "EXECUTION_TIMEOUT=3", "RATE_LIMIT_PER_MINUTE=0",
		"WASMBOX_POOL_SIZE=2", "MAX_CONCURRENT_EXECUTIONS=16")
	// In cluster mode, the address other replicas forward calls to.
	s.cmd.Env = append(s.cmd.Env, "WASMBOX_REPLICA_URL="+s.url)
	s.cmd.Env = append(s.cmd.Env, env...)
	s.logw = &lockedWriter{w: s.logs}
	s.cmd.Stderr = s.logw
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			s.cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { s.cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
				<-done
			}
			// A graceful shutdown leaves no worker behind.
			if n := len(workerPIDs(bin)); n > 0 {
				t.Errorf("%d worker processes outlived the server", n)
			}
		})
	}
	t.Cleanup(s.stop)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := http.Get(s.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) || s.cmd.ProcessState != nil {
			t.Fatalf("server did not come up: %s", s.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s
}

// copyTree copies the regular files of src into dst (best effort).
func copyTree(dst, src string) {
	filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(src, p)
		if fi.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if b, err := os.ReadFile(p); err == nil && fi.Mode().IsRegular() {
			os.WriteFile(filepath.Join(dst, rel), b, 0o644)
		}
		return nil
	})
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

// String returns what was written so far.
func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// warmSession is a new session whose worker is started and bound (its first run done), so a
// run in it starts at once. A run that found no time left after waiting for a worker on a
// busy machine said nothing ran and to try again, which this does.
func (s *hostileServer) warmSession() string {
	s.t.Helper()
	id := s.session()
	for try := 1; ; try++ {
		r := s.run(id, "python", "0")
		if r.kind() == "ok" {
			return id
		}
		if try == 5 || !strings.Contains(r.raw, "nothing ran") {
			s.t.Fatalf("a first run in a new session: %.400s", r.raw)
		}
	}
}

func (s *hostileServer) session() string {
	s.t.Helper()
	resp, err := http.Post(s.url+"/api/sessions", "application/json", nil)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var info struct {
		ID string `json:"session_id"`
	}
	json.NewDecoder(resp.Body).Decode(&info)
	if info.ID == "" {
		s.t.Fatalf("create session: %d", resp.StatusCode)
	}
	return info.ID
}

type runResult struct {
	Stdout     string `json:"stdout"`
	Stderr     string `json:"stderr"`
	StateReset bool   `json:"state_reset"`
	Error      *struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
	} `json:"error"`
	APIError string `json:"error_message"`
	took     time.Duration
	status   int
	raw      string
}

func (r runResult) kind() string {
	if r.Error == nil {
		return "ok"
	}
	return r.Error.Kind
}

func (s *hostileServer) run(id, lang, code string) runResult {
	r, err := s.tryRun(id, lang, code)
	if err != nil {
		s.t.Errorf("run: %v", err)
	}
	return r
}

// tryRun is run for a server that may be gone: the request's error is returned.
func (s *hostileServer) tryRun(id, lang, code string) (runResult, error) {
	body, _ := json.Marshal(map[string]string{"language": lang, "code": code})
	start := time.Now()
	resp, err := http.Post(s.url+"/api/sessions/"+id+"/run", "application/json", bytes.NewReader(body))
	if err != nil {
		return runResult{}, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	var r runResult
	json.Unmarshal(buf.Bytes(), &r)
	r.took, r.status, r.raw = time.Since(start), resp.StatusCode, buf.String()
	return r, nil
}

// info is the server's /api/info: the languages it runs and its isolation layers.
func (s *hostileServer) info() (langs []string, iso map[string]string) {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.url+"/api/info", nil)
	if s.key != "" {
		req.Header.Set("Authorization", "Bearer "+s.key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		Languages []string          `json:"languages"`
		Isolation map[string]string `json:"isolation"`
	}
	json.NewDecoder(resp.Body).Decode(&v)
	return v.Languages, v.Isolation
}

func (s *hostileServer) delete(id string) {
	req, _ := http.NewRequest(http.MethodDelete, s.url+"/api/sessions/"+id, nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
}

// rssMiB is a process's resident memory.
func rssMiB(pid int) int64 {
	return rssKiB(pid) >> 10
}

// pssKiB is a process's proportional share of resident memory in KiB: pages it shares with
// others count in part, so the sum over processes is what they hold together.
func pssKiB(pid int) int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Pss:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb
		}
	}
	return 0
}

// rssKiB is a process's resident memory in KiB.
func rssKiB(pid int) int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb
		}
	}
	return 0
}

// processesWith lists processes whose command line contains marker.
func processesWith(marker string) []string {
	var out []string
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		b, _ := os.ReadFile("/proc/" + d.Name() + "/cmdline")
		if cmd := strings.ReplaceAll(string(b), "\x00", " "); strings.Contains(cmd, marker) {
			out = append(out, d.Name()+": "+cmd)
		}
	}
	return out
}

func workerPIDs(bin string) []string { return processesWith(bin + " __worker") }

// hostileAttacks are single requests that crashed, hung or escaped an earlier wasmbox. Each
// must end as one of kinds, within the timeout and a margin, and leave the server serving.
func hostileAttacks(escape string) []struct {
	name, lang, code string
	kinds            []string
} {
	return []struct {
		name, lang, code string
		kinds            []string
	}{
		{"python busy loop", "python", "while True: pass", []string{"timeout"}},
		// A run ends when the guest returns from the host's call, not when it says so: a
		// result handed to the host's services does not end it.
		{"python forged reply", "python", `import json, _wasmbox
try:
    _wasmbox.call(json.dumps({"id": 1, "status": "ok"}).encode())
except RuntimeError:
    pass
while True: pass`, []string{"timeout"}},
		{"python memory", "python", "a = bytearray(200 << 20)\nb = bytearray(200 << 20)", []string{"memory"}},
		// Hostile plots: each ends with a clear error or within the run's time and memory
		// limits (with every attack at once on a busy machine, drawing may take longer than the
		// 3 s the runs get: a timeout is such an end); none may crash the interpreter or the worker.
		{"python plot 20000x20000 saved", "python", "import matplotlib.pyplot as plt\nplt.figure(figsize=(200, 200), dpi=100)\nplt.savefig('big.png')", []string{"memory", "timeout"}},
		{"python plot 20000x20000 shown", "python", "import matplotlib.pyplot as plt\nplt.figure(figsize=(200, 200), dpi=100)\nplt.show()", []string{"exception", "timeout"}},
		{"python plot 10^7 points", "python", "import numpy as np, matplotlib.pyplot as plt\nplt.plot(np.random.rand(10**7)); plt.savefig('p.png')", []string{"ok", "memory", "timeout"}},
		{"python plot 4000 subplots", "python", "import matplotlib.pyplot as plt\nfig, axs = plt.subplots(63, 64); fig.savefig('g.png')", []string{"ok", "memory", "timeout"}},
		{"python plot fontsize 1e5", "python", "import matplotlib.pyplot as plt\nplt.text(0.5, 0.5, 'hi', fontsize=1e5); plt.savefig('t.png')", []string{"exception", "timeout"}},
		{"python plot colormap over 10^8", "python", "import numpy as np, matplotlib.pyplot as plt\nplt.imshow(np.zeros((10**4, 10**4)), cmap='viridis'); plt.savefig('i.png')", []string{"memory", "timeout"}},
		{"python plot tiny dpi", "python", "import matplotlib.pyplot as plt\nplt.figure(dpi=0.001); plt.plot([1, 2]); plt.savefig('y.png')", []string{"exception", "timeout"}},
		{"python write outside", "python", "open('/tmp/" + escape + "', 'w').write('x')", []string{"exception"}},
		{"python environment", "python", "import os; print(dict(os.environ))", []string{"ok"}},
		{"javascript parens", "javascript", "(" + strings.Repeat("(", 300000) + "1" + strings.Repeat(")", 300000) + ")", []string{"exception"}},
		{"typescript parens", "typescript", strings.Repeat("(", 400000) + "1" + strings.Repeat(")", 400000), []string{"exception"}},
		{"javascript regex backtracking", "javascript", "/^(?=a)(a+)+$/.test('a'.repeat(36) + '!')", []string{"timeout"}},
		{"javascript replace growth", "javascript", "'a'.repeat(2**27).replace(/a/g, 'bb').length", []string{"timeout", "memory", "crash"}},
		{"javascript bigint power", "javascript", "(BigInt(10) ** BigInt(10**8)).toString().length", []string{"timeout", "memory", "crash"}},
		{"javascript array buffers", "javascript", "const keep = []; for (let i = 0; i < 8; i++) keep.push(new ArrayBuffer(2**30)); keep.length", []string{"memory", "crash", "exception"}},
		{"bash /dev/zero into a variable", "bash", "x=$(< /dev/zero); echo ${#x}", []string{"timeout", "memory", "crash", "exit", "denied"}},
		{"bash fifo read", "bash", "p=$(echo >(true)); read x < \"$p\"", []string{"timeout"}},
		{"bash process substitutions", "bash", "for i in $(seq 900); do echo <(sleep 4243.5) > /dev/null; done; echo done", []string{"ok", "timeout", "denied", "crash", "exit"}},
		{"bash background sleepers", "bash", "sleep 4242.5 & sleep 4242.5 & disown; echo started", []string{"ok", "exit"}},
		{"bash loader on a system binary", "bash", "printf '%s\\0' /lib64/ld-linux-x86-64.so.2 /usr/bin/python3.11 -c 'print(4242*2)' | xargs -0 xargs", []string{"exit", "denied", "ok"}},
		{"bash environment files", "bash", "cat /proc/self/environ /proc/1/environ; echo /proc/$$/environ | xargs cat", []string{"exit", "denied"}},
		{"bash write outside", "bash", "echo x > /tmp/" + escape + "; echo x > ../../" + escape, []string{"exit", "denied"}},
		{"bash xargs -P 0", "bash", "seq 100000 | sed 's/.*/4245.5/' | xargs -P 0 -n 1 sleep", []string{"denied"}},
		// xargs started by xargs escapes the shell's checks: the process bound must hold.
		{"bash fork bomb", "bash", "seq 100000 | sed 's/.*/4245.5/' > list; echo x | xargs -I{} xargs -a list -P 0 -n 1 sleep", []string{"timeout", "exit", "denied", "crash"}},
		// ./setsid is an uploaded copy of the system's (see uploads).
		{"bash setsid daemon through the loader", "bash", "printf '%s\\0' /lib64/ld-linux-x86-64.so.2 ./setsid -f /usr/bin/sleep 4246.5 | xargs -0 xargs; echo started", []string{"ok", "exit"}},
		// ./cat is an uploaded copy of the system's; only a run of it prints 8484.
		{"bash loader on an uploaded program", "bash", "printf '%s%s\\n' 84 84 > m; printf '%s\\0' /lib64/ld-linux-x86-64.so.2 ./cat m | xargs -0 xargs; find . -name m -exec /lib64/ld-linux-x86-64.so.2 ./cat {} \\;", []string{"exit", "denied"}},
		{"bash renice the server", "bash", "printf '%s\\0' /lib64/ld-linux-x86-64.so.2 /usr/bin/renice -n 19 -p $PPID | xargs -0 xargs", []string{"ok", "exit"}},
		{"bash memory of programs", "bash", "for i in $(seq 8); do cat /dev/zero | tail -c 60000000 & done; seq 20 | xargs -P 20 -I{} sort /dev/zero; wait", []string{"ok", "exit", "denied", "memory", "crash", "timeout"}},
		{"bash /mnt/data", "bash", "echo hi > /mnt/data/f; cat /mnt/data/f; ls /mnt/data; cd /mnt/data && cat f && cat /mnt/data/*", []string{"ok"}},
	}
}

// hostileModes are the layer modes the hostile suite runs in: namespaces where they exist,
// Landlock and seccomp only (the host a public Space most likely gives), and that as uid 1000
// when the suite runs as root (the Space's user).
var hostileModes = []struct {
	name string
	uid  int
	env  []string
}{
	{"default layers", -1, nil},
	{"landlock only", -1, []string{"WASMBOX_DISABLE_LAYERS=namespaces"}},
	{"landlock only as uid 1000", 1000, []string{"WASMBOX_DISABLE_LAYERS=namespaces"}},
	{"namespaces as uid 1000", 1000, nil},
}

// TestHostile runs the hostile table against `wasmbox serve` and its workers in each layer
// mode. Each attack must end with an error of its kinds within the timeout + a margin, leak
// nothing, and leave the server serving and a neighbour answering; nothing outlives its run.
func TestHostile(t *testing.T) {
	if testing.Short() {
		t.Skip("hostile suite: skipped under -short")
	}
	for _, mode := range hostileModes {
		t.Run(mode.name, func(t *testing.T) {
			if mode.uid >= 0 {
				if os.Getuid() != 0 {
					t.Skip("needs root to run the server as another uid")
				}
				if _, err := exec.LookPath("setpriv"); err != nil {
					t.Skip("no setpriv")
				}
			}
			s := startServer(t, t.TempDir(), mode.uid, mode.env...)
			if mode.env == nil && worker.NamespacesAvailable() {
				// A server that is not root starts its workers in namespaces too (it must stay
				// dumpable for that: see newBackend).
				if _, iso := s.info(); !strings.HasPrefix(iso["namespaces"], "active") {
					t.Fatalf("namespaces: %q", iso["namespaces"])
				}
			}
			testHostile(t, s)
		})
	}
}

func testHostile(t *testing.T, s *hostileServer) {
	escape := "wasmbox-escape-" + randHex(6)
	nice, _ := unix.Getpriority(unix.PRIO_PROCESS, s.cmd.Process.Pid)
	attacks := hostileAttacks(escape)
	margin := 3 * time.Second // the calls' deadline is the time limit and a 0.5 s grace; the measured worst is logged
	var worst time.Duration
	check := func(name string, r runResult, kinds []string) {
		t.Helper()
		if r.took > worst {
			worst = r.took
		}
		if r.took > s.timeout+margin {
			t.Errorf("%s: took %s, over the %s timeout + %s", name, r.took, s.timeout, margin)
		}
		ok := false
		for _, k := range kinds {
			ok = ok || r.kind() == k
		}
		if !ok {
			t.Errorf("%s: kind %q, want one of %v: %.600s", name, r.kind(), kinds, r.raw)
		}
		if strings.Contains(r.raw, s.canary) {
			t.Errorf("%s: the server's environment leaked: %.300s", name, r.raw)
		}
		if strings.Contains(r.Stdout, "8484") {
			t.Errorf("%s: a program outside the allowlist ran: %q", name, r.Stdout)
		}
	}
	_, iso := s.info()
	t.Logf("processes: %s; memory: %s; descendants: %s; capabilities: %s; exec check: %s", iso["processes"], iso["memory"],
		iso["descendants"], iso["capabilities"], iso["exec_check"])
	if !strings.HasPrefix(iso["namespaces"], "active") && !strings.HasPrefix(iso["exec_check"], "active") {
		t.Errorf("no namespaces and no exec check: the dynamic loader runs uploaded files (%s)", iso["exec_check"])
	}
	watched := map[string]string{"bash fork bomb": "sleep 4245.5", "bash memory of programs": "tail -c 60000000|sort /dev/zero"}
	// uploads are files an attack finds in its workspace, as if uploaded.
	uploads := map[string]string{"bash setsid daemon through the loader": "/usr/bin/setsid", "bash loader on an uploaded program": "/usr/bin/cat"}
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			id := s.warmSession()
			if src := uploads[a.name]; src != "" {
				if b, err := os.ReadFile(src); err == nil {
					ws := filepath.Join(s.data, "sessions", id, "workspace")
					os.MkdirAll(ws, 0o755)
					dst := filepath.Join(ws, filepath.Base(src))
					os.WriteFile(dst, b, 0o644)
					if s.uid >= 0 {
						os.Chown(ws, s.uid, s.uid)
						os.Chown(dst, s.uid, s.uid)
					}
				}
			}
			var r runResult
			if marker := watched[a.name]; marker != "" {
				// How many of its programs existed at once, and their memory.
				done, stop := make(chan struct{}), make(chan struct{})
				var procs int
				var rss int64
				go func() {
					defer close(done)
					for {
						select {
						case <-stop:
							return
						default:
						}
						var left []string
						for _, m := range strings.Split(marker, "|") {
							left = append(left, processesWith(m)...)
						}
						var sum int64
						for _, l := range left {
							if pid, err := strconv.Atoi(strings.SplitN(l, ":", 2)[0]); err == nil {
								sum += pssKiB(pid)
							}
						}
						procs, rss = max(procs, len(left)), max(rss, sum)
						time.Sleep(20 * time.Millisecond)
					}
				}()
				r = s.run(id, a.lang, a.code)
				close(stop)
				<-done
				t.Logf("%s: at most %d of its programs at once, holding at most %d MiB (proportional set size)", a.name, procs, rss>>10)
			} else {
				r = s.run(id, a.lang, a.code)
			}
			check(a.name, r, a.kinds)
			t.Logf("%s: %s in %s", a.name, r.kind(), r.took.Round(time.Millisecond))
			// The session goes on (in a new worker when the old one was stopped). A run that
			// found no time left after waiting for the new worker says nothing ran and to try
			// again, which a client does.
			after := s.run(id, "python", "print(1)")
			if after.kind() == "timeout" && strings.Contains(after.raw, "nothing ran") {
				t.Logf("%s: the next run waited out its time for a worker: %.200s", a.name, after.raw)
				after = s.run(id, "python", "print(1)")
			}
			if after.kind() != "ok" || after.Stdout != "1\n" {
				t.Errorf("%s: the next run: %.400s", a.name, after.raw)
			}
			s.delete(id)
		})
	}

	// Four at once, while a neighbour keeps running print(1).
	t.Run("four at once", func(t *testing.T) {
		picks := []int{0, 9, 13, 12}
		neighbour := s.warmSession()
		stop := make(chan struct{})
		var lat []time.Duration
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				r := s.run(neighbour, "python", "print(1)")
				if r.kind() != "ok" {
					t.Errorf("neighbour: %.300s", r.raw)
				}
				lat = append(lat, r.took)
				time.Sleep(20 * time.Millisecond)
			}
		}()
		var awg sync.WaitGroup
		for _, i := range picks {
			a := attacks[i]
			awg.Add(1)
			id := s.warmSession() // the four attacks start at once, not four workers
			go func() {
				defer awg.Done()
				check("together: "+a.name, s.run(id, a.lang, a.code), a.kinds)
				s.delete(id)
			}()
		}
		awg.Wait()
		close(stop)
		wg.Wait()
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		if len(lat) > 0 {
			p50, p99 := lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)]
			t.Logf("neighbour print(1) during four attacks: %d runs, p50 %s, p99 %s", len(lat), p50.Round(time.Millisecond), p99.Round(time.Millisecond))
			if p99 > 3*time.Second {
				t.Errorf("neighbour p99 %s: the server did not keep serving", p99)
			}
		}
		s.delete(neighbour)
	})

	t.Logf("slowest hostile run: %s (timeout %s)", worst.Round(time.Millisecond), s.timeout)
	if err := s.cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("the server died: %v\n%s", err, s.logs.String())
	}
	rss := rssMiB(s.cmd.Process.Pid)
	t.Logf("server RSS after the attacks: %d MiB", rss)
	if rss > 300 {
		t.Errorf("server RSS %d MiB, want <= 300", rss)
	}
	for _, p := range []string{"/tmp/" + escape, filepath.Join(s.data, escape), filepath.Join(s.data, "sessions", escape)} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("a guest wrote %s", p)
			os.Remove(p)
		}
	}
	// Give killed workers a moment to be reaped, then look for leftovers.
	time.Sleep(500 * time.Millisecond)
	if after, _ := unix.Getpriority(unix.PRIO_PROCESS, s.cmd.Process.Pid); after != nice {
		t.Errorf("the server's priority changed: %d -> %d", nice, after)
	}
	for _, marker := range []string{"sleep 4242.5", "sleep 4243.5", "sleep 4245.5", "sleep 4246.5"} {
		if left := processesWith(marker); len(left) > 0 {
			t.Errorf("processes outlived their run: %v", left)
			for _, l := range left {
				if pid, err := strconv.Atoi(strings.SplitN(l, ":", 2)[0]); err == nil {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
	}
}

// TestServe_layers: where the layers that keep bash programs from the host's files are missing,
// bash is refused with a reason; with Landlock alone (no namespaces) everything still runs.
func TestServe_layers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	t.Run("no landlock, no namespaces", func(t *testing.T) {
		s := startHostileServer(t, "WASMBOX_DISABLE_LAYERS=landlock,namespaces")
		langs, iso := s.info()
		if strings.Contains(strings.Join(langs, " "), "bash") || !strings.HasPrefix(iso["bash"], "refused") {
			t.Errorf("languages %v, bash %q: want bash refused", langs, iso["bash"])
		}
		id := s.session()
		if r := s.run(id, "bash", "echo hi"); r.status < 400 || !strings.Contains(r.raw, "not available") {
			t.Errorf("bash ran: %d %s", r.status, r.raw)
		}
		if r := s.run(id, "python", "print(1)"); r.Stdout != "1\n" {
			t.Errorf("python: %s", r.raw)
		}
	})
	t.Run("explicitly unconfined", func(t *testing.T) {
		s := startHostileServer(t, "WASMBOX_DISABLE_LAYERS=landlock,namespaces", "WASMBOX_BASH_UNCONFINED=1")
		if _, iso := s.info(); !strings.Contains(iso["bash"], "WARNING") {
			t.Errorf("bash layer %q: want a warning", iso["bash"])
		}
		if !s.logged("WASMBOX_BASH_UNCONFINED=1: bash programs run WITHOUT") {
			t.Errorf("no warning logged at start: %s", s.logw.String())
		}
		// Not on a server other people reach: bash is refused there, saying why.
		for _, env := range [][]string{{"WASMBOX_TRUSTED_PROXIES=127.0.0.1/32"}, {"SPACE_ID=owner/space"}, {"WASMBOX_API_KEYS=k1"}} {
			shared := startHostileServer(t, append(env, "WASMBOX_DISABLE_LAYERS=landlock,namespaces", "WASMBOX_BASH_UNCONFINED=1")...)
			if !shared.logged("WASMBOX_BASH_UNCONFINED=1 is ignored because this server is") {
				t.Errorf("%v: no refusal logged: %s", env, shared.logw.String())
			}
			shared.key = strings.TrimPrefix(env[0], "WASMBOX_API_KEYS=") // /api/info needs the key there
			langs, iso := shared.info()
			if slices.Contains(langs, "bash") || !strings.Contains(iso["bash"], "WASMBOX_BASH_UNCONFINED=1 is ignored") {
				t.Errorf("%v: languages %v, bash %q: want bash refused with the reason", env, langs, iso["bash"])
			}
			shared.stop()
		}
		// Programs see neither the server's environment nor the worker's.
		id := s.session()
		server := strconv.Itoa(s.cmd.Process.Pid)
		r := s.run(id, "bash", "env; printenv; echo /proc/1/environ /proc/"+server+"/environ /proc/$PPID/environ | xargs -n1 cat; "+
			"echo /proc/self/environ | xargs cat; cat /proc/"+server+"/environ")
		if strings.Contains(r.raw, s.canary) {
			t.Errorf("the server's environment reached a program: %.500s", r.raw)
		}
	})
	t.Run("landlock without namespaces", func(t *testing.T) {
		s := startHostileServer(t, "WASMBOX_DISABLE_LAYERS=namespaces")
		_, iso := s.info()
		if !strings.HasPrefix(iso["landlock"], "active") {
			t.Skipf("Landlock is not available here: %q", iso["landlock"])
		}
		id := s.session()
		if r := s.run(id, "bash", "echo hi > f; cat f; cat /etc/hostname"); r.Stdout != "hi\n" || r.kind() == "ok" {
			t.Errorf("bash under Landlock alone: %s", r.raw)
		}
		if r := s.run(id, "python", "print(open('f').read(), end='')"); r.Stdout != "hi\n" {
			t.Errorf("python: %s", r.raw)
		}
	})
}
