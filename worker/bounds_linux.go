package worker

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"wasmbox/internal/spawn"
)

// MaxWorkerTasks bounds all tasks of a worker's pids cgroup: [MaxProcesses] for programs and
// room for the worker's own threads.
const MaxWorkerTasks = MaxProcesses + workerThreads

// MaxProcesses bounds the tasks (processes and threads) of the programs of one worker's tree,
// as the host allows (see [boundProcesses]): a pids cgroup the supervisor made for the worker,
// RLIMIT_NPROC counted in the worker's own user namespace, or RLIMIT_NPROC over the uid. A
// fork bomb (an xargs started by xargs, a program that forks in a loop) then fails with EAGAIN
// ("Resource temporarily unavailable") inside its worker, and the host's process table, the
// server and the neighbours never see it.
const MaxProcesses = 512

// cgroupPrefix names the cgroups the supervisor makes for workers, inside the server's.
const cgroupPrefix = "wasmbox-worker-"

// treeCgroups are the cgroups the supervisor made for one worker's tree.
type treeCgroups []string

// makeCgroups puts a worker just started (pid) in a pids and a memory cgroup of its own, under
// the server's, where the server may make them (root, or a delegated hierarchy); the worker
// then starts no program until it has been told its setup, so everything it starts is inside.
// It first removes the empty ones workers that are gone left (rmdir fails on a cgroup in use).
// The memory limit is twice the guests' memory plus the worker's own: the cgroup counts the page
// cache and kernel memory the tree touches, beside anonymous memory (measured: a 200 MB Python
// state in a 256 MiB limit peaks at 493 MiB of cgroup usage), and a guest must reach its own
// limit, a clean memory result, before the OOM killer ends the whole worker.
func makeCgroups(pid int, memory int64) treeCgroups {
	var out treeCgroups
	mem := strconv.FormatInt(treeMemory(memory), 10)
	for _, c := range []struct {
		controller string
		limits     []map[string]string // alternatives: cgroup v1, then v2
	}{
		{"pids", []map[string]string{{"pids.max": strconv.Itoa(MaxProcesses + workerThreads)}}},
		{"memory", []map[string]string{{"memory.limit_in_bytes": mem}, {"memory.max": mem, "memory.swap.max": "0"}}},
	} {
		for _, limits := range c.limits {
			if dir, err := newCgroup(c.controller, pid, limits); err == nil {
				if c.controller == "pids" {
					// Where threads may sit in a cgroup of their own (v1), the thread that
					// starts programs moves into this one (see boundProcesses): a fork bomb
					// fills it, and the worker still has room for its own threads.
					sub := filepath.Join(dir, programsCgroup)
					if os.Mkdir(sub, 0o755) == nil {
						if os.WriteFile(filepath.Join(sub, "pids.max"), []byte(strconv.Itoa(MaxProcesses)), 0) == nil {
							out = append(out, sub)
						} else {
							syscall.Rmdir(sub)
						}
					}
				}
				out = append(out, dir)
				break
			}
		}
	}
	return out
}

// memory returns the memory cgroup of the tree ("" when it has none).
func (c treeCgroups) memory() string {
	for _, dir := range c {
		if _, err := os.Stat(filepath.Join(dir, "memory.stat")); err == nil {
			return dir
		}
	}
	return ""
}

// anonHeld returns the anonymous memory a worker holds as the kernel counts it, read by the
// server: its tree's (its programs' included) from its memory cgroup's memory.stat where it has
// one (v2 "anon"; v1 "total_rss" and "total_rss_huge"), else the worker process's own, from
// /proc/<pid>/statm (resident less shared pages). Page cache is left out: the shared machine
// code and base image are pages of files every worker maps.
func anonHeld(pid int, memCgroup string) (int64, error) {
	if memCgroup != "" {
		b, err := os.ReadFile(filepath.Join(memCgroup, "memory.stat"))
		if err != nil {
			return 0, err
		}
		var n int64
		found := false
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, " ")
			if ok && (k == "anon" || k == "total_rss" || k == "total_rss_huge") {
				x, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return 0, fmt.Errorf("%s: %q: %w", memCgroup, line, err)
				}
				n += x
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("%s: no anonymous memory in memory.stat", memCgroup)
		}
		return n, nil
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/statm")
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return 0, fmt.Errorf("/proc/%d/statm: %q", pid, b)
	}
	resident, err1 := strconv.ParseInt(f[1], 10, 64)
	shared, err2 := strconv.ParseInt(f[2], 10, 64)
	if err1 != nil || err2 != nil || resident < shared {
		return 0, fmt.Errorf("/proc/%d/statm: %q", pid, b)
	}
	return (resident - shared) * int64(os.Getpagesize()), nil
}

