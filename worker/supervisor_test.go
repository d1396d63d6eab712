package worker_test

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"wasmbox/runtime"
	"wasmbox/runtime/bash"
	"wasmbox/runtime/runtimetest"
	"wasmbox/sessions"
	"wasmbox/wasm"
	"wasmbox/worker"
)

// workspaceDir makes a session directory with a workspace in it, as sessions lays them out:
// the session's snapshot is kept beside its workspace.
func workspaceDir(t testing.TB) string {
	dir := filepath.Join(t.TempDir(), "workspace")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

var (
	imagesOnce sync.Once
	images     string
)

// imageDir is the test binary's shared directory of Python base images: every worker must map
// the same one for snapshots to move between them. TestMain removes it.
func imageDir(t testing.TB) string {
	imagesOnce.Do(func() {
		d, err := os.MkdirTemp("", "wasmbox-worker-images-")
		if err != nil {
			t.Fatal(err)
		}
		images = d
	})
	return images
}

func TestMain(m *testing.M) {
	// A supervisor of the internal tests runs this binary (its default executable) for the
	// exec check's probe, as wasmbox's main answers it.
	if len(os.Args) > 1 && os.Args[1] == worker.ExecProbeCommand {
		os.Exit(worker.ExecProbe(os.Args[2:]))
	}
	if len(os.Args) == 3 && os.Args[1] == abi1Probe {
		os.Exit(landlockABI1(os.Args[2]))
	}
	code := m.Run()
	if images != "" {
		os.RemoveAll(images)
	}
	os.Exit(code)
}

// binary is the wasmbox binary workers run as: make test builds it first.
func binary(t testing.TB) string {
	t.Helper()
	p, _ := filepath.Abs("../bin/wasmbox")
	if v := os.Getenv("WASMBOX_BIN"); v != "" {
		p = v
	}
	if _, err := os.Stat(p); err != nil {
		t.Skipf("no wasmbox binary at %s (run make build): %v", p, err)
	}
	return p
}

func confinement(t testing.TB) worker.Confinement {
	sh, err := bash.New()
	if err != nil {
		t.Fatal(err)
	}
	return worker.Confinement{Landlock: true, Seccomp: true, Executables: sh.Programs()}
}

func newSupervisor(t testing.TB, opts ...worker.Option) *worker.Supervisor {
	t.Helper()
	limits := runtime.DefaultLimits()
	limits.Timeout = 3 * time.Second
	base := []worker.Option{worker.WithExecutable(binary(t)), worker.WithPoolSize(0),
		worker.WithSetup(worker.Setup{Limits: limits, Confine: confinement(t), ImageDir: imageDir(t), CacheDir: wasm.DefaultCacheDir()}),
		worker.WithLanguages(runtime.Python, runtime.JavaScript, runtime.TypeScript, runtime.Bash),
		worker.WithSnapshotStore(sessions.Snapshots{})}
	s, err := worker.New(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		if left := workers(binary(t)); len(left) > 0 {
			t.Errorf("workers left after Close: %v", left)
		}
	})
	return s
}

func open(t testing.TB, s *worker.Supervisor) (runtime.Interpreter, string) {
	t.Helper()
	dir := workspaceDir(t)
	ip, err := s.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ip.Close() })
	return ip, dir
}

func run(t testing.TB, ip runtime.Interpreter, lang runtime.Language, code string) *runtime.Result {
	t.Helper()
	res, err := ip.Run(context.Background(), runtime.Request{Language: lang, Code: code})
	if err != nil {
		t.Fatalf("run %s %q: %v", lang, code, err)
	}
	return res
}

// workers lists the live worker processes of bin.
func workers(bin string) []int {
	var out []int
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, _ := os.ReadFile("/proc/" + d.Name() + "/cmdline")
		if strings.HasPrefix(string(b), bin+"\x00"+worker.Command) {
			if st, _ := os.ReadFile("/proc/" + d.Name() + "/stat"); !strings.Contains(string(st), ") Z ") {
				out = append(out, pid)
			}
		}
	}
	return out
}

// TestSupervisor_onlyItsLanguages: a supervisor for one language starts workers that build
// only that engine (WithLanguages): JavaScript runs, Python is not there.
func TestSupervisor_onlyItsLanguages(t *testing.T) {
	s := newSupervisor(t, worker.WithLanguages(runtime.JavaScript))
	ip, _ := open(t, s)
	if res := run(t, ip, runtime.JavaScript, "console.log(6 * 7)"); res.Stdout != "42\n" {
		t.Fatalf("JavaScript: %+v", res)
	}
	_, err := ip.Run(context.Background(), runtime.Request{Language: runtime.Python, Code: "print(1)"})
	if err == nil || !strings.Contains(err.Error(), "language not available") || !strings.Contains(err.Error(), "available: [javascript]") {
		t.Errorf("Python in a JavaScript worker: %v, want the language refused with javascript the only one available", err)
	}
}

func TestSupervisor_Run_languages(t *testing.T) {
	s := newSupervisor(t)
	ip, dir := open(t, s)
	steps := []struct {
		lang     runtime.Language
		code     string
		stdout   string
		errKind  runtime.ErrorKind
		hasFiles bool
	}{
		{runtime.Python, "x = 6 * 7", "", "", false},
		{runtime.Python, "print(x)", "42\n", "", false},
		{runtime.JavaScript, "let y = 5", "", "", false},
		{runtime.JavaScript, "y * 2", "10\n", "", false},
		{runtime.TypeScript, "const z: number = 3; z", "3\n", "", false},
		{runtime.Bash, "cd /workspace 2>/dev/null; pwd; echo hi > f.txt; wc -c < f.txt", "/workspace\n3\n", "", true},
		{runtime.Python, "print(open('f.txt').read(), end='')", "hi\n", "", false},
		{runtime.Python, "1/0", "", runtime.ErrException, false},
	}
	for i, st := range steps {
		res := run(t, ip, st.lang, st.code)
		kind := runtime.ErrorKind("")
		if res.Error != nil {
			kind = res.Error.Kind
		}
		if res.Stdout != st.stdout || kind != st.errKind || res.StateReset {
			t.Errorf("step %d %s %q: got %q %v reset=%v, want %q %q", i, st.lang, st.code, res.Stdout, res.Error, res.StateReset, st.stdout, st.errKind)
		}
		if st.hasFiles && len(res.Files) != 1 {
			t.Errorf("step %d: files %v", i, res.Files)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "f.txt")); err != nil {
		t.Errorf("bash's file is not in the workspace on the host: %v", err)
	}
	if _, err := ip.Run(context.Background(), runtime.Request{Language: "cobol", Code: "x"}); err == nil {
		t.Error("an unknown language ran")
	}
}

