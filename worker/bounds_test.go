package worker_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"wasmbox/runtime"
	"wasmbox/runtime/bash/bashtest"
	"wasmbox/worker"
)

// loader is the dynamic loader of this machine, which runs any readable program: the tests use
// it to get past the allowlist, as an attacker would.
const loader = "/lib64/ld-linux-x86-64.so.2"

// viaLoader is bash code that runs argv through the loader behind two xargs, so that no path
// argument reaches the shell's checks.
func viaLoader(argv ...string) string {
	return "printf '%s\\0' " + loader + " " + strings.Join(argv, " ") + " | xargs -0 xargs 2>&1"
}

// layerModes are the worker designs the tests run against: with namespaces where this user may
// create them, and with Landlock and seccomp only (the host a public Space most likely gives).
func layerModes(t *testing.T) []struct {
	name       string
	namespaces bool
} {
	modes := []struct {
		name       string
		namespaces bool
	}{{"landlock only", false}}
	if worker.NamespacesAvailable() {
		modes = append(modes, struct {
			name       string
			namespaces bool
		}{"namespaces", true})
	}
	return modes
}

// treeCounters finds the cgroup files that count a worker tree's tasks and memory, where the
// workers made cgroups of their own.
func treeCounters() (pids, memory []string) {
	pids, _ = filepath.Glob("/sys/fs/cgroup/pids/*/wasmbox-worker-*/pids.current")
	p2, _ := filepath.Glob("/sys/fs/cgroup/pids/wasmbox-worker-*/pids.current")
	m1, _ := filepath.Glob("/sys/fs/cgroup/memory/*/*/wasmbox-worker-*/memory.max_usage_in_bytes")
	m2, _ := filepath.Glob("/sys/fs/cgroup/memory/wasmbox-worker-*/memory.max_usage_in_bytes")
	return ours(append(pids, p2...)), ours(append(m1, m2...))
}

// ours keeps the counters of this test process's workers (its children): other test packages
// running at the same time start servers whose workers have cgroups of the same name, and other
// limits.
func ours(files []string) []string {
	var kept []string
	for _, f := range files {
		name := filepath.Base(filepath.Dir(f))
		pid, err := strconv.Atoi(strings.TrimPrefix(name, "wasmbox-worker-"))
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so fields count from the last ')'.
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(os.Getpid()) {
			kept = append(kept, f)
		}
	}
	return kept
}

func readInt(path string) int64 {
	b, _ := os.ReadFile(path)
	n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n
}

// TestSupervisor_execCheck: in every layer mode bash runs the allowlisted programs, also when
// find, xargs or tar start them, but never the dynamic loader or a file of the workspace,
// whatever path or program leads there. The file run is an uploaded copy of cat (whose
// libraries programs may read) given a file holding 8484: only a run that worked prints it.
func TestSupervisor_execCheck(t *testing.T) {
	real, err := filepath.EvalSymlinks(loader)
	if err != nil {
		t.Skip("no " + loader)
	}
	up := strings.Repeat("../", 24) // from the workspace, wherever it is, to /
	for _, mode := range layerModes(t) {
		t.Run(mode.name, func(t *testing.T) {
			s := newSupervisor(t, worker.WithNamespaces(mode.namespaces))
			ip, dir := open(t, s)
			b, err := os.ReadFile("/usr/bin/cat")
			if err != nil {
				t.Skip("no /usr/bin/cat")
			}
			os.WriteFile(filepath.Join(dir, "prog"), b, 0o755)
			res := run(t, ip, runtime.Bash, "printf '%s%s\\n' 84 84 > m; echo hi > f; find . -name f -exec cat {} \\; ; "+
				"echo a b | xargs echo; find . -name f -print0 | xargs -0 -n 1 wc -c; tar cf t.tar f && tar tf t.tar")
			if want := "hi\na b\n3 ./f\nf\n"; res.Stdout != want {
				t.Errorf("allowlisted programs started by programs: %q, want %q (%+v)", res.Stdout, want, res.Error)
			}
			check := s.Layers()["exec_check"]
			if !mode.namespaces && !strings.HasPrefix(check, "active") {
				t.Fatalf("exec check: %s", check)
			}
			t.Logf("exec check: %s", check)
			args := " ./prog m"
			denied := 0
			for _, code := range []string{
				viaLoader("./prog", "m"),
				"printf '%s\\0' " + real + args + " | xargs -0 xargs 2>&1",
				"printf '%s\\0' " + up + strings.TrimPrefix(loader, "/") + args + " | xargs -0 xargs 2>&1",
				"printf '%s\\0' /lib64/../lib64/./" + filepath.Base(loader) + args + " | xargs -0 xargs 2>&1",
				"find . -maxdepth 0 -exec " + loader + args + " \\; 2>&1",
				"find . -maxdepth 0 -execdir " + real + args + " \\; 2>&1",
				"printf '%s\\0' ./prog m | xargs -0 xargs 2>&1",
				"find . -name prog -exec {} m \\; 2>&1",
				"cp " + loader + " ld 2>&1; printf '%s\\0' ./ld" + args + " | xargs -0 xargs 2>&1",
				"ln " + real + " ld2 2>&1; printf '%s\\0' ./ld2" + args + " | xargs -0 xargs 2>&1",
				"printf '%s\\0' /proc/self/root" + loader + args + " | xargs -0 xargs 2>&1",
				"printf '%s\\0' /dev/fd/../../.." + loader + args + " | xargs -0 xargs 2>&1",
			} {
				res := run(t, ip, runtime.Bash, code)
				if strings.Contains(res.Stdout+res.Stderr, "8484") {
					t.Errorf("%s: a program outside the allowlist ran: %q", code, res.Stdout)
				}
				if strings.Contains(res.Stdout+res.Stderr, "ermission denied") {
					denied++
				}
			}
			if denied == 0 {
				t.Errorf("no attack was told \"Permission denied\"")
			}
		})
	}
}