// treeMemory is the memory cgroup's limit of a worker's tree, for guests of the given memory
// limit (see makeCgroups).
func treeMemory(memory int64) int64 { return Charge(memory) }

// workerThreads is the room for the worker's own threads beside [MaxProcesses] programs.
const workerThreads = 64

// programsCgroup names the pids cgroup, inside a worker's, of the thread that starts programs.
const programsCgroup = "programs"

// remove ends what is left in the cgroups once the worker is gone (a worker that died leaves
// its programs' children, which no PID namespace ends) and deletes them. Killed processes take
// a moment to leave, so it tries for a while; a later [makeCgroups] removes what is left.
func (c treeCgroups) remove() {
	for _, dir := range c {
		for i := 0; i < 40; i++ {
			b, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil && pid > 1 {
					unix.Kill(pid, unix.SIGKILL)
				}
			}
			if err := syscall.Rmdir(dir); err == nil || !errors.Is(err, syscall.EBUSY) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func newCgroup(controller string, pid int, limits map[string]string) (string, error) {
	parent, err := cgroupDir(controller, "self")
	if err != nil {
		return "", err
	}
	if old, _ := filepath.Glob(filepath.Join(parent, cgroupPrefix+"*")); len(old) > 0 {
		for _, d := range old {
			// Only a cgroup whose worker is gone: a live worker's programs cgroup is empty
			// whenever no program runs, and one being made is empty for a moment.
			if pid, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(d), cgroupPrefix)); err == nil {
				if err := unix.Kill(pid, 0); err == nil || errors.Is(err, unix.EPERM) {
					continue
				}
			}
			if b, err := os.ReadFile(filepath.Join(d, "cgroup.procs")); err == nil && len(b) == 0 {
				syscall.Rmdir(filepath.Join(d, programsCgroup))
				syscall.Rmdir(d)
			}
		}
	}
	dir := filepath.Join(parent, cgroupPrefix+strconv.Itoa(pid))
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return "", err
	}
	for name, v := range limits {
		err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0)
		if err != nil && strings.HasSuffix(name, ".swap.max") {
			continue // no swap accounting: nothing to limit
		}
		if err != nil {
			syscall.Rmdir(dir)
			return "", err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
		syscall.Rmdir(dir)
		return "", err
	}
	return dir, nil
}

// ownCgroup is the directory of the cgroup of the controller the supervisor put this worker
// in, or "".
func ownCgroup(controller string) string {
	dir, err := cgroupDir(controller, "self")
	if filepath.Base(dir) == programsCgroup {
		dir = filepath.Dir(dir)
	}
	if err != nil || !strings.HasPrefix(filepath.Base(dir), cgroupPrefix) {
		return ""
	}
	return dir
}

// cgroupDir is the directory of a process's cgroup for a controller: its v1 hierarchy, or
// the unified one where /sys/fs/cgroup is cgroup v2.
func cgroupDir(controller, pid string) (string, error) {
	b, err := os.ReadFile("/proc/" + pid + "/cgroup")
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(l, ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == controller {
				return filepath.Join("/sys/fs/cgroup", controller, parts[2]), nil
			}
		}
		if parts[0] == "0" && parts[1] == "" {
			// The unified hierarchy: a limit file is missing where the controller is not
			// enabled, and writing it fails.
			if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
				return filepath.Join("/sys/fs/cgroup", parts[2]), nil
			}
		}
	}
	return "", fmt.Errorf("no %s cgroup controller this process may use", controller)
}