func TestSupervisor_Run_timeoutKillsTheWorker(t *testing.T) {
	s := newSupervisor(t)
	ip, _ := open(t, s)
	run(t, ip, runtime.Python, "x = 1")
	run(t, ip, runtime.JavaScript, "let y = 1")
	for _, code := range []string{"while True: pass", "import time\ntime.sleep(60)"} {
		start := time.Now()
		res := run(t, ip, runtime.Python, code)
		if res.Error == nil || res.Error.Kind != runtime.ErrTimeout || !res.StateReset {
			t.Fatalf("%q: %+v reset=%v, want a timeout that resets state", code, res.Error, res.StateReset)
		}
		if took := time.Since(start); took > 30*time.Second {
			t.Errorf("%q: took %s", code, took)
		}
	}
	res := run(t, ip, runtime.Python, "print('x' in globals())")
	if res.Stdout != "False\n" || !res.StateReset {
		t.Errorf("after the timeout: %q reset=%v, want a fresh interpreter that says so", res.Stdout, res.StateReset)
	}
	// JavaScript's state lived in the same worker: its next run says it was reset.
	if res := run(t, ip, runtime.JavaScript, "typeof y"); res.Stdout != "'undefined'\n" || !res.StateReset {
		t.Errorf("javascript after python's timeout: %q reset=%v", res.Stdout, res.StateReset)
	}
}

func TestSupervisor_Run_killedWorker(t *testing.T) {
	s := newSupervisor(t)
	ip, _ := open(t, s)
	run(t, ip, runtime.Python, "x = 1")
	// As when the OOM killer takes an idle worker: it is gone (reaped) before the next run.
	for _, pid := range workers(binary(t)) {
		syscall.Kill(pid, syscall.SIGKILL)
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err != nil {
				break
			}
		}
	}
	res := run(t, ip, runtime.Python, "print('x' in globals())")
	if res.Stdout != "False\n" || !res.StateReset {
		t.Errorf("after the worker was killed: %q %+v reset=%v, want a fresh interpreter that says so", res.Stdout, res.Error, res.StateReset)
	}
}

func TestSupervisor_StopIdle(t *testing.T) {
	s := newSupervisor(t)
	ip, _ := open(t, s)
	run(t, ip, runtime.Python, "x = 1")
	if st := s.Stats(); st.Bound != 1 {
		t.Fatalf("stats %+v, want one bound worker", st)
	}
	if n := s.StopIdle(0); n != 1 {
		t.Fatalf("StopIdle stopped %d workers, want 1", n)
	}
	if st := s.Stats(); st.Bound != 0 || st.Live != 0 {
		t.Errorf("stats after StopIdle %+v", st)
	}
	// Python's state was saved when the worker stopped, and comes back in the next one.
	res := run(t, ip, runtime.Python, "print('x' in globals())")
	if res.Stdout != "True\n" || res.StateReset || !strings.Contains(res.StateRestored, "snapshot") {
		t.Errorf("after an idle stop: %q reset=%v restored=%q", res.Stdout, res.StateReset, res.StateRestored)
	}
	// A later timeout goes back to that snapshot: x is there, what came after is not.
	run(t, ip, runtime.Python, "y = 2")
	res = run(t, ip, runtime.Python, "while True: pass")
	if res.Error == nil || res.Error.Kind != runtime.ErrTimeout || !strings.Contains(res.Error.Message, "snapshot") {
		t.Fatalf("timeout: %+v, want one that names the snapshot it goes back to", res.Error)
	}
	res = run(t, ip, runtime.Python, "print('x' in globals(), 'y' in globals())")
	if res.Stdout != "True False\n" || res.StateRestored == "" {
		t.Errorf("after the timeout: %q restored=%q, want the snapshot's state", res.Stdout, res.StateRestored)
	}
}

func TestSupervisor_budget(t *testing.T) {
	limits := runtime.DefaultLimits()
	s := newSupervisor(t, worker.WithMemoryBudget(worker.Charge(limits.Memory)+76<<20)) // room for one worker
	a, _ := open(t, s)
	b, _ := open(t, s)
	run(t, a, runtime.Python, "x = 1")
	// b's first run needs a worker: a's, idle, is stopped for it.
	if res := run(t, b, runtime.Python, "print(2)"); res.Stdout != "2\n" {
		t.Fatalf("b: %+v", res)
	}
	// a's Python state was saved when its worker was taken, and comes back.
	if res := run(t, a, runtime.Python, "print('x' in globals())"); res.Stdout != "True\n" || res.StateReset {
		t.Errorf("a after its worker was taken: %q reset=%v", res.Stdout, res.StateReset)
	}
	// While a runs, b cannot get a worker: busy, with a hint.
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Run(context.Background(), runtime.Request{Language: runtime.Python, Code: "import time\ntime.sleep(2)"})
	}()
	time.Sleep(500 * time.Millisecond)
	_, err := b.Run(context.Background(), runtime.Request{Language: runtime.Python, Code: "print(3)"})
	if !errors.Is(err, runtime.ErrBusy) || !strings.Contains(err.Error(), "try again") {
		t.Errorf("b while a runs: %v, want ErrBusy with a retry hint", err)
	}
	<-done
}

// TestSupervisor_heldCharge: with WithHeldCharge, workers are charged what they hold as the
// server measures it (at least WorkerFloor) beside a reserve of the worst case of the runs and freezes that may go on at
// once: a budget that holds three workers at their worst holds five idle ones. A run that
// leaves its worker holding more makes idle workers stop (their state saved) until the charges
// fit again; a stopped session's state comes back on its next run.
func TestSupervisor_heldCharge(t *testing.T) {
	// With namespaces and a memory cgroup per worker (its tree's anonymous memory is read
	// from the cgroup), and with Landlock only and no cgroup, as on a host without user
	// namespaces and without root (the worker process's own, from /proc).
	t.Run("namespaces and cgroups", func(t *testing.T) { testHeldCharge(t, true) })
	t.Run("Landlock only", func(t *testing.T) {
		testHeldCharge(t, false, worker.WithNamespaces(false), worker.WithCgroups(false))
	})
}