// TestSupervisor_bounds: in every layer mode, what a run starts ends with it (setsid daemons
// too, and they write nothing afterwards), a fork bomb stays within the worker's bound and a
// neighbour keeps answering, programs' memory adds up to at most the worker's share, and a
// program cannot set immutable flags, read another workspace, or renice the server.
func TestSupervisor_bounds(t *testing.T) {
	if _, err := os.Stat(loader); err != nil {
		t.Skip("no " + loader)
	}
	for _, mode := range layerModes(t) {
		t.Run(mode.name, func(t *testing.T) {
			// Without the exec check, which would refuse the loader these attacks use: they test
			// the bounds behind it (TestSupervisor_execCheck tests the check).
			s := newSupervisor(t, worker.WithNamespaces(mode.namespaces), worker.WithExecCheck(false))
			ip, dir := open(t, s)
			neighbour, _ := open(t, s)
			if res := run(t, neighbour, runtime.Bash, "echo ok"); res.Stdout != "ok\n" {
				t.Fatalf("neighbour: %+v", res)
			}
			layers := s.Layers()
			t.Logf("processes: %s; memory: %s", layers["processes"], layers["memory"])

			t.Run("setsid daemon", func(t *testing.T) {
				// Uploaded copies of setsid and dd, run through the loader (which runs any file
				// it can read, and the workspace is readable).
				for _, p := range []string{"setsid", "dd"} {
					if b, err := os.ReadFile("/usr/bin/" + p); err == nil {
						os.WriteFile(filepath.Join(dir, p), b, 0o644)
					}
				}
				mark := strconv.Itoa(4000+os.Getpid()%1000) + ".25"
				code := viaLoader("./setsid", "-f", loader, "./dd", "if=/dev/zero", "of=grow", "bs=1", "count=100000000") + "; " +
					viaLoader("./setsid", "-f", "/usr/bin/sleep", mark) + "; sleep 0.3; echo done"
				res := run(t, ip, runtime.Bash, code)
				if res.Stdout == "" || !strings.Contains(res.Stdout, "done") {
					t.Errorf("run: %q %+v", res.Stdout, res.Error)
				}
				time.Sleep(200 * time.Millisecond)
				if left := processesWith("sleep " + mark); len(left) > 0 {
					t.Errorf("a setsid daemon outlived its run: %v", left)
					for _, p := range left {
						unix.Kill(p, unix.SIGKILL)
					}
				}
				fi, err := os.Stat(filepath.Join(dir, "grow"))
				if err != nil {
					t.Logf("the daemon did not start: %q", res.Stdout)
					return
				}
				time.Sleep(300 * time.Millisecond)
				if fi2, _ := os.Stat(filepath.Join(dir, "grow")); fi2.Size() != fi.Size() {
					t.Errorf("a file grew after the run: %d -> %d bytes", fi.Size(), fi2.Size())
				}
				os.Remove(filepath.Join(dir, "grow"))
			})

			t.Run("capabilities", func(t *testing.T) {
				os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644)
				res := run(t, ip, runtime.Bash, viaLoader("/usr/bin/chattr", "+i", "f"))
				f, err := os.Open(filepath.Join(dir, "f"))
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				flags, err := unix.IoctlGetUint32(int(f.Fd()), unix.FS_IOC_GETFLAGS)
				if err == nil && flags&0x10 != 0 { // FS_IMMUTABLE_FL
					t.Errorf("a program made a workspace file immutable: %q", res.Stdout)
					unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, int(flags&^0x10))
				}
			})

			t.Run("another workspace", func(t *testing.T) {
				other := workspaceDir(t)
				os.WriteFile(filepath.Join(other, "secret"), []byte("s3cret"), 0o644)
				os.WriteFile(filepath.Join(other, "..", "listed-entry"), nil, 0o644)
				res := run(t, ip, runtime.Bash, "echo "+filepath.Join(other, "secret")+" | xargs cat; "+viaLoader("/usr/bin/cat", filepath.Join(other, "secret"))+"; "+viaLoader("/usr/bin/ls", filepath.Dir(other)))
				if strings.Contains(res.Stdout, "s3cret") || strings.Contains(res.Stdout, "listed-entry") {
					t.Errorf("another workspace was read: %q", res.Stdout)
				}
			})

			t.Run("renice the server", func(t *testing.T) {
				before, _ := unix.Getpriority(unix.PRIO_PROCESS, os.Getpid())
				run(t, ip, runtime.Bash, viaLoader("/usr/bin/renice", "-n", "19", "-p", strconv.Itoa(os.Getpid())))
				if after, _ := unix.Getpriority(unix.PRIO_PROCESS, os.Getpid()); after != before {
					t.Errorf("the server's priority changed: %d -> %d", before, after)
					unix.Setpriority(unix.PRIO_PROCESS, os.Getpid(), 20-before)
				}
			})

			t.Run("fork bomb", func(t *testing.T) {
				var worst int64
				stop := make(chan struct{})
				var wg sync.WaitGroup
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						case <-time.After(50 * time.Millisecond):
						}
						pids, _ := treeCounters()
						for _, p := range pids {
							worst = max(worst, readInt(p))
						}
					}
				}()
				start := time.Now()
				// A duration no other process on the machine sleeps: leftovers are found by it.
				mark := fmt.Sprintf("2.%05d", os.Getpid()%100000)
				res := run(t, ip, runtime.Bash, "seq 100000 | sed 's/.*/"+mark+"/' > list; echo x | xargs -I{} xargs -a list -P 0 -n 1 sleep")
				took := time.Since(start)
				close(stop)
				wg.Wait()
				if res.Error == nil || took > 3*time.Second+3*time.Second {
					t.Errorf("fork bomb: %+v after %s, want an error within the timeout + 3 s", res.Error, took)
				}
				if got := run(t, neighbour, runtime.Bash, "echo ok"); got.Stdout != "ok\n" {
					t.Errorf("neighbour after the fork bomb: %+v", got)
				}
				if strings.Contains(layers["processes"], "pids cgroup") && !strings.Contains(res.Stderr, "reached the limit of") {
					t.Errorf("the run does not say it reached the process limit: %q", res.Stderr)
				}
				t.Logf("fork bomb: %s after %s; most tasks in one worker's cgroup: %d (bound %d)", res.Error.Kind, took.Round(time.Millisecond), worst, worker.MaxWorkerTasks)
				if worst > worker.MaxWorkerTasks {
					t.Errorf("a worker's tree reached %d tasks, over its bound of %d", worst, worker.MaxWorkerTasks)
				}
				time.Sleep(2500 * time.Millisecond)
				if left := processesWith("sleep " + mark); len(left) > 0 {
					t.Errorf("%d programs outlived the fork bomb's run", len(left))
					for _, p := range left {
						unix.Kill(p, unix.SIGKILL)
					}
				}
			})

			t.Run("memory of programs", func(t *testing.T) {
				res := run(t, ip, runtime.Bash, "for i in $(seq 12); do sleep 1 & done; wait; echo done")
				if !strings.Contains(res.Stderr, "not started") {
					t.Errorf("twelve programs at once all got memory: %q", res.Stderr)
				}
				res = run(t, ip, runtime.Bash, "for i in $(seq 6); do sort /dev/zero > /dev/null & done; seq 20 | xargs -P 20 -I{} sort /dev/zero; wait; echo done")
				if !strings.Contains(res.Stdout, "done") && res.Error == nil {
					t.Errorf("run: %+v", res)
				}
				// The trees of this supervisor's workers: other tests of this package start
				// workers with other limits, which may be alive too. Their cgroup allows twice
				// the guests' memory limit and the worker's 224 MiB (the page cache of the base
				// image and of what programs read counts too).
				_, mem := treeCounters()
				limit := 2*runtime.DefaultLimits().Memory + 224<<20
				var worst int64
				trees := 0
				for _, m := range mem {
					if readInt(filepath.Join(filepath.Dir(m), "memory.limit_in_bytes")) == limit {
						worst = max(worst, readInt(m))
						trees++
					}
				}
				t.Logf("memory of programs: most used by one of %d workers' trees: %d MiB", trees, worst>>20)
				if trees == 0 && len(mem) > 0 {
					t.Errorf("no worker's memory cgroup has the limit %d MiB", limit>>20)
				}
				if worst > limit {
					t.Errorf("a worker's tree used %d MiB, over its %d MiB", worst>>20, limit>>20)
				}
			})
		})
	}
}