// boundMemory says how the memory of the worker's tree is bounded: by the memory cgroup the
// supervisor made, or else by each program's address space, a share of the worker's memory
// limit (see the bash engine), which what a program starts inherits.
func boundMemory(memory int64) string {
	if dir := ownCgroup("memory"); dir != "" {
		limit := treeMemory(memory) >> 20
		if oomKills = openCounter(filepath.Join(dir, "memory.oom_control"), "oom_kill", limit); oomKills == nil {
			oomKills = openCounter(filepath.Join(dir, "memory.events"), "oom_kill", limit)
		}
		return fmt.Sprintf("memory cgroup %s: the worker and its programs together at most %d MiB", dir, limit)
	}
	return "address space of each program a share of the worker's memory limit (no memory cgroup)"
}

// uidTasks counts the tasks (threads) of this process's real uid, from /proc.
func uidTasks() int {
	uid := uint32(os.Getuid())
	dirs, _ := os.ReadDir("/proc")
	n := 0
	for _, d := range dirs {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		var st unix.Stat_t
		if unix.Stat("/proc/"+d.Name(), &st) != nil || st.Uid != uid {
			continue
		}
		b, _ := os.ReadFile("/proc/" + d.Name() + "/stat")
		if i := strings.LastIndexByte(string(b), ')'); i > 0 {
			if f := strings.Fields(string(b[i+1:])); len(f) > 17 {
				if t, err := strconv.Atoi(f[17]); err == nil {
					n += t
				}
			}
		}
	}
	return n
}

// boundProcesses applies the process bound that this host allows and says which. It runs
// before the worker builds its root (it reads /proc and the cgroup file system).
//
//   - a pids cgroup of its own, where the supervisor could make one (see [makeCgroups]): it
//     holds for root too, which RLIMIT_NPROC does not bind;
//   - in a user namespace, RLIMIT_NPROC, which the kernel counts per user namespace, so per
//     worker (not for a worker whose uid is root on the host: the kernel exempts root);
//   - otherwise RLIMIT_NPROC counts every process of the uid, the server's and the other
//     workers' too: it is set to what the uid runs now plus [MaxProcesses], a ceiling for all
//     workers together that keeps a fork bomb from the host's process table. Only programs
//     get it ([ProgramStarted]), so the workers' own threads never fail for another's bomb.
//
// Where there is no pids cgroup and the exec check runs (no namespaces), or the worker's uid
// is root on the host ([Confinement.CountForks]), the server counts each worker's programs at
// every fork they make and refuses one past [MaxProcesses] (see execGuard): a bound per worker,
// as root too, without a cgroup.
func boundProcesses(c Confinement) string {
	userNS := c.MountNS
	dir := ownCgroup("pids")
	counted := dir == "" && (c.ExecCheck || c.CountForks)
	if counted {
		programForks.Store(MaxProcesses)
	}
	switch {
	case dir != "":
		// Only the spawning thread moves: threads of one process may sit in different
		// cgroups of a v1 hierarchy.
		var err error = os.ErrNotExist
		spawn.Do(func() {
			err = os.WriteFile(filepath.Join(dir, programsCgroup, "tasks"), []byte(strconv.Itoa(unix.Gettid())), 0)
		})
		if err == nil {
			forkFailures = openCounter(filepath.Join(dir, programsCgroup, "pids.events"), "max", MaxProcesses)
			return fmt.Sprintf("active (pids cgroup %s: at most %d tasks of programs, and %d more for the worker's threads)", dir, MaxProcesses, workerThreads)
		}
		forkFailures = openCounter(filepath.Join(dir, "pids.events"), "max", MaxWorkerTasks)
		return fmt.Sprintf("active (pids cgroup %s: at most %d tasks in the worker's tree, its own threads included)", dir, MaxWorkerTasks)
	case os.Geteuid() == 0 && !userNS && counted:
		return fmt.Sprintf("active (the server refuses a program's fork past %d processes of this worker's programs: it answers every fork through the exec check; running as root, where RLIMIT_NPROC does not apply, with no pids cgroup)", MaxProcesses)
	case os.Geteuid() == 0 && !userNS:
		return "inactive (running as root, where RLIMIT_NPROC does not apply, and no pids cgroup could be made)"
	case userNS && counted:
		return fmt.Sprintf("active (the server refuses a program's fork past %d processes of this worker's programs: it answers every fork through a seccomp listener; the worker's uid is root on the host, where RLIMIT_NPROC does not apply, and no pids cgroup could be made)", MaxProcesses)
	case userNS:
		if err := unix.Setrlimit(unix.RLIMIT_NPROC, &unix.Rlimit{Cur: MaxProcesses, Max: MaxProcesses}); err != nil {
			return fmt.Sprintf("inactive (setrlimit NPROC: %v)", err)
		}
		return fmt.Sprintf("active (RLIMIT_NPROC %d in the worker's user namespace; not for a worker whose uid is root on the host, which has no pids cgroup)", MaxProcesses)
	case counted:
		// Each worker's programs are held to MaxProcesses by the count; the uid's ceiling,
		// shared by all, is then made room for all of them, so that no worker's programs can
		// use up another's, and stays a backstop for the host.
		w := max(c.Workers, 1)
		n := hardNproc(uint64(uidTasks() + MaxProcesses*w))
		programNproc.Store(n)
		return fmt.Sprintf("active (the server refuses a program's fork past %d processes of this worker's programs: it answers every fork through the exec check; and RLIMIT_NPROC %d on programs, the uid's tasks when the worker started plus %d for each of the %d workers the memory budget holds)", MaxProcesses, n, MaxProcesses, w)
	default:
		n := hardNproc(uint64(uidTasks() + MaxProcesses))
		programNproc.Store(n)
		return fmt.Sprintf("active (RLIMIT_NPROC %d on programs: the uid's tasks when the worker started plus %d, shared by every worker of this uid)", n, MaxProcesses)
	}
}