// testHeldCharge runs TestSupervisor_heldCharge in a mode; programsCounted says whether bash's
// programs are in the measure (a memory cgroup) or die with their run (a PID namespace).
func testHeldCharge(t *testing.T, programsCounted bool, mode ...worker.Option) {
	limits := runtime.DefaultLimits()
	charge := worker.Charge(limits.Memory)
	const runs, freezes = 1, 2
	reserve := (runs + freezes) * charge
	budget := reserve + 5*worker.WorkerFloor + worker.WorkerFloor/2
	if budget/charge != 3 {
		t.Fatalf("the budget holds %d workers at their worst, want 3", budget/charge)
	}
	s := newSupervisor(t, append([]worker.Option{worker.WithMemoryBudget(budget), worker.WithHeldCharge(runs)}, mode...)...)
	var ips []runtime.Interpreter
	for i := range 5 {
		ip, _ := open(t, s)
		if res := run(t, ip, runtime.Python, fmt.Sprintf("x = %d\nprint(x)", i)); res.Stdout != fmt.Sprint(i, "\n") {
			t.Fatalf("session %d: %q %+v", i, res.Stdout, res.Error)
		}
		ips = append(ips, ip)
		// A new worker is measured with the heap its start left, then again (every two
		// seconds) once it gave that back: an idle worker here is charged the floor.
		for deadline := time.Now().Add(time.Minute); s.Stats().Held > int64(i+1)*worker.WorkerFloor; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("after session %d: %+v, want its workers measured again at the floor", i, s.Stats())
			}
		}
	}
	st := s.Stats()
	if st.Bound != 5 || st.Parking != 0 {
		t.Fatalf("after 5 sessions ran: %+v, want 5 workers bound, none stopped", st)
	}
	if st.Held < 5*worker.WorkerFloor || st.Held > budget-reserve {
		t.Errorf("held %d MiB for 5 idle workers, want between %d and %d MiB", st.Held>>20, 5*worker.WorkerFloor>>20, (budget-reserve)>>20)
	}
	// Session 4 takes 128 MiB: its worker is charged that, and the least recently used idle
	// workers stop until the charges fit the budget again.
	res := run(t, ips[4], runtime.Python, "big = bytearray(128 << 20)\nbig[-1] = 1\nprint(len(big))")
	if res.Stdout != fmt.Sprint(128<<20, "\n") {
		t.Fatalf("big: %q %+v", res.Stdout, res.Error)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		st = s.Stats()
		// The charges fit when the reserve does beside them, or when every worker would fit
		// at its worst.
		if st.Parking == 0 && (st.Held+reserve <= budget || int64(st.Live)*charge <= budget) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the charges never came back within the budget: %+v (reserve %d MiB)", st, reserve>>20)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st.Bound >= 5 || st.Bound < 1 {
		t.Errorf("after session 4 grew: %+v, want some idle workers stopped and session 4's kept", st)
	}
	// The stopped sessions' state comes back (session 0 was the least recently used).
	if res := run(t, ips[0], runtime.Python, "print(x)"); res.Stdout != "0\n" || res.StateReset {
		t.Errorf("session 0 after its worker was stopped: %q reset=%v %+v", res.Stdout, res.StateReset, res.Error)
	}
	if res := run(t, ips[4], runtime.Python, "print(len(big), x)"); res.Stdout != fmt.Sprint(128<<20, " 4\n") {
		t.Errorf("session 4: %q %+v", res.Stdout, res.Error)
	}
	// A session that ran bash: where its programs are neither measured nor ended with the run
	// by a PID namespace, its worker is charged its worst.
	run(t, ips[4], runtime.Bash, "true")
	if held := s.Stats().Held; programsCounted == (held >= charge) {
		t.Errorf("after a bash run: %d MiB charged; programs counted %v, want the worst case (%d MiB) charged only when they are not",
			held>>20, programsCounted, charge>>20)
	}
	// Every charge goes with its worker.
	for _, ip := range ips {
		ip.Close()
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		if st = s.Stats(); st.Live == 0 && st.Parking == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("workers left after every session closed: %+v", st)
		}
	}
	if st.Held != 0 {
		t.Errorf("%d bytes still charged with no worker live", st.Held)
	}
}

func TestSupervisor_pool(t *testing.T) {
	s := newSupervisor(t, worker.WithPoolSize(2))
	deadline := time.Now().Add(2 * time.Minute)
	for s.Stats().Pooled < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("pool never filled: %+v", s.Stats())
		}
		time.Sleep(50 * time.Millisecond)
	}
	ip, _ := open(t, s)
	run(t, ip, runtime.JavaScript, "1")
	if st := s.Stats(); st.Bound != 1 || st.Live > 3 {
		t.Errorf("stats %+v", st)
	}
}

// TestSupervisor_poolGrows: sessions that arrive faster than the pool refills make it grow
// (one worker ready per recent session, up to WithPoolMax), so the next burst finds workers
// started.
func TestSupervisor_poolGrows(t *testing.T) {
	s := newSupervisor(t, worker.WithPoolSize(1), worker.WithPoolMax(3), worker.WithLanguages(runtime.JavaScript))
	for range 4 {
		ip, _ := open(t, s)
		if res := run(t, ip, runtime.JavaScript, "1"); res.Error != nil {
			t.Fatalf("run: %+v", res.Error)
		}
	}
	if st := s.Stats(); st.PoolTarget != 3 {
		t.Errorf("after 4 sessions: pool target %d, want the largest pool, 3", st.PoolTarget)
	}
	for end := time.Now().Add(2 * time.Minute); s.Stats().Pooled < 3; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("the pool did not grow to 3: %+v", s.Stats())
		}
	}
	if st := s.Stats(); st.Live != 4+3 || st.Bound != 4 {
		t.Errorf("stats %+v, want 4 bound and 3 pooled", st)
	}
}

// TestSupervisor_sharedCode: workers that serve Python map python.wasm's machine code from the
// one file the supervisor's Precompile wrote beside the compilation cache (read and execute,
// shared through the page cache), not from private copies or files of their own.
func TestSupervisor_sharedCode(t *testing.T) {
	s := newSupervisor(t)
	dir := filepath.Join(wasm.DefaultCacheDir(), "code")
	written := map[string]bool{} // what Precompile left, before any worker started
	files, _ := os.ReadDir(dir)
	for _, f := range files {
		written[filepath.Join(dir, f.Name())] = true
	}
	for range 2 {
		ip, _ := open(t, s)
		if res := run(t, ip, runtime.Python, "print(1)"); res.Stdout != "1\n" {
			t.Fatalf("run: %q %+v", res.Stdout, res.Error)
		}
	}
	mapped := map[string]int{} // code file -> Python workers mapping it
	python := 0
	for _, pid := range workers(binary(t)) {
		maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
		if err != nil || !strings.Contains(string(maps), "python-image-") {
			continue // gone, not readable, or a worker without Python
		}
		python++
		file := ""
		for _, line := range strings.Split(string(maps), "\n") {
			if f := strings.Fields(line); len(f) >= 6 && f[1] == "r-xp" && strings.HasPrefix(f[5], dir+"/code-") {
				file = f[5]
			}
		}
		if file == "" {
			t.Errorf("worker %d serves Python without mapping its machine code from %s", pid, dir)
			continue
		}
		mapped[file]++
	}
	if python < 2 {
		t.Fatalf("%d workers serving Python found, want the two sessions'", python)
	}
	if len(mapped) != 1 {
		t.Errorf("Python workers map %d code files (%v), want one", len(mapped), mapped)
	}
	// The workers are another binary than this test (bin/wasmbox), so they are given no
	// skeleton and validate python.wasm, and say so (TestServe_workersLoadSkeleton checks a
	// server's own workers, which take the skeleton).
	if sk, va := s.PythonLoads(); sk != 0 || va < 2 {
		t.Errorf("python.wasm loads: %d through the skeleton, %d validated; want 0 and the two sessions' workers", sk, va)
	}
	for f := range mapped {
		if !written[f] {
			t.Errorf("workers map %s, which Precompile did not write", f)
		}
	}
}

