package bash

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"syscall"
	"unsafe"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"github.com/landlock-lsm/go-landlock/landlock"
	llsys "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"

	"wasmbox/internal/abifilter"
	"wasmbox/internal/hostpaths"
)

// LauncherCommand is the hidden subcommand of the wasmbox binary that confines itself and then
// executes one allowlisted program. cmd/wasmbox dispatches it to [Launch].
const LauncherCommand = "__sandbox-exec"

// spec is what the interpreter tells the launcher, as JSON in its argument list.
type spec struct {
	Program    string   `json:"program"`
	Args       []string `json:"args"`
	Env        []string `json:"env"`
	Workspace  string   `json:"workspace"`
	CPUSeconds uint64   `json:"cpu_seconds"`
	Executable []string `json:"executable"` // files the program may execute (the allowlist)
}

// Limits applied to every program.
const (
	addressSpace = 512 << 20
	fileSize     = 64 << 20
	openFiles    = 256
	processes    = 512
)

// readOnly are the system trees programs need to run: code, libraries, locale and magic data.
var readOnly = []string{"/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin"}

// readOnlyFiles are the files of /etc programs read; nothing else of /etc is visible.
var readOnlyFiles = []string{"/etc/ld.so.cache", "/etc/localtime", "/etc/magic", "/etc/mime.types"}

// Launch is the body of the launcher subcommand: it applies rlimits, Landlock, no_new_privs and
// seccomp to itself and executes the program. It returns only on failure.
func Launch(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "wasmbox: launcher: want one JSON argument")
		return 126
	}
	var s spec
	if err := json.Unmarshal([]byte(args[0]), &s); err != nil {
		fmt.Fprintf(os.Stderr, "wasmbox: launcher: %v\n", err)
		return 126
	}
	if err := confine(s); err != nil {
		fmt.Fprintf(os.Stderr, "wasmbox: launcher: %v\n", err)
		return 126
	}
	// The address-space limit would starve this Go process, which reserves address space
	// generously: prepare everything execve needs, then set it and exec at once.
	prog, err := syscall.BytePtrFromString(s.Program)
	if err != nil {
		return 126
	}
	argv, err := syscall.SlicePtrFromStrings(s.Args)
	if err != nil {
		return 126
	}
	envv, err := syscall.SlicePtrFromStrings(s.Env)
	if err != nil {
		return 126
	}
	lim := unix.Rlimit{Cur: addressSpace, Max: addressSpace}
	if err := unix.Setrlimit(unix.RLIMIT_AS, &lim); err != nil {
		fmt.Fprintf(os.Stderr, "wasmbox: launcher: setrlimit AS: %v\n", err)
		return 126
	}
	_, _, errno := syscall.RawSyscall(syscall.SYS_EXECVE, uintptr(unsafe.Pointer(prog)),
		uintptr(unsafe.Pointer(&argv[0])), uintptr(unsafe.Pointer(&envv[0])))
	fmt.Fprintf(os.Stderr, "%s: %v\n", s.Args[0], errno)
	return 126
}

// confine applies every layer; a layer the kernel lacks is skipped (best effort), a layer that
// fails otherwise is an error.
func confine(s spec) error {
	limits := []struct {
		res int
		v   uint64
	}{
		{unix.RLIMIT_CPU, max(s.CPUSeconds, 1)},
		{unix.RLIMIT_FSIZE, fileSize},
		{unix.RLIMIT_NOFILE, openFiles},
		{unix.RLIMIT_NPROC, processes},
		{unix.RLIMIT_CORE, 0},
	}
	for _, l := range limits {
		if err := unix.Setrlimit(l.res, &unix.Rlimit{Cur: l.v, Max: l.v}); err != nil {
			return fmt.Errorf("setrlimit %d: %w", l.res, err)
		}
	}
	if err := landlockPaths(s); err != nil {
		return fmt.Errorf("landlock: %w", err)
	}
	// seccomp also sets no_new_privs (Landlock did already when active). The ABI filter goes
	// first: the next one allows what it does not name, and names native numbers only, so an
	// i386 or x32 syscall would pass it.
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	if err := abifilter.Load(); err != nil {
		return fmt.Errorf("seccomp: %w", err)
	}
	if err := seccomp.LoadFilter(filter()); err != nil {
		return fmt.Errorf("seccomp: %w", err)
	}
	return nil
}