// processesWith lists the live processes whose command line contains marker.
func processesWith(marker string) []int {
	var out []int
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, _ := os.ReadFile("/proc/" + d.Name() + "/cmdline")
		if strings.Contains(strings.ReplaceAll(string(b), "\x00", " "), marker) {
			if st, _ := os.ReadFile("/proc/" + d.Name() + "/stat"); !strings.Contains(string(st), ") Z ") {
				out = append(out, pid)
			}
		}
	}
	return out
}

// TestSupervisor_bashTables: bash's parity and escape tables, against the worker production
// uses, in every layer mode.
func TestSupervisor_bashTables(t *testing.T) {
	for _, mode := range layerModes(t) {
		t.Run(mode.name, func(t *testing.T) {
			s := newSupervisor(t, worker.WithNamespaces(mode.namespaces))
			newInterp := func(t *testing.T) (runtime.Interpreter, string) { return open(t, s) }
			t.Run("parity", func(t *testing.T) { bashtest.Parity(t, newInterp) })
			t.Run("escapes", func(t *testing.T) { bashtest.Escapes(t, newInterp) })
		})
	}
}

// TestSupervisor_killedWorker_leavesNothing: when a worker dies in the middle of a run, what
// its programs started dies too, in every layer mode (a PID namespace; else the worker's
// cgroups, or its session).
func TestSupervisor_killedWorker_leavesNothing(t *testing.T) {
	for _, mode := range layerModes(t) {
		t.Run(mode.name, func(t *testing.T) {
			s := newSupervisor(t, worker.WithNamespaces(mode.namespaces))
			ip, _ := open(t, s)
			before := map[int]bool{}
			for _, p := range workers(binary(t)) {
				before[p] = true
			}
			run(t, ip, runtime.Bash, "echo warm")
			mark := fmt.Sprintf("3.%05d", os.Getpid()%100000)
			done := make(chan *runtime.Result, 1)
			go func() {
				res, _ := ip.Run(context.Background(), runtime.Request{Language: runtime.Bash,
					Code: "seq 4 | sed 's/.*/" + mark + "/' > list; echo x | xargs -I{} xargs -a list -P 4 -n 1 sleep"})
				done <- res
			}()
			deadline := time.Now().Add(10 * time.Second)
			for len(processesWith("sleep "+mark)) < 4 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if n := len(processesWith("sleep " + mark)); n < 4 {
				t.Fatalf("%d sleepers started, want 4", n)
			}
			killed := 0
			for _, p := range workers(binary(t)) {
				if !before[p] {
					unix.Kill(p, unix.SIGKILL) // the session's worker: the one started for it
					killed++
				}
			}
			if res := <-done; killed != 1 || res == nil || res.Error == nil || res.Error.Kind != runtime.ErrCrash {
				t.Fatalf("killed %d workers; the run: %+v, want a crash", killed, res)
			}
			time.Sleep(1500 * time.Millisecond)
			if left := processesWith("sleep " + mark); len(left) > 0 {
				t.Errorf("%d programs outlived their killed worker", len(left))
				for _, p := range left {
					unix.Kill(p, unix.SIGKILL)
				}
			}
		})
	}
}