// TestSupervisor_escapes: what walked out of the sandbox before, attempted in a worker.
func TestSupervisor_escapes(t *testing.T) {
	s := newSupervisor(t)
	ip, dir := open(t, s)
	elf, err := os.ReadFile("/usr/bin/true")
	if err != nil {
		t.Skip("no /usr/bin/true to upload")
	}
	os.WriteFile(filepath.Join(dir, "up"), elf, 0o755) // an uploaded ELF, executable bit set
	mark := "escaped" + strconv.Itoa(os.Getpid())
	cases := []struct{ name, code string }{
		{"uploaded ELF directly", "./up && echo " + mark},
		{"uploaded ELF through ld.so", "printf '%s\\0' /lib64/ld-linux-x86-64.so.2 ./up | xargs -0 xargs && echo " + mark},
		{"uploaded ELF through xargs", "echo ./up | xargs -I{} {} && echo " + mark},
		{"uploaded ELF through find -exec", "find . -name up -exec {} \\; -exec echo " + mark + " \\;"},
		{"system binary through ld.so", "printf '%s\\0' /lib64/ld-linux-x86-64.so.2 /usr/bin/python3.11 -c 'print(\"" + mark + "\")' | xargs -0 xargs"},
		{"symbolic link out", "ln -s / root && ls root/etc"},
		{"environment", "cat /proc/self/environ; xargs -0 echo < /proc/1/environ"},
		{"host files", "find / -maxdepth 2 -name passwd 2>/dev/null | xargs cat"},
	}
	for _, tc := range cases {
		res := run(t, ip, runtime.Bash, tc.code)
		if strings.Contains(res.Stdout, mark) || strings.Contains(res.Stdout, "root:x:0") {
			t.Errorf("%s: escaped: %q %q", tc.name, res.Stdout, res.Stderr)
		}
	}
	if _, err := os.Lstat(filepath.Join(dir, "root")); err == nil {
		t.Error("a symbolic link was created in the workspace")
	}
}

// TestSupervisor_noSymlinks: no path creates a symbolic link in a workspace, and the direct
// ones say why.
func TestSupervisor_noSymlinks(t *testing.T) {
	s := newSupervisor(t)
	ip, dir := open(t, s)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "up", Typeflag: tar.TypeSymlink, Linkname: "/etc"})
	tw.WriteHeader(&tar.Header{Name: "in", Typeflag: tar.TypeSymlink, Linkname: "f"})
	tw.Close()
	os.WriteFile(filepath.Join(dir, "links.tar"), buf.Bytes(), 0o644)
	os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644)
	for _, tc := range []struct {
		lang      runtime.Language
		code, msg string
	}{
		{runtime.Bash, "ln -s f l1", "symbolic links are not supported in the workspace"},
		{runtime.Bash, "ln --symbolic f l2", "symbolic links are not supported in the workspace"},
		{runtime.Bash, "tar xf links.tar", ""},
		{runtime.Python, "import os; os.symlink('f', 'l3')", "symbolic links are not supported in the workspace"},
	} {
		res := run(t, ip, tc.lang, tc.code)
		if res.OK() || !strings.Contains(res.Stderr, tc.msg) {
			t.Errorf("%s %q: %+v %q, want a refusal saying %q", tc.lang, tc.code, res.Error, res.Stderr, tc.msg)
		}
	}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type()&os.ModeSymlink != 0 {
			t.Errorf("symbolic link in the workspace: %s", p)
		}
		return nil
	})
	if res := run(t, ip, runtime.Bash, "ln f hard && cat hard"); res.Stdout != "x" {
		t.Errorf("hard link: %q %+v", res.Stdout, res.Error)
	}
}

// TestABIProbe: the worker's seccomp filters kill a process that makes i386 or x32 syscalls.
func TestABIProbe(t *testing.T) {
	bin := binary(t)
	if out, err := exec.Command(bin, worker.ABIProbeCommand, "native").CombinedOutput(); err != nil || !strings.Contains(string(out), "survived") {
		t.Fatalf("native syscall under the filter: %v %s", err, out)
	}
	for _, abi := range []string{"i386", "x32"} {
		out, err := exec.Command(bin, worker.ABIProbeCommand, abi).CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 3 {
			t.Logf("%s: %s", abi, out)
			continue
		}
		ws, _ := ee.Sys().(syscall.WaitStatus)
		if ee == nil || !ws.Signaled() || ws.Signal() != syscall.SIGSYS {
			t.Errorf("%s syscall: %v %q, want death by SIGSYS", abi, err, out)
		}
	}
}

// TestABIProbe_denied: a worker's programs may not watch files (inotify, fanotify), renice or
// pin another process, or change another process's limits; on themselves they may. Outside a
// mount namespace they may not change a file's mode or size by its path, only through an fd
// they opened.
func TestABIProbe_denied(t *testing.T) {
	bin := binary(t)
	out, err := exec.Command(bin, worker.ABIProbeCommand, "denied").CombinedOutput()
	if err != nil {
		t.Fatalf("probe: %v %s", err, out)
	}
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if k, v, ok := strings.Cut(l, ": "); ok {
			got[k] = v
		}
	}
	for _, c := range []struct{ call, want string }{
		{"inotify_init1", "operation not permitted"},
		{"fanotify_init", "operation not permitted"},
		{"setpriority parent", "operation not permitted"},
		{"getpriority parent", "operation not permitted"},
		{"sched_setaffinity parent", "operation not permitted"},
		{"prlimit parent", "operation not permitted"},
		{"setpriority self (allowed)", "<nil>"},
		{"prlimit self (allowed)", "<nil>"},
		{"chmod path", "operation not permitted"},
		{"fchmodat path", "operation not permitted"},
		{"truncate path", "operation not permitted"},
		{"fchmod fd (allowed)", "<nil>"},
		{"ftruncate fd (allowed)", "<nil>"},
		{"futimens fd (allowed)", "<nil>"},
		{"size after the calls", ""},
	} {
		if got[c.call] != c.want {
			t.Errorf("%s: got %q, want %q", c.call, got[c.call], c.want)
		}
	}
}