const (
	readFS  = llsys.AccessFSReadFile | llsys.AccessFSReadDir
	writeFS = llsys.AccessFSWriteFile | llsys.AccessFSRemoveDir | llsys.AccessFSRemoveFile |
		llsys.AccessFSMakeDir | llsys.AccessFSMakeReg | llsys.AccessFSMakeSym | llsys.AccessFSTruncate
)

// landlockPaths lets the program read the system trees, read and write the workspace (but
// execute nothing there), and execute only the allowlisted programs. The network is closed
// too (TCP bind and connect) on kernels with Landlock ABI 4 or later. The refer right (moving
// files between the workspace's directories) is asked for only where the kernel has it (ABI
// 2): asked for on ABI 1, best effort drops Landlock altogether. Then it checks that the rules
// hold: no rule lets the program list the root directory.
func landlockPaths(s spec) error {
	ws := landlock.PathAccess(readFS|writeFS, s.Workspace)
	if abi, _ := llsys.LandlockGetABIVersion(); abi >= 2 {
		ws = ws.WithRefer()
	}
	rules := []landlock.Rule{
		landlock.PathAccess(readFS, hostpaths.Dirs(readOnly)...),
		landlock.PathAccess(llsys.AccessFSReadFile, hostpaths.Files(readOnlyFiles)...),
		ws,
		landlock.PathAccess(llsys.AccessFSReadFile|llsys.AccessFSWriteFile, hostpaths.Files([]string{"/dev/null", "/dev/zero", "/dev/urandom"})...),
		landlock.PathAccess(llsys.AccessFSExecute|llsys.AccessFSReadFile, hostpaths.Files(append(s.Executable, hostpaths.Loaders()...))...),
	}
	if err := landlock.V7.BestEffort().Restrict(rules...); err != nil {
		return err
	}
	if abi, _ := llsys.LandlockGetABIVersion(); abi < 1 {
		return nil // no Landlock: the caller knew (see probe_linux.go)
	}
	fd, err := unix.Open("/", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err == nil {
		unix.Close(fd)
		return errors.New("the rules were not enforced (the root directory is still readable)")
	}
	return nil
}

// filter denies network sockets, tracing, kernel interfaces that only attacks need, and changes
// of a file's mode or size by its path.
func filter() seccomp.Filter {
	deny := func(domain uint64) seccomp.NameWithConditions {
		return seccomp.NameWithConditions{Name: "socket", Conditions: []seccomp.Condition{{Argument: 0, Operation: seccomp.Equal, Value: domain}}}
	}
	return seccomp.Filter{
		NoNewPrivs: true,
		Flag:       seccomp.FilterFlagTSync,
		Policy: seccomp.Policy{
			DefaultAction: seccomp.ActionAllow,
			Syscalls: []seccomp.SyscallGroup{
				{
					Action:             seccomp.ActionErrno,
					NamesWithCondtions: []seccomp.NameWithConditions{deny(unix.AF_INET), deny(unix.AF_INET6), deny(unix.AF_NETLINK), deny(unix.AF_PACKET)},
				},
				{
					Action: seccomp.ActionErrno,
					Names: []string{"ptrace", "process_vm_readv", "process_vm_writev", "bpf", "perf_event_open",
						"mount", "umount2", "unshare", "setns", "keyctl", "add_key", "request_key", "kexec_load",
						"init_module", "finit_module", "delete_module", "pivot_root", "chroot", "userfaultfd",
						// Landlock does not mediate a mode or (before ABI 3) a size changed by path:
						// the host's files have this process's owner. fchmod and ftruncate act on
						// what Landlock let the program open.
						"chmod", "fchmodat", "fchmodat2", "truncate"},
				},
			},
		},
	}
}