// TestSupervisor_forkBound: where the supervisor can make no cgroup and there is no user
// namespace, or one whose uid is root on the host (as root, RLIMIT_NPROC does not apply), the
// server's count of each worker's programs at every fork bounds a fork bomb, and a neighbour
// keeps answering.
func TestSupervisor_forkBound(t *testing.T) {
	t.Run("landlock_only", func(t *testing.T) { testForkBound(t, false) })
	t.Run("namespaces", func(t *testing.T) {
		if os.Geteuid() != 0 || !worker.NamespacesAvailable() {
			t.Skip("needs root and user namespaces (a worker of another uid is bound by RLIMIT_NPROC in its user namespace)")
		}
		testForkBound(t, true)
	})
}

func testForkBound(t *testing.T, namespaces bool) {
	s := newSupervisor(t, worker.WithNamespaces(namespaces), worker.WithCgroups(false))
	ip, _ := open(t, s)
	neighbour, _ := open(t, s)
	if res := run(t, neighbour, runtime.Bash, "echo ok"); res.Stdout != "ok\n" {
		t.Fatalf("neighbour: %+v", res)
	}
	layers := s.Layers()
	if !strings.Contains(layers["processes"], "the server refuses a program's fork") {
		t.Fatalf("processes: %s", layers["processes"])
	}
	t.Logf("processes: %s", layers["processes"])
	var worst int
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			for _, w := range workers(binary(t)) {
				worst = max(worst, descendants(w))
			}
		}
	}()
	mark := fmt.Sprintf("3.%05d", os.Getpid()%100000)
	start := time.Now()
	// Every fork is a round trip to the server: on a loaded machine the bomb needs seconds to
	// reach the bound, which it must within its time limit.
	limits := runtime.DefaultLimits()
	limits.Timeout = 10 * time.Second
	res, err := ip.Run(context.Background(), runtime.Request{Language: runtime.Bash, Limits: limits,
		Code: "seq 100000 | sed 's/.*/" + mark + "/' > list; echo x | xargs -I{} xargs -a list -P 0 -n 1 sleep"})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	close(stop)
	wg.Wait()
	t.Logf("fork bomb: %+v after %s; most programs of one worker: %d (bound %d)", res.Error, took.Round(time.Millisecond), worst, worker.MaxProcesses)
	if res.Error == nil || took > limits.Timeout+10*time.Second {
		t.Errorf("fork bomb: %+v after %s, want an error within the timeout + 10 s", res.Error, took)
	}
	// A fork let through just before a count may not be in it yet: a few over, never many.
	if worst > worker.MaxProcesses+8 {
		t.Errorf("a worker's programs reached %d processes, over the bound of %d", worst, worker.MaxProcesses)
	}
	if !strings.Contains(res.Stderr, "reached the limit of") {
		t.Errorf("the run does not say it reached the process limit: %q", res.Stderr)
	}
	if got := run(t, neighbour, runtime.Bash, "echo ok"); got.Stdout != "ok\n" {
		t.Errorf("neighbour after the fork bomb: %+v", got)
	}
	time.Sleep(500 * time.Millisecond)
	if left := processesWith("sleep " + mark); len(left) > 0 {
		t.Errorf("%d programs outlived the fork bomb's run", len(left))
		for _, p := range left {
			unix.Kill(p, unix.SIGKILL)
		}
	}
}