// TestSupervisor_conformance: every language passes the contract's suite behind the worker
// boundary.
func TestSupervisor_conformance(t *testing.T) {
	s := newSupervisor(t, worker.WithPoolSize(2)) // most subtests start a session
	for _, lang := range []runtime.Language{runtime.Python, runtime.JavaScript, runtime.TypeScript, runtime.Bash} {
		t.Run(string(lang), func(t *testing.T) {
			runtimetest.TestInterpreter(t, lang, func(t *testing.T) runtime.Interpreter {
				ip, _ := open(t, s)
				return ip
			})
		})
	}
}

// TestSupervisor_resident: past MAX_RESIDENT_SESSIONS the least recently used idle session is
// frozen, not destroyed: variables, imports and functions survive; JavaScript starts afresh
// and says so.
func TestSupervisor_resident(t *testing.T) {
	s := newSupervisor(t, worker.WithMaxResident(1))
	a, _ := open(t, s)
	b, _ := open(t, s)
	run(t, a, runtime.Python, "import statistics\nx = 42\ndef double(n): return 2 * n")
	run(t, a, runtime.JavaScript, "var j = 1")
	run(t, b, runtime.Python, "z = 'b'")
	if st := s.Stats(); st.Bound != 1 {
		t.Errorf("stats %+v, want one resident session", st)
	}
	res := run(t, a, runtime.Python, "print(x, double(x), statistics.mean([1, 3]))")
	if res.Stdout != "42 84 2\n" || res.StateReset || res.StateRestored == "" {
		t.Errorf("a after being frozen: %q %+v reset=%v restored=%q", res.Stdout, res.Error, res.StateReset, res.StateRestored)
	}
	if res := run(t, a, runtime.JavaScript, "typeof j"); res.Stdout != "'undefined'\n" || !res.StateReset {
		t.Errorf("a's JavaScript after being frozen: %q reset=%v", res.Stdout, res.StateReset)
	}
	if res := run(t, b, runtime.Python, "print(z)"); res.Stdout != "b\n" {
		t.Errorf("b after being frozen: %q", res.Stdout)
	}
}

// TestSupervisor_Close_freezes: a graceful stop saves every session's Python state; a new
// supervisor (a restarted server) continues from it.
func TestSupervisor_Close_freezes(t *testing.T) {
	s := newSupervisor(t)
	dir := workspaceDir(t)
	ip, err := s.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	run(t, ip, runtime.Python, "x = 42")
	s.Close()
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), sessions.SnapshotFile)); err != nil {
		t.Fatalf("no snapshot after Close: %v", err)
	}
	s2 := newSupervisor(t)
	ip2, err := s2.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ip2.Close()
	if res := run(t, ip2, runtime.Python, "print(x)"); res.Stdout != "42\n" || res.StateRestored == "" {
		t.Errorf("after a restart: %q %+v restored=%q", res.Stdout, res.Error, res.StateRestored)
	}
	// A snapshot from another build (or damaged) is refused: state_reset, with the reason.
	os.WriteFile(filepath.Join(filepath.Dir(dir), sessions.SnapshotFile), []byte("WBXSNAP1\x03\x00old..."), 0o600)
	s2.StopIdle(-1)
	os.WriteFile(filepath.Join(filepath.Dir(dir), sessions.SnapshotFile), []byte("WBXSNAP1\x03\x00old..."), 0o600)
	res := run(t, ip2, runtime.Python, "print('x' in globals())")
	if res.Stdout != "False\n" || !res.StateReset || !strings.Contains(res.Stderr, "could not be restored") {
		t.Errorf("after a foreign snapshot: %q reset=%v stderr=%q", res.Stdout, res.StateReset, res.Stderr)
	}
}

// TestSupervisor_freezeRaces: freezes (a resident cap of one), runs and closes of several
// sessions at once; under -race this checks the handles' locking.
func TestSupervisor_freezeRaces(t *testing.T) {
	s := newSupervisor(t, worker.WithMaxResident(1))
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ip, err := s.Open(context.Background(), workspaceDir(t))
			if err != nil {
				t.Error(err)
				return
			}
			defer ip.Close()
			for n := range 4 {
				res, err := ip.Run(context.Background(), runtime.Request{Language: runtime.Python,
					Code: fmt.Sprintf("n = globals().get('n', 0) + 1\nprint(n)")})
				if errors.Is(err, runtime.ErrBusy) {
					continue // all workers in use at that moment
				}
				if err != nil {
					t.Error(err)
					return
				}
				if res.Error != nil {
					t.Errorf("session %d run %d: %+v", i, n, res.Error)
				}
			}
			if i == 0 {
				s.StopIdle(0)
			}
		}()
	}
	wg.Wait()
}

// TestSupervisor_bigState: a Python state of 180 MB (incompressible; the base image already holds 64 MiB of
// the 256 MiB limit: numpy, pandas and matplotlib loaded) is frozen and thawed with
// its variables.
func TestSupervisor_bigState(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 180 MB through a snapshot")
	}
	s := newSupervisor(t)
	ip, dir := open(t, s)
	limits := runtime.DefaultLimits()
	limits.Timeout = 2 * time.Minute // urandom and sha256 of 180 MB in wasm, on a busy machine
	slow := func(code string) *runtime.Result {
		t.Helper()
		res, err := ip.Run(context.Background(), runtime.Request{Language: runtime.Python, Code: code, Limits: limits})
		if err != nil {
			t.Fatalf("run %q: %v", code, err)
		}
		return res
	}
	res := slow("import os, hashlib\nM = 1 << 20\nbig = bytearray(180 * M)\nfor i in range(0, len(big), M): big[i:i+M] = os.urandom(M)\ndigest = hashlib.sha256(big).hexdigest()\nprint(len(big))")
	if res.Stdout != "188743680\n" {
		t.Fatalf("making the state: %q %+v", res.Stdout, res.Error)
	}
	if n := s.StopIdle(0); n != 1 {
		t.Fatalf("StopIdle stopped %d", n)
	}
	fi, err := os.Stat(filepath.Join(filepath.Dir(dir), sessions.SnapshotFile))
	if err != nil {
		t.Fatalf("no snapshot: %v", err)
	}
	t.Logf("snapshot of %d MB", fi.Size()>>20)
	res = slow("print(len(big), hashlib.sha256(big).hexdigest() == digest)")
	if res.Stdout != "188743680 True\n" || res.StateReset {
		t.Errorf("after the freeze: %q %+v reset=%v stderr=%q", res.Stdout, res.Error, res.StateReset, res.Stderr)
	}
}