// hardNproc is n within this process's hard RLIMIT_NPROC, which a process may not raise.
func hardNproc(n uint64) uint64 {
	var l unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NPROC, &l) == nil && n > l.Max {
		return l.Max
	}
	return n
}

// processBound and memoryBound are what [boundProcesses] and [boundMemory] reported.
var processBound, memoryBound string

// boundTree applies both bounds once.
func boundTree(s Setup) {
	if processBound == "" {
		processBound = boundProcesses(s.Confine)
		memoryBound = boundMemory(s.Limits.Memory)
	}
}

// programNproc is the RLIMIT_NPROC each program gets (0: none), see [boundProcesses].
var programNproc atomic.Uint64

// programForks is how many processes this worker's programs may have, counted by the server
// at each fork (0: not counted there), see [boundProcesses].
var programForks atomic.Int64

// ProgramStarted applies the per-program limits of this worker to a program bash just
// started. It must not run on the spawning thread, whose filter refuses it (see
// loadProgramFilter).
func ProgramStarted(pid int) {
	if n := programNproc.Load(); n > 0 {
		unix.Prlimit(pid, unix.RLIMIT_NPROC, &unix.Rlimit{Cur: n, Max: n}, nil)
	}
}

// subreaper makes this process the child subreaper of its tree: a program that leaves it
// (a daemon's parent exits) is reparented to the worker, not to the host's init, so it is
// still ended by [afterRun] and reaped here.
func subreaper() error {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("child subreaper: %w", err)
	}
	return nil
}

// Secure bits that keep root from regaining capabilities: at exec (NOROOT), at a uid change
// (NO_SETUID_FIXUP), through ambient capabilities, each locked so it cannot be undone.
const securebits = 1<<0 | 1<<1 | 1<<2 | 1<<3 | 1<<5 | 1<<6 | 1<<7

// dropRootCapabilities empties every capability set of every thread, the bounding set
// included, and sets and locks the secure bits first: a worker running as root on a host
// without user namespaces keeps uid 0 (it owns the workspace's files) but no privilege, and
// neither do its programs (no chattr +i, no raw I/O, no module loading, no DAC override).
func dropRootCapabilities() error {
	if _, _, errno := syscall.AllThreadsSyscall(syscall.SYS_PRCTL, unix.PR_SET_SECUREBITS, securebits, 0); errno != 0 {
		return fmt.Errorf("set secure bits: %w", errno)
	}
	for c := 0; c <= 63; c++ {
		if _, _, errno := syscall.AllThreadsSyscall(syscall.SYS_PRCTL, unix.PR_CAPBSET_DROP, uintptr(c), 0); errno == unix.EINVAL {
			break // past the last capability this kernel knows
		} else if errno != 0 {
			return fmt.Errorf("drop capability %d from the bounding set: %w", c, errno)
		}
	}
	return dropCapabilities()
}