// descendants counts the processes below pid, from /proc.
func descendants(pid int) int {
	n := 0
	for queue := []int{pid}; len(queue) > 0; queue = queue[1:] {
		p := strconv.Itoa(queue[0])
		tasks, _ := os.ReadDir("/proc/" + p + "/task")
		for _, task := range tasks {
			b, _ := os.ReadFile("/proc/" + p + "/task/" + task.Name() + "/children")
			for _, f := range strings.Fields(string(b)) {
				if c, err := strconv.Atoi(f); err == nil {
					n++
					queue = append(queue, c)
				}
			}
		}
	}
	return n
}

// BenchmarkSupervisor_programStarts: what the exec check costs a run that starts programs, in
// Landlock-only mode: off; on, with a pids cgroup (the server answers each execve); on without
// one (it answers each fork too, and counts). xargs starts 20 echo processes, besides the
// shell's own start of seq and xargs.
func BenchmarkSupervisor_programStarts(b *testing.B) {
	for _, c := range []struct {
		name           string
		check, cgroups bool
	}{{"off", false, true}, {"execs", true, true}, {"execs+forks", true, false}} {
		b.Run(c.name, func(b *testing.B) {
			s := newSupervisor(b, worker.WithNamespaces(false), worker.WithExecCheck(c.check), worker.WithCgroups(c.cgroups))
			ip, _ := open(b, s)
			code := "seq 20 | xargs -n 1 echo > /dev/null; echo done"
			if res := run(b, ip, runtime.Bash, code); res.Stdout != "done\n" {
				b.Fatalf("%+v", res)
			}
			b.ResetTimer()
			for b.Loop() {
				run(b, ip, runtime.Bash, code)
			}
		})
	}
}