func openAs(t testing.TB, s *worker.Supervisor, owner string) runtime.Interpreter {
	t.Helper()
	ip, err := s.Open(worker.WithOwner(context.Background(), owner), workspaceDir(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ip.Close() })
	return ip
}

// stuckFlush is Python whose freeze never ends: the driver flushes open files first.
const stuckFlush = "import io\nclass Stuck(io.TextIOWrapper):\n    def flush(self):\n        while True: pass\nstuck = Stuck(io.BytesIO())\nx = 1"

// TestSupervisor_evict_stalledFreeze: when the budget is full, a new session of another owner
// takes an idle worker without waiting for its freeze, which the guest stalls; the freeze is
// abandoned at its deadline and the stalled session's next run says its state was reset, and
// why.
func TestSupervisor_evict_stalledFreeze(t *testing.T) {
	limits := runtime.DefaultLimits()
	s := newSupervisor(t, worker.WithMemoryBudget(worker.Charge(limits.Memory)+76<<20), worker.WithFreezeTimeout(10*time.Second))
	a := openAs(t, s, "a")
	if res := run(t, a, runtime.Python, stuckFlush); res.Error != nil {
		t.Fatalf("a: %+v", res.Error)
	}
	b := openAs(t, s, "b")
	start := time.Now()
	res := run(t, b, runtime.Python, "print('b')")
	took := time.Since(start)
	if res.Stdout != "b\n" {
		t.Fatalf("b: %q %+v", res.Stdout, res.Error)
	}
	if st := s.Stats(); st.Parking != 1 || took > 9*time.Second {
		t.Errorf("b's run took %s with %d workers parking; want it done while a's stalled freeze still runs", took, st.Parking)
	}
	res = run(t, a, runtime.Python, "print('x' in globals())")
	if res.Stdout != "False\n" || !res.StateReset || !strings.Contains(res.Stderr, "did not finish within 10s") {
		t.Errorf("a after its stalled freeze: %q reset=%v stderr=%q, want a reset that says why", res.Stdout, res.StateReset, res.Stderr)
	}
}

// TestSupervisor_thawStall: guest code that runs while a saved state is restored (here a
// replaced random.seed, which the driver calls on waking) is bounded by the run's time limit,
// not a separate one; the snapshot is discarded and the session goes on afresh.
func TestSupervisor_thawStall(t *testing.T) {
	s := newSupervisor(t)
	ip, dir := open(t, s)
	run(t, ip, runtime.Python, "import random\ndef forever(*a, **k):\n    while True: pass\nrandom.seed = forever\nkept = 1")
	if n := s.StopIdle(0); n != 1 {
		t.Fatalf("StopIdle stopped %d", n)
	}
	snap := filepath.Join(filepath.Dir(dir), sessions.SnapshotFile)
	if _, err := os.Stat(snap); err != nil {
		t.Fatalf("no snapshot: %v", err)
	}
	start := time.Now()
	res := run(t, ip, runtime.Python, "print('kept' in globals())")
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("the run took %s with a 3s limit", took)
	}
	if res.Error == nil || res.Error.Kind != runtime.ErrTimeout || !res.StateReset || !strings.Contains(res.Error.Message, "restoring") {
		t.Errorf("got %+v reset=%v, want a timeout of the restore that resets state", res.Error, res.StateReset)
	}
	if _, err := os.Stat(snap); err == nil {
		t.Error("the snapshot that stalled its restore is still there")
	}
	if res := run(t, ip, runtime.Python, "print('kept' in globals())"); res.Stdout != "False\n" {
		t.Errorf("the next run: %q %+v", res.Stdout, res.Error)
	}
}

// TestSupervisor_deadline: a caller whose time ran out before its code could run (here a
// deadline already past: its waits took it) gets a timeout that says nothing ran, within the
// grace, and its code does not run; the session goes on with its state.
func TestSupervisor_deadline(t *testing.T) {
	s := newSupervisor(t)
	ip, _ := open(t, s)
	run(t, ip, runtime.Python, "x = 1")
	for _, fresh := range []bool{false, true} {
		if fresh {
			s.StopIdle(0) // the next run starts a worker and restores x
		}
		start := time.Now()
		res, err := ip.Run(context.Background(), runtime.Request{Language: runtime.Python, Code: "x = 2", Deadline: time.Now().Add(-time.Second)})
		took := time.Since(start)
		if err != nil || res.Error == nil || res.Error.Kind != runtime.ErrTimeout || !strings.Contains(res.Error.Message, "nothing ran") {
			t.Fatalf("fresh=%v: %+v %v, want a timeout before the code ran", fresh, res, err)
		}
		if took > 20*time.Second {
			t.Errorf("fresh=%v: the answer took %s", fresh, took)
		}
		t.Logf("fresh=%v: %s in %s", fresh, res.Error.Message, took.Round(time.Millisecond))
		if res := run(t, ip, runtime.Python, "print(x)"); res.Stdout != "1\n" {
			t.Errorf("fresh=%v: x after the run that did not run: %q %+v", fresh, res.Stdout, res.Error)
		}
	}
}

// TestSupervisor_startGoesOn: a new session's first run whose deadline ends while its worker
// starts answers that nothing ran, and the start goes on into the pool: the retry the answer
// asks for finds the worker there and runs.
func TestSupervisor_startGoesOn(t *testing.T) {
	s := newSupervisor(t) // no pool of its own
	ip, _ := open(t, s)
	res, err := ip.Run(context.Background(), runtime.Request{Language: runtime.Python, Code: "print(1)", Deadline: time.Now().Add(20 * time.Millisecond)})
	if err != nil || res.Error == nil || res.Error.Kind != runtime.ErrTimeout || !strings.Contains(res.Error.Message, "nothing ran") ||
		!strings.Contains(res.Error.Message, "goes on starting") {
		t.Fatalf("%+v %v, want a timeout before the code ran", res, err)
	}
	for end := time.Now().Add(2 * time.Minute); s.Stats().Pooled == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("the start did not reach the pool: %+v", s.Stats())
		}
	}
	if res := run(t, ip, runtime.Python, "print(2)"); res.Stdout != "2\n" {
		t.Fatalf("retry: %q %+v", res.Stdout, res.Error)
	}
	if st := s.Stats(); st.Pooled != 0 || st.Live != 1 {
		t.Errorf("after the retry: %+v, want the pooled worker bound and nothing else", st)
	}
}

