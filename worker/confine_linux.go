package worker

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/landlock-lsm/go-landlock/landlock"
	llsys "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"

	"wasmbox/internal/abifilter"
	"wasmbox/internal/hostpaths"
	"wasmbox/internal/spawn"
)

// Confinement says how a worker confines itself once it is bound to a workspace. The worker
// applies it before it reads any guest input; nothing it sets can be undone from inside.
type Confinement struct {
	// Landlock limits the file system: the workspace read-write (never executable), the system
	// trees read-only, only Executables executable; TCP and signals to outside processes denied.
	Landlock bool `json:"landlock"`
	// Seccomp kills the worker on any non-native syscall ABI (i386 int 0x80, x32) and lets
	// through only an allowlist of syscalls (no sockets but socketpair, no ptrace, mount, bpf,
	// keyctl, namespaces, ...).
	Seccomp bool `json:"seccomp"`
	// AddressSpace is RLIMIT_AS of the worker and every program it starts (0: none).
	AddressSpace int64 `json:"address_space"`
	// CPUSeconds is RLIMIT_CPU of the worker, a backstop behind the supervisor's kill.
	CPUSeconds uint64 `json:"cpu_seconds"`
	// FileSize is RLIMIT_FSIZE: no single file written may grow past it.
	FileSize int64 `json:"file_size"`
	// Executables are the programs bash may run (absolute paths).
	Executables []string `json:"executables,omitempty"`
	// MountNS: the worker runs in its own mount namespace and builds a root holding only
	// the allowlisted programs, their libraries and the workspace (see root_linux.go).
	MountNS bool `json:"mount_ns"`
	// ExecCheck: every execve of a program waits for the supervisor, which lets only the
	// allowlisted programs run (see execcheck_linux.go). Needs Seccomp.
	ExecCheck bool `json:"exec_check,omitempty"`
	// CountForks: the supervisor can answer a listener (its probe passed) and the worker's
	// uid is root on the host, where RLIMIT_NPROC does not apply: a worker in a user namespace
	// that gets no pids cgroup sends its programs' forks to the supervisor, which counts them
	// (see boundProcesses). Needs Seccomp.
	CountForks bool `json:"count_forks,omitempty"`
	// Workers is how many workers the memory budget holds at once (see boundProcesses).
	Workers int `json:"workers,omitempty"`
}

// readOnlyTrees are the system trees programs need: code, libraries, locale and magic data.
var readOnlyTrees = []string{"/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin"}

// readOnlyFiles are the files of /etc programs read; nothing else of /etc is visible.
var readOnlyFiles = []string{"/etc/ld.so.cache", "/etc/localtime", "/etc/magic", "/etc/mime.types"}

// devices guests may open.
var devices = []string{"/dev/null", "/dev/zero", "/dev/urandom", "/dev/random"}

// LandlockAvailable reports whether the kernel offers Landlock (which workers then apply
// unless their setup switches it off).
func LandlockAvailable() bool {
	abi, _ := llsys.LandlockGetABIVersion()
	return abi >= 1
}

// confine applies c to this process, bound to workspace. It returns the workspace's path as
// the guest sees it and what each layer did. A layer the kernel lacks is reported as
// inactive; a layer that fails otherwise is an error.
func confine(s Setup, workspace string) (string, map[string]string, error) {
	layers, err := confineLayers(s, workspace)
	return guestWorkspace(s, workspace), layers, err
}

func guestWorkspace(s Setup, workspace string) string {
	if s.Confine.MountNS {
		return WorkspacePath
	}
	return workspace
}