// BenchmarkSupervisor_chmods: cp -a of a tree of 200 directories sets each one's mode by its
// path: directly in a mount namespace, through the server's guard without one.
func BenchmarkSupervisor_chmods(b *testing.B) {
	for _, c := range []struct {
		name       string
		namespaces bool
	}{{"landlock only (guard)", false}, {"namespaces (direct)", true}} {
		b.Run(c.name, func(b *testing.B) {
			if c.namespaces && !worker.NamespacesAvailable() {
				b.Skip("no user namespaces")
			}
			s := newSupervisor(b, worker.WithNamespaces(c.namespaces))
			ip, _ := open(b, s)
			if res := run(b, ip, runtime.Bash, "seq 200 | sed 's|^|tree/d|' | xargs mkdir -p && echo ok"); res.Stdout != "ok\n" {
				b.Fatalf("%+v", res)
			}
			code := "rm -rf copy && cp -a tree copy && echo done"
			b.ResetTimer()
			for b.Loop() {
				if res := run(b, ip, runtime.Bash, code); res.Stdout != "done\n" {
					b.Fatalf("%+v", res)
				}
			}
		})
	}
}

// TestSupervisor_hostMetadata: in every layer mode a program cannot change the mode or size of
// a file outside its workspace (Landlock does not mediate chmod or, before ABI 3, truncate;
// without a mount namespace the server's files have the worker's owner), while the tools that
// set modes and times on the workspace's own files keep working. Without a mount namespace the
// exec check's guard carries out chmod in the workspace; without the check too, chmod by path
// fails, and cp -a says so.
func TestSupervisor_hostMetadata(t *testing.T) {
	type mode struct {
		name                  string
		namespaces, execCheck bool
	}
	modes := []mode{{"landlock only", false, true}, {"landlock only without the exec check", false, false}}
	if worker.NamespacesAvailable() {
		modes = append(modes, mode{"namespaces", true, true})
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			s := newSupervisor(t, worker.WithNamespaces(m.namespaces), worker.WithExecCheck(m.execCheck))
			checked := strings.HasPrefix(s.Layers()["exec_check"], "active")
			if m.execCheck && !m.namespaces && !checked {
				t.Logf("the exec check is unavailable on this host (%s): the server's guard is not exercised", s.Layers()["exec_check"])
			}
			ip, dir := open(t, s)
			host := t.TempDir() // the server's files: owned by the worker's uid, not its workspace
			hostDir, hostFile := filepath.Join(host, "cache"), filepath.Join(host, "code")
			os.Mkdir(hostDir, 0o755)
			os.WriteFile(hostFile, []byte("machine code"), 0o644)
			relDir, err := filepath.Rel(dir, hostDir)
			if err != nil {
				t.Fatal(err)
			}

			// An archive whose entries, absolute and relative, chmod an existing directory.
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			tw.WriteHeader(&tar.Header{Name: hostDir + "/", Typeflag: tar.TypeDir, Mode: 0})
			tw.WriteHeader(&tar.Header{Name: relDir + "/", Typeflag: tar.TypeDir, Mode: 0o777})
			tw.WriteHeader(&tar.Header{Name: "sub/../" + relDir + "/", Typeflag: tar.TypeDir, Mode: 0o700})
			tw.Close()
			os.WriteFile(filepath.Join(dir, "evil.tar"), buf.Bytes(), 0o644)
			res := run(t, ip, runtime.Bash, "mkdir sub; tar -xPf evil.tar 2>&1; echo "+hostFile+" | xargs truncate -s 0 2>&1; echo "+hostFile+" | xargs cp --attributes-only --no-preserve=all evil.tar 2>&1")
			t.Logf("attempts: %q", res.Stdout)
			if !m.namespaces && !strings.Contains(res.Stdout, "Cannot change mode to ---------") {
				t.Errorf("tar did not try to chmod the directory (the attack did not run): %q", res.Stdout)
			}
			if fi, err := os.Stat(hostDir); err != nil || fi.Mode().Perm() != 0o755 {
				t.Errorf("a program changed the mode of a directory outside its workspace: %v %v", fi.Mode(), err)
			}
			if fi, err := os.Stat(hostFile); err != nil || fi.Mode().Perm() != 0o644 || fi.Size() != int64(len("machine code")) {
				t.Errorf("a program changed a file outside its workspace: %v %v", fi, err)
			}

			// The workspace's own files: archives keep their modes and times, gzip and cp -p too.
			old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
			buf.Reset()
			tw = tar.NewWriter(&buf)
			// Another uid's archive: a root without CAP_CHOWN extracts it only as a user does.
			tw.WriteHeader(&tar.Header{Name: "data/", Typeflag: tar.TypeDir, Mode: 0o2775, ModTime: old, Uid: 1234, Gid: 1234})
			tw.WriteHeader(&tar.Header{Name: "data/a.csv", Typeflag: tar.TypeReg, Mode: 0o600, Size: 4, ModTime: old, Uid: 1234, Gid: 1234})
			tw.Write([]byte("x,y\n"))
			tw.Close()
			os.WriteFile(filepath.Join(dir, "data.tar"), buf.Bytes(), 0o644)
			res = run(t, ip, runtime.Bash, "tar xf data.tar && cp -p data/a.csv b.csv && gzip b.csv && gunzip b.csv.gz && touch -d 2002-01-01 b.csv && mkdir -m 700 private && echo ok")
			if res.Stdout != "ok\n" {
				t.Fatalf("tools on the workspace's files: %q %q %+v", res.Stdout, res.Stderr, res.Error)
			}
			for name, want := range map[string]os.FileMode{"data/a.csv": 0o600, "b.csv": 0o600, "private": 0o700 | os.ModeDir} {
				if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Mode() != want {
					t.Errorf("%s: mode %v (%v), want %v", name, fi.Mode(), err, want)
				}
			}
			for name, want := range map[string]int{"data": 2001, "data/a.csv": 2001, "b.csv": 2002} {
				if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.ModTime().Year() != want {
					t.Errorf("%s: modified %v (%v), want in %d", name, fi.ModTime(), err, want)
				}
			}

			// cp -a sets a directory's mode by its path: the guard does it (no setgid), or,
			// with neither a mount namespace nor the exec check, cp says it could not.
			os.Chmod(filepath.Join(dir, "data"), 0o750)
			res = run(t, ip, runtime.Bash, "cp -a data copy; cp -r data copy2 && echo copied")
			fi, err := os.Stat(filepath.Join(dir, "copy"))
			if err != nil {
				t.Fatal(err)
			}
			if f, err := os.Stat(filepath.Join(dir, "copy/a.csv")); err != nil || f.Mode() != 0o600 || res.Stdout != "copied\n" {
				t.Errorf("cp -a: copy/a.csv %v (%v), cp -r: %q", f.Mode(), err, res.Stdout)
			}
			if m.namespaces || checked {
				if fi.Mode().Perm() != 0o750 || res.Stderr != "" {
					t.Errorf("cp -a of a directory: mode %v, stderr %q; want 0750 and no complaint", fi.Mode(), res.Stderr)
				}
				res = run(t, ip, runtime.Bash, "tar xf data.tar --same-permissions && echo ok")
				if fi, err := os.Stat(filepath.Join(dir, "data")); err != nil || res.Stdout != "ok\n" || fi.Mode()&(os.ModeSetgid|os.ModeSetuid) != 0 && !m.namespaces {
					t.Errorf("tar --same-permissions: %q %q, data %v (%v); want no setgid bit", res.Stdout, res.Stderr, fi.Mode(), err)
				}
			} else if !strings.Contains(res.Stderr, "preserving permissions for") {
				t.Errorf("cp -a without the exec check: %q, want it to report the directory's mode", res.Stderr)
			}
		})
	}
}