// TestSupervisor_thawShort: a restore cut short by the caller's deadline, with less time than
// the run's limit, keeps the snapshot (it is not to blame); one that had the whole limit
// discards it (TestSupervisor_thawStall).
func TestSupervisor_thawShort(t *testing.T) {
	s := newSupervisor(t, worker.WithPoolSize(1))
	ip, dir := open(t, s)
	run(t, ip, runtime.Python, "import random\ndef forever(*a, **k):\n    while True: pass\nrandom.seed = forever\nkept = 1")
	if n := s.StopIdle(0); n != 1 {
		t.Fatalf("StopIdle stopped %d", n)
	}
	snap := filepath.Join(filepath.Dir(dir), sessions.SnapshotFile)
	// A started worker waits in the pool, so the restore has the deadline's time, less than
	// the 3 s limit (and its 0.5 s grace): it is cut short.
	for end := time.Now().Add(2 * time.Minute); s.Stats().Pooled == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("no worker in the pool after 2 minutes")
		}
	}
	res, err := ip.Run(context.Background(), runtime.Request{Language: runtime.Python, Code: "print(1)", Deadline: time.Now().Add(time.Second)})
	if err != nil || res.Error == nil || res.Error.Kind != runtime.ErrTimeout || !strings.Contains(res.Error.Message, "saved state is kept") {
		t.Fatalf("%+v %v, want a timeout that keeps the saved state", res.Error, err)
	}
	if _, err := os.Stat(snap); err != nil {
		t.Errorf("the snapshot of a restore cut short by the caller was removed: %v", err)
	}
}

// TestSupervisor_evict_order: room is made from the owner's own idle workers first, even ones
// holding JavaScript state, before another owner's; another owner's worker holding JavaScript
// or bash state and used in the last minute is never taken (busy instead).
func TestSupervisor_evict_order(t *testing.T) {
	limits := runtime.DefaultLimits()
	s := newSupervisor(t, worker.WithMemoryBudget(2*worker.Charge(limits.Memory)+10<<20)) // two workers
	a1 := openAs(t, s, "a")
	b1 := openAs(t, s, "b")
	run(t, a1, runtime.JavaScript, "var j = 'a1'")
	run(t, b1, runtime.Python, "p = 'b1'")
	time.Sleep(10 * time.Millisecond) // b1 is now the more recently used
	a2 := openAs(t, s, "a")
	run(t, a2, runtime.Python, "print(1)")
	if res := run(t, b1, runtime.Python, "print(p)"); res.Stdout != "b1\n" || res.StateRestored != "" {
		t.Errorf("b's worker was taken for a's session: %q restored=%q", res.Stdout, res.StateRestored)
	}
	if res := run(t, a1, runtime.JavaScript, "typeof j"); !res.StateReset {
		t.Errorf("a1's worker kept: %q, want it the one taken", res.Stdout)
	}
	// b1 and a1 (which takes a2's worker, its own owner's) both hold JavaScript state used
	// just now: a third owner's session finds no worker it may take.
	run(t, b1, runtime.JavaScript, "var k = 1")
	run(t, a1, runtime.JavaScript, "var k = 1")
	c := openAs(t, s, "c")
	if _, err := c.Run(context.Background(), runtime.Request{Language: runtime.Python, Code: "1"}); !errors.Is(err, runtime.ErrBusy) {
		t.Errorf("c with only others' recent JavaScript workers: %v, want busy", err)
	}
}

// TestSupervisor_bigFreezes_heap: four sessions of 180 MB each freeze at once; the server's
// heap stays bounded (the snapshots are streamed to disk, two at a time), and each comes back.
func TestSupervisor_bigFreezes_heap(t *testing.T) {
	if testing.Short() {
		t.Skip("four states of 180 MB")
	}
	s := newSupervisor(t)
	limits := runtime.DefaultLimits()
	limits.Timeout = 3 * time.Minute
	const make180 = "import os, hashlib\nM = 1 << 20\nbig = bytearray(180 * M)\nfor i in range(0, len(big), M): big[i:i+M] = os.urandom(M)\ndigest = hashlib.sha256(big).hexdigest()"
	ips := make([]runtime.Interpreter, 4)
	for i := range ips {
		ips[i], _ = open(t, s)
		res, err := ips[i].Run(context.Background(), runtime.Request{Language: runtime.Python, Code: make180, Limits: limits})
		if err != nil || res.Error != nil {
			t.Fatalf("session %d: %v %+v %+v", i, err, res, res.Error)
		}
	}
	goruntime.GC()
	var before goruntime.MemStats
	goruntime.ReadMemStats(&before)
	rssBefore := rssKiB()
	var peakHeap, peakRSS uint64
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			var ms goruntime.MemStats
			goruntime.ReadMemStats(&ms)
			peakHeap = max(peakHeap, ms.HeapInuse)
			peakRSS = max(peakRSS, rssKiB())
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	if n := s.StopIdle(0); n != 4 {
		t.Fatalf("StopIdle stopped %d, want 4", n)
	}
	close(done)
	<-sampled
	growth := int64(peakHeap) - int64(before.HeapInuse)
	t.Logf("server heap in use %d MiB before, peak %d MiB while four 180 MB states froze; RSS %d MiB before, peak %d MiB",
		before.HeapInuse>>20, peakHeap>>20, rssBefore>>10, peakRSS>>10)
	if growth > 64<<20 {
		t.Errorf("the server's heap grew by %d MiB while freezing, want at most 64", growth>>20)
	}
	for i, ip := range ips {
		res, err := ip.Run(context.Background(), runtime.Request{Language: runtime.Python, Code: "print(hashlib.sha256(big).hexdigest() == digest)", Limits: limits})
		if err != nil || res.Stdout != "True\n" {
			t.Errorf("session %d after the freeze: %v %+v", i, err, res)
		}
	}
}

// rssKiB is this process's resident memory.
func rssKiB() uint64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.ParseUint(f[1], 10, 64)
			return n
		}
	}
	return 0
}

// TestSupervisor_buildMismatch: a worker binary that changed under the running server (an
// upgrade in place) is refused at the handshake with ErrVersion, saying to restart.
func TestSupervisor_buildMismatch(t *testing.T) {
	orig, err := os.ReadFile(binary(t))
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(t.TempDir(), "wasmbox")
	if err := os.WriteFile(exe, orig, 0o755); err != nil {
		t.Fatal(err)
	}
	limits := runtime.DefaultLimits()
	s, err := worker.New(worker.WithExecutable(exe), worker.WithPoolSize(0),
		worker.WithSetup(worker.Setup{Limits: limits, Confine: confinement(t), ImageDir: imageDir(t), CacheDir: wasm.DefaultCacheDir()}),
		worker.WithLanguages(runtime.Python))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// The file is replaced by another build: the same bytes with another build id.
	id := goBuildIDOf(t, orig)
	other := []byte(id)
	other[len(other)-1] ^= 1
	if err := os.WriteFile(exe, bytes.ReplaceAll(orig, []byte(id), other), 0o755); err != nil {
		t.Fatal(err)
	}
	ip, err := s.Open(context.Background(), workspaceDir(t))
	if err != nil {
		t.Fatal(err)
	}
	defer ip.Close()
	_, err = ip.Run(context.Background(), runtime.Request{Language: runtime.Python, Code: "1"})
	if !errors.Is(err, worker.ErrVersion) || !strings.Contains(err.Error(), "restart") {
		t.Errorf("a run on a changed binary: %v, want ErrVersion saying to restart", err)
	}
}

