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

	"golang.org/x/sys/unix"

	"wasmbox/internal/spawn"
)

// MaxProcesses bounds the tasks (processes and threads, the worker's own included) of one
// worker's tree where the host lets a worker bound them: a pids cgroup of its own when the
// worker runs as root and may create one, RLIMIT_NPROC counted in its own user namespace
// otherwise. A fork bomb (`xargs -P 0`, a program that forks in a loop) then fails with EAGAIN
// ("Resource temporarily unavailable") inside its worker, and the host's process table, the
// server and the neighbours never see it.
const MaxProcesses = 512

// cgroupPrefix names the pids cgroups workers make for themselves, beside the server's.
const cgroupPrefix = "wasmbox-worker-"

// ownCgroup moves this process into a cgroup of its own of the controller's hierarchy, under
// its current one, after writing limits (file name: value) there, and removes the empty ones
// earlier workers left (rmdir fails on a cgroup in use). It needs root or a delegated
// hierarchy; it returns the cgroup's directory.
func ownCgroup(controller string, limits map[string]string) (string, error) {
	parent, err := cgroupDir(controller)
	if err != nil {
		return "", err
	}
	if old, _ := filepath.Glob(filepath.Join(parent, cgroupPrefix+"*")); len(old) > 0 {
		for _, d := range old {
			syscall.Rmdir(d)
		}
	}
	dir := filepath.Join(parent, cgroupPrefix+strconv.Itoa(os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return "", err
	}
	for name, v := range limits {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0); err != nil {
			syscall.Rmdir(dir)
			return "", err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0); err != nil {
		syscall.Rmdir(dir)
		return "", err
	}
	return dir, nil
}

// cgroupDir is the directory of this process's cgroup for a controller: its v1 hierarchy, or
// the unified one when its subtree has the controller.
func cgroupDir(controller string) (string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
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
			dir := filepath.Join("/sys/fs/cgroup", parts[2])
			if ctl, err := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control")); err == nil && strings.Contains(string(ctl), controller) {
				return dir, nil
			}
		}
	}
	return "", fmt.Errorf("no %s cgroup controller this process may use", controller)
}

// boundMemory puts the worker's tree (the worker and every program it starts) in a memory
// cgroup of its own limited to what the supervisor charges a worker, where the worker may make
// one. Elsewhere each program's address space is a share of the worker's memory limit (see
// the bash engine), and what programs start inherit it.
func boundMemory(memory int64) string {
	limit := strconv.FormatInt(memory+workerOverhead, 10)
	dir, err := ownCgroup("memory", map[string]string{"memory.limit_in_bytes": limit})
	if err != nil {
		dir, err = ownCgroup("memory", map[string]string{"memory.max": limit, "memory.swap.max": "0"})
	}
	if err != nil {
		return fmt.Sprintf("address space of each program a share of the worker's memory limit; no memory cgroup (%v)", err)
	}
	return fmt.Sprintf("memory cgroup %s: the worker and its programs together at most %d MiB", dir, (memory+workerOverhead)>>20)
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
//   - a pids cgroup of its own, where the worker may make one (root, or a delegated
//     hierarchy): it holds for root too, which RLIMIT_NPROC does not bind;
//   - in a user namespace, RLIMIT_NPROC, which the kernel counts per user namespace, so per
//     worker (not for a worker whose uid is root on the host: the kernel exempts root);
//   - otherwise RLIMIT_NPROC counts every process of the uid, the server's and the other
//     workers' too: it is set to what the uid runs now plus [MaxProcesses], a ceiling for all
//     workers together that keeps a fork bomb from the host's process table. Only programs
//     get it ([ProgramStarted]), so the workers' own threads never fail for another's bomb.
func boundProcesses(userNS bool) string {
	dir, err := ownCgroup("pids", map[string]string{"pids.max": strconv.Itoa(MaxProcesses)})
	switch {
	case err == nil:
		return fmt.Sprintf("active (pids cgroup %s: at most %d tasks in the worker's tree)", dir, MaxProcesses)
	case os.Geteuid() == 0 && !userNS:
		return fmt.Sprintf("inactive (running as root, where RLIMIT_NPROC does not apply, and no pids cgroup: %v)", err)
	case userNS:
		if err := unix.Setrlimit(unix.RLIMIT_NPROC, &unix.Rlimit{Cur: MaxProcesses, Max: MaxProcesses}); err != nil {
			return fmt.Sprintf("inactive (setrlimit NPROC: %v)", err)
		}
		return fmt.Sprintf("active (RLIMIT_NPROC %d in the worker's user namespace, unless its uid is root on the host)", MaxProcesses)
	default:
		n := uint64(uidTasks() + MaxProcesses)
		programNproc.Store(n)
		return fmt.Sprintf("active (RLIMIT_NPROC %d on programs: the uid's tasks when the worker started plus %d, shared by every worker of this uid)", n, MaxProcesses)
	}
}

// processBound and memoryBound are what [boundProcesses] and [boundMemory] reported.
var processBound, memoryBound string

// boundTree applies both bounds once.
func boundTree(s Setup) {
	if processBound == "" {
		processBound = boundProcesses(s.Confine.MountNS)
		memoryBound = boundMemory(s.Limits.Memory)
	}
}

// programNproc is the RLIMIT_NPROC each program gets (0: none), see [boundProcesses].
var programNproc atomic.Uint64

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