func confineLayers(s Setup, workspace string) (map[string]string, error) {
	c := s.Confine
	layers := map[string]string{}
	if c.MountNS {
		if err := bindRoot(workspace); err != nil {
			return layers, fmt.Errorf("mount namespace: %w", err)
		}
		layers["mount_namespace"] = "active (a read-only root holding only the allowlisted programs, their libraries and data; the workspace at /workspace and /mnt/data, noexec, nosuid, nodev; no /proc, /sys or /tmp; no capabilities left)"
		workspace = WorkspacePath
	} else {
		layers["mount_namespace"] = "unavailable (needs user namespaces)"
		if err := subreaper(); err != nil {
			return layers, err
		}
	}
	boundTree(s)
	layers["processes"] = processBound
	layers["memory"] = memoryBound
	if !c.MountNS && os.Geteuid() == 0 {
		if err := dropRootCapabilities(); err != nil {
			return layers, err
		}
		layers["capabilities"] = "none (running as root without a user namespace: every set emptied, the bounding set too; secure bits NOROOT and NO_SETUID_FIXUP locked)"
	}
	if err := noNewPrivs(); err != nil {
		return layers, err
	}
	if err := rlimits(c); err != nil {
		return layers, err
	}
	layers["rlimits"] = fmt.Sprintf("active (address space %d MiB, CPU %d s, file size %d MiB, no core dumps)",
		c.AddressSpace>>20, c.CPUSeconds, c.FileSize>>20)

	abi, _ := llsys.LandlockGetABIVersion()
	switch {
	case !c.Landlock:
		layers["landlock"] = "off (configured)"
	case abi < 1:
		layers["landlock"] = "unavailable (kernel without Landlock)"
	default:
		if err := landlockPaths(workspace, c.MountNS, c.Executables); err != nil {
			return layers, fmt.Errorf("landlock: %w", err)
		}
		extra := ""
		if abi >= 4 {
			extra += "; TCP bind and connect denied"
		}
		if abi >= 6 {
			extra += "; signals to processes outside denied"
		}
		readable := "system trees read-only"
		if !c.MountNS {
			readable = "of the system trees only the allowlisted programs, their libraries and data readable; no /proc"
		}
		layers["landlock"] = fmt.Sprintf("active (ABI %d: workspace read-write, never executable; %s; only allowlisted programs and the loader executable%s)", abi, readable, extra)
		if !c.MountNS && abi >= 6 && checkScopedKill() {
			layers["descendants"] = "every program a run started ends with the run, setsid daemons too (child subreaper; kill(-1) scoped by Landlock to the worker's programs)"
		}
	}
	if !c.MountNS && !scopedKill.Load() {
		layers["descendants"] = "only the programs' process groups end with a run (no PID namespace and no Landlock signal scope: a program that calls setsid can outlive it)"
	}

	if c.Seccomp {
		if err := loadSeccomp(c.ExecCheck, programForks.Load() > 0, !c.MountNS); err != nil {
			return layers, fmt.Errorf("seccomp: %w", err)
		}
		layers["seccomp"] = "active (non-native syscall ABIs kill the process; syscall allowlist: no network sockets, ptrace, mount, bpf, keyctl or namespaces)"
		if c.ExecCheck {
			layers["exec_check"] = execCheckActive
		}
	} else {
		layers["seccomp"] = "off (configured)"
	}
	// Set on every thread above; this one answers for all.
	nnp, err := unix.PrctlRetInt(unix.PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)
	layers["no_new_privs"] = map[bool]string{true: "active (every thread)", false: "inactive"}[err == nil && nnp == 1]
	return layers, nil
}

// noNewPrivs sets no_new_privs on every thread of the process, not just this one: seccomp
// filters and Landlock need it on each.
func noNewPrivs() error {
	if _, _, errno := syscall.AllThreadsSyscall(syscall.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0); errno != 0 {
		return fmt.Errorf("no_new_privs: %w (the worker must be built with CGO_ENABLED=0)", errno)
	}
	return nil
}