// scopedKill is true when signals from the spawning thread reach only the processes started
// from it (Landlock's signal scope, checked on the server's process): kill(-1) is then safe
// without a PID namespace.
var scopedKill atomic.Bool

// checkScopedKill tries signal 0 on the parent (the server) from the spawning thread: a
// refusal with EPERM although the uids match shows that the scope holds.
func checkScopedKill() bool {
	var err error
	spawn.Do(func() { err = unix.Kill(unix.Getppid(), 0) })
	ok := errors.Is(err, unix.EPERM)
	scopedKill.Store(ok)
	return ok
}

// counter is one line of a cgroup's event file ("max 3"), kept open from before the worker is
// confined: Landlock checks a file when it is opened, so it can still be read afterwards.
type counter struct {
	f     *os.File
	key   string
	limit int64
}

// forkFailures counts the forks the pids limit refused, oomKills the processes the memory
// limit killed; nil where there is no such cgroup.
var forkFailures, oomKills *counter

func openCounter(path, key string, limit int64) *counter {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	return &counter{f: f, key: key, limit: limit}
}

// read returns the counter's value (0 when unknown).
func (c *counter) read() int64 {
	if c == nil {
		return 0
	}
	b := make([]byte, 512)
	n, _ := c.f.ReadAt(b, 0)
	for _, l := range strings.Split(string(b[:n]), "\n") {
		if v, ok := strings.CutPrefix(l, c.key+" "); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// treeMarks are the counters when a run starts.
type treeMarks struct{ forks, kills int64 }

func markTree() treeMarks { return treeMarks{forkFailures.read(), oomKills.read()} }

// notes says what the worker tree's limits did during a run that started at m, for the run's
// stderr: a program sees only "Resource temporarily unavailable" or a SIGKILL.
func (m treeMarks) notes() string {
	out := ""
	if n := forkFailures.read() - m.forks; n > 0 {
		out += fmt.Sprintf("[wasmbox] the programs reached the limit of %d processes; %d attempts to start another failed\n", forkFailures.limit, n)
	}
	if n := oomKills.read() - m.kills; n > 0 {
		out += fmt.Sprintf("[wasmbox] %d processes were killed at the memory limit the worker and its programs share (%d MiB)\n", n, oomKills.limit)
	}
	return out
}

// killSession kills what a worker that is gone left in its session (sid, the worker's pid):
// programs' children, which neither a PID namespace (where there is none) nor Pdeathsig (only
// the worker's direct children have it) ended. Only processes that started while the worker
// lived (started until now, to /proc's precision of a second) are touched: a session id is
// not reused while a process still has it, but once the last one is gone the pid may become
// someone else's.
func killSession(sid int, started time.Time) {
	ended := time.Now()
	boot := bootTime()
	if boot.IsZero() {
		return
	}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil || pid == sid {
			continue
		}
		b, _ := os.ReadFile("/proc/" + d.Name() + "/stat")
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		// After the command: state ppid pgrp session ... starttime (the 20th field).
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 20 || f[3] != strconv.Itoa(sid) {
			continue
		}
		ticks, _ := strconv.ParseInt(f[19], 10, 64)
		if at := boot.Add(time.Duration(ticks) * time.Second / clockTicks); at.Before(started.Add(-time.Second)) || at.After(ended.Add(time.Second)) {
			continue
		}
		unix.Kill(pid, unix.SIGKILL)
	}
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's times: 100 on every Linux ABI.
const clockTicks = 100

// bootTime is when the machine booted, from /proc/stat's btime (zero if unknown).
func bootTime() time.Time {
	b, _ := os.ReadFile("/proc/stat")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "btime "); ok {
			if s, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				return time.Unix(s, 0)
			}
		}
	}
	return time.Time{}
}