// goBuildIDOf reads the Go build id note of a binary.
func goBuildIDOf(t *testing.T, bin []byte) string {
	ef, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		t.Skipf("not ELF: %v", err)
	}
	sec := ef.Section(".note.go.buildid")
	if sec == nil {
		t.Skip("no Go build id note")
	}
	data, _ := sec.Data()
	descsz := ef.ByteOrder.Uint32(data[4:])
	return string(data[16 : 16+descsz])
}

// killingStore is a snapshot store whose snapshots kill every worker when they are first read:
// a worker that dies while it restores a state.
type killingStore struct {
	sessions.Snapshots
	bin string
}

func (k killingStore) Open(ws string) (io.ReadCloser, time.Time, error) {
	f, saved, err := k.Snapshots.Open(ws)
	if err != nil {
		return nil, saved, err
	}
	return &killingReader{ReadCloser: f, bin: k.bin}, saved, nil
}

type killingReader struct {
	io.ReadCloser
	bin  string
	done bool
}

func (r *killingReader) Read(p []byte) (int, error) {
	if !r.done {
		r.done = true
		for _, pid := range workers(r.bin) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		for deadline := time.Now().Add(10 * time.Second); len(workers(r.bin)) > 0 && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
	}
	return r.ReadCloser.Read(p)
}

// TestSupervisor_thawCrash: a worker that dies while it restores a saved state makes the run a
// crash result that says so; the snapshot, which would kill the next worker too, is discarded,
// and the session goes on afresh.
func TestSupervisor_thawCrash(t *testing.T) {
	s := newSupervisor(t, worker.WithSnapshotStore(killingStore{bin: binary(t)}))
	ip, dir := open(t, s)
	run(t, ip, runtime.Python, "x = 1")
	if n := s.StopIdle(0); n != 1 {
		t.Fatalf("StopIdle stopped %d", n)
	}
	res := run(t, ip, runtime.Python, "print('x' in globals())")
	if res.Error == nil || res.Error.Kind != runtime.ErrCrash || !res.StateReset || !strings.Contains(res.Error.Message, "while restoring") {
		t.Errorf("got %+v reset=%v, want a crash while restoring that resets state", res.Error, res.StateReset)
	} else {
		t.Log(res.Error.Message)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), sessions.SnapshotFile)); err == nil {
		t.Error("the snapshot that killed its worker is still there")
	}
	if res := run(t, ip, runtime.Python, "print('x' in globals())"); res.Stdout != "False\n" || res.Error != nil {
		t.Errorf("the next run: %q %+v", res.Stdout, res.Error)
	}
}

// TestSupervisor_Run_canceled: a caller that gives up while its worker starts, binds or
// restores gets its context's error at once, and no worker is left behind.
func TestSupervisor_Run_canceled(t *testing.T) {
	s := newSupervisor(t)
	ip, _ := open(t, s)
	run(t, ip, runtime.Python, "x = 1")
	s.StopIdle(0) // the next run starts a worker and restores x
	for _, after := range []time.Duration{0, 50 * time.Millisecond, 300 * time.Millisecond} {
		ctx, cancel := context.WithTimeout(context.Background(), after)
		start := time.Now()
		_, err := ip.Run(ctx, runtime.Request{Language: runtime.Python, Code: "import time\ntime.sleep(10)"})
		cancel()
		if took := time.Since(start); took > 8*time.Second {
			t.Errorf("canceled after %s: returned after %s", after, took)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("canceled after %s: %v, want the context's error", after, err)
		}
	}
	if res := run(t, ip, runtime.Python, "print(x)"); res.Stdout != "1\n" {
		t.Errorf("after the canceled runs: %q %+v, want the saved state", res.Stdout, res.Error)
	}
}

const abi1Probe = "landlock-abi1-probe"

// landlockABI1 is TestLandlock_abi1's child: it confines itself with a worker's rules as on
// a kernel with Landlock ABI 1 and prints what it could still do.
func landlockABI1(ws string) int {
	fmt.Printf("check without rules: %v\n", worker.LandlockHolds())
	if err := worker.RestrictAsABI1(ws); err != nil {
		fmt.Println("restrict:", err)
		return 1
	}
	try := func(name string, err error) { fmt.Printf("%s: %v\n", name, err) }
	_, err := os.ReadFile("/etc/passwd")
	try("read /etc/passwd", err)
	_, err = os.ReadDir(filepath.Dir(ws))
	try("list the data directory", err)
	try("write in the workspace", os.WriteFile(filepath.Join(ws, "f"), []byte("x"), 0o644))
	try("mkdir in the workspace", os.Mkdir(filepath.Join(ws, "d"), 0o755))
	try("rename within a directory", os.Rename(filepath.Join(ws, "f"), filepath.Join(ws, "g")))
	return 0
}

// TestLandlock_abi1: on a kernel with Landlock ABI 1 (Linux 5.13 to 5.18, no refer right) a
// worker's rules are enforced, not dropped: best effort drops a ruleset that asks for refer
// there. And the check a worker makes after applying its rules fails where none hold.
func TestLandlock_abi1(t *testing.T) {
	if !worker.LandlockAvailable() {
		t.Skip("no Landlock")
	}
	ws := workspaceDir(t)
	out, err := exec.Command(os.Args[0], abi1Probe, ws).CombinedOutput()
	if err != nil {
		t.Fatalf("probe: %v\n%s", err, out)
	}
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if k, v, ok := strings.Cut(l, ": "); ok {
			got[k] = v
		}
	}
	for _, c := range []struct{ call, want string }{
		{"check without rules", "the rules were not enforced (the root directory is still readable)"},
		{"read /etc/passwd", "open /etc/passwd: permission denied"},
		{"list the data directory", "open " + filepath.Dir(ws) + ": permission denied"},
		{"write in the workspace", "<nil>"},
		{"mkdir in the workspace", "<nil>"},
		{"rename within a directory", "<nil>"},
	} {
		if got[c.call] != c.want {
			t.Errorf("%s: got %q, want %q", c.call, got[c.call], c.want)
		}
	}
}