func rlimits(c Confinement) error {
	set := func(name string, res int, v uint64) error {
		if err := unix.Setrlimit(res, &unix.Rlimit{Cur: v, Max: v}); err != nil {
			return fmt.Errorf("setrlimit %s %d: %w", name, v, err)
		}
		return nil
	}
	if err := set("CORE", unix.RLIMIT_CORE, 0); err != nil {
		return err
	}
	if c.AddressSpace > 0 {
		if err := set("AS", unix.RLIMIT_AS, uint64(c.AddressSpace)); err != nil {
			return err
		}
	}
	if c.CPUSeconds > 0 {
		if err := set("CPU", unix.RLIMIT_CPU, c.CPUSeconds); err != nil {
			return err
		}
	}
	if c.FileSize > 0 {
		if err := set("FSIZE", unix.RLIMIT_FSIZE, uint64(c.FileSize)); err != nil {
			return err
		}
	}
	return nil
}

const (
	readFS  = llsys.AccessFSReadFile | llsys.AccessFSReadDir
	writeFS = llsys.AccessFSWriteFile | llsys.AccessFSRemoveDir | llsys.AccessFSRemoveFile |
		llsys.AccessFSMakeDir | llsys.AccessFSMakeReg | llsys.AccessFSMakeFifo | llsys.AccessFSTruncate
)

func landlockPaths(workspace string, mountNS bool, executables []string) error {
	abi, _ := llsys.LandlockGetABIVersion()
	return restrictPaths(landlock.V7, abi, workspace, mountNS, executables)
}

// restrictPaths applies the worker's Landlock rules with config (downgraded to what the
// kernel's abi offers), then checks that they hold.
//
// The workspace's rule asks for the refer right (moving and linking files between its
// directories) only where the kernel has it (ABI 2, Linux 5.19): asked for on ABI 1, best
// effort would not downgrade the rule but drop Landlock altogether, and the worker would run
// unconfined while it reported Landlock active. On ABI 1 a file cannot move to another
// directory (EXDEV: mv copies it instead).
func restrictPaths(config landlock.Config, abi int, workspace string, mountNS bool, executables []string) error {
	rw := func(path string) landlock.Rule {
		r := landlock.PathAccess(readFS|writeFS, path)
		if abi >= 2 {
			r = r.WithRefer()
		}
		return r
	}
	// In a mount namespace only the allowlisted programs, their libraries and data exist; on
	// the host, Landlock lets programs read just those of the system trees (see programFiles).
	system := []landlock.Rule{
		landlock.PathAccess(readFS, hostpaths.Dirs(readOnlyTrees)...),
	}
	if !mountNS {
		system = []landlock.Rule{
			landlock.PathAccess(readFS, hostpaths.Dirs(dataTrees)...),
			landlock.PathAccess(llsys.AccessFSReadFile, programFiles(executables)...),
		}
	}
	rules := append(system,
		landlock.PathAccess(llsys.AccessFSReadFile, hostpaths.Files(readOnlyFiles)...),
		// No MakeSym: a symbolic link is never created in a workspace.
		rw(workspace),
	)
	if mountNS {
		rules = append(rules, rw("/mnt/data"),
			landlock.PathAccess(llsys.AccessFSReadFile, hostpaths.Files([]string{"/etc/passwd", "/etc/group"})...))
	}
	rules = append(rules,
		landlock.PathAccess(llsys.AccessFSReadFile|llsys.AccessFSWriteFile, hostpaths.Files(devices)...),
		landlock.PathAccess(llsys.AccessFSExecute|llsys.AccessFSReadFile, hostpaths.Files(append(append([]string{}, executables...), hostpaths.Loaders()...))...),
	)
	if err := config.BestEffort().Restrict(rules...); err != nil {
		return err
	}
	return landlockHolds()
}

// landlockHolds checks that Landlock is enforced on this process: no rule lets it list the
// root directory. Best effort never fails where the kernel cannot do what was asked; it
// restricts nothing instead, and a worker must never go on believing it is confined.
func landlockHolds() error {
	fd, err := unix.Open("/", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err == nil {
		unix.Close(fd)
		return errors.New("the rules were not enforced (the root directory is still readable)")
	}
	if err != unix.EACCES {
		return fmt.Errorf("checking the rules: open /: %w", err)
	}
	return nil
}

// allowedSyscalls is what the worker (Go, wazero, goja) and the programs bash runs (coreutils,
// grep, sed, awk, find, tar, gzip, ...) need. Everything else fails with EPERM.
var allowedSyscalls = []string{
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2", "pwritev2",
	"open", "openat", "openat2", "close", "close_range", "creat", "lseek", "dup", "dup2", "dup3",
	"stat", "fstat", "lstat", "newfstatat", "statx", "statfs", "fstatfs", "access", "faccessat", "faccessat2",
	// No symlink or symlinkat: a symbolic link is never created in a workspace.
	"readlink", "readlinkat", "getdents", "getdents64", "getcwd", "chdir", "fchdir",
	"mkdir", "mkdirat", "mknod", "mknodat", "rmdir", "unlink", "unlinkat", "rename", "renameat", "renameat2", "link", "linkat",
	"chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown", "fchownat", "lchown", "umask",
	"utime", "utimes", "utimensat", "futimesat", "truncate", "ftruncate", "fallocate", "fadvise64",
	"fsync", "fdatasync", "sync_file_range", "flock", "fcntl", "ioctl", "copy_file_range", "sendfile", "splice", "tee",
	"getxattr", "lgetxattr", "fgetxattr", "listxattr", "llistxattr", "flistxattr",
	"pipe", "pipe2", "poll", "ppoll", "select", "pselect6", "epoll_create", "epoll_create1", "epoll_ctl",
	"epoll_wait", "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2", "timerfd_create", "timerfd_settime", "timerfd_gettime",
	"mmap", "munmap", "mprotect", "mremap", "madvise", "mincore", "msync", "brk", "mlock", "munlock",
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigsuspend", "rt_sigpending", "rt_sigtimedwait",
	"sigaltstack", "kill", "tgkill", "tkill", "pause", "alarm", "getitimer", "setitimer",
	"nanosleep", "clock_nanosleep", "clock_gettime", "clock_getres", "gettimeofday", "time",
	"sched_yield", "sched_getaffinity", "sched_getparam", "sched_getscheduler",
	"futex", "futex_waitv", "set_robust_list", "get_robust_list", "set_tid_address", "rseq", "membarrier",
	"getpid", "getppid", "gettid", "getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid",
	"getgroups", "getpgid", "getpgrp", "setpgid", "getsid", "setsid",
	"getrlimit", "setrlimit", "prlimit64", "getrusage", "sysinfo", "times", "uname", "capget",
	"arch_prctl", "prctl", "getrandom", "exit", "exit_group", "wait4", "waitid",
	"clone", "clone3", "fork", "vfork", "execve",
	"socketpair", "sendmsg", "recvmsg", "sendto", "recvfrom", "shutdown", "getsockname", "getpeername",
	"getsockopt", "setsockopt",
	// Filters only ever add restrictions; the worker adds one for its programs (see
	// loadProgramFilter).
	"seccomp",
	// No inotify or fanotify: Landlock does not mediate watches, and a watch on the data
	// directory would show the names (capabilities) of other sessions.
}

// xattrWrites set or remove extended attributes (ACLs, capabilities, security labels).
var xattrWrites = []string{"setxattr", "lsetxattr", "fsetxattr", "removexattr", "lremovexattr", "fremovexattr"}

// selfOnly are syscalls allowed only on the caller itself (their argument 1, "who" or the pid,
// is 0): a program must not renice or pin the server or another tenant's worker.
var selfOnly = []struct {
	name string
	arg  uint32
}{{"getpriority", 1}, {"setpriority", 1}, {"sched_setaffinity", 0}, {"sched_setscheduler", 0}, {"sched_setparam", 0}}

// nsFlags are the clone flags that make namespaces: a guest never creates any.
const nsFlags = unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWNET |
	unix.CLONE_NEWIPC | unix.CLONE_NEWUTS | unix.CLONE_NEWCGROUP

// loadSeccomp loads the worker's filters; with execCheck or forks the spawning thread also
// gets the listener (see execcheck_linux.go) for its programs' execs, forks or both, left in
// execListener.
func loadSeccomp(execCheck, forks, hostPaths bool) error {
	names := make([]string, 0, len(allowedSyscalls))
	for _, n := range allowedSyscalls {
		if n != "clone" {
			names = append(names, n)
		}
	}
	conditional := []seccomp.NameWithConditions{{
		Name: "clone", Conditions: []seccomp.Condition{{Argument: 0, Operation: seccomp.BitsNotSet, Value: nsFlags}},
	}}
	for _, s := range selfOnly {
		conditional = append(conditional, seccomp.NameWithConditions{
			Name: s.name, Conditions: []seccomp.Condition{{Argument: s.arg, Operation: seccomp.Equal, Value: 0}},
		})
	}
	policy := seccomp.Filter{
		NoNewPrivs: true,
		Flag:       seccomp.FilterFlagTSync,
		Policy: seccomp.Policy{
			DefaultAction: seccomp.ActionErrno,
			Syscalls: []seccomp.SyscallGroup{
				{Action: seccomp.ActionAllow, Names: names},
				{Action: seccomp.ActionAllow, NamesWithCondtions: conditional},
				// Extended attributes are never set: they say the file system does not take
				// them (EOPNOTSUPP), which cp -p and tar treat as nothing to copy, where EPERM
				// fails them.
				{Action: seccomp.ActionErrno | seccomp.Action(unix.EOPNOTSUPP), Names: xattrWrites},
			},
		},
	}
	// The ABI filter goes first, the programs' filter last. The kernel runs every filter and
	// the most restrictive answer wins, whatever the order.
	if err := abifilter.Load(); err != nil {
		return err
	}
	if err := seccomp.LoadFilter(policy); err != nil {
		return err
	}
	// Without a mount namespace, chmod by path goes to the server with the execs, which carries
	// it out inside the workspace (see execGuard.chmod); without the exec check it is refused.
	var refused []string
	modes := execCheck && hostPaths
	if hostPaths {
		refused = append(refused, "truncate")
		if !modes {
			refused = append(refused, "chmod", "fchmodat", "fchmodat2")
		}
	}
	var err error
	spawn.Do(func() {
		if err = loadProgramFilter(refused); err == nil && (execCheck || forks) {
			execListener, err = loadExecListener(execCheck, forks, modes)
		}
	})
	return err
}

// loadProgramFilter adds, on the spawning thread only (programs inherit its filters, the rest
// of the worker does not), a filter that keeps programs' resource limits their own: prlimit64
// on any process but the caller fails. The worker sets its programs' limits from its other
// threads. The calls named in refused fail with EPERM too.
//
// Without a mount namespace, where the server's files, its cache and other workspaces have the
// worker's owner, these are the calls that change a file's mode or size by its path, which
// Landlock does not mediate (chmod on any ABI, truncate(2) before ABI 3): a program could
// otherwise chmod them away (an archive extracted with tar -P) or truncate the machine code
// every worker maps (SIGBUS in all of them). Their fd-based forms (fchmod, ftruncate) stay: a
// program holds an fd only of what Landlock let it open, so gzip, tar and cp -p keep working
// on the workspace. Owners and times by path stay too: without CAP_CHOWN a program gives no
// file away, and nothing of the server trusts a time a program could set.
func loadProgramFilter(refused []string) error {
	groups := []seccomp.SyscallGroup{{
		Action: seccomp.ActionErrno,
		NamesWithCondtions: []seccomp.NameWithConditions{{
			Name: "prlimit64", Conditions: []seccomp.Condition{{Argument: 0, Operation: seccomp.NotEqual, Value: 0}},
		}},
	}}
	if len(refused) > 0 {
		groups = append(groups, seccomp.SyscallGroup{Action: seccomp.ActionErrno, Names: refused})
	}
	return seccomp.LoadFilter(seccomp.Filter{
		NoNewPrivs: true,
		Policy:     seccomp.Policy{DefaultAction: seccomp.ActionAllow, Syscalls: groups},
	})
}
