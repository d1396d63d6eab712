package worker

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"

	"wasmbox/internal/spawn"
)

// ABIProbeCommand is a hidden subcommand that loads the worker's seccomp filters and then makes
// one syscall through a foreign ABI: "i386" (int 0x80) or "x32". The filters must kill it with
// SIGSYS before it prints anything; tests run it to prove that. With "denied" it instead tries
// the calls the filters refuse on other processes or altogether, and prints each one's result.
const ABIProbeCommand = "__worker-abi-probe"

// ABIProbe is the body of [ABIProbeCommand].
func ABIProbe(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: wasmbox "+ABIProbeCommand+" i386|x32|native")
		return 2
	}
	if err := loadSeccompAllThreads(); err != nil {
		fmt.Fprintln(os.Stderr, "seccomp:", err)
		return 1
	}
	if args[0] == "denied" {
		for _, c := range deniedCalls() {
			fmt.Printf("%s: %v\n", c.name, c.err)
		}
		return 0
	}
	r, ok := foreignSyscall(args[0])
	if !ok {
		fmt.Fprintf(os.Stderr, "%s syscalls do not exist on this architecture\n", args[0])
		return 3
	}
	fmt.Printf("survived: %s getpid returned %d\n", args[0], r)
	return 0
}

func loadSeccompAllThreads() error {
	if err := noNewPrivs(); err != nil {
		return err
	}
	return loadSeccomp(false, false, true)
}

type probeCall struct {
	name string
	err  error
}

// deniedCalls makes the calls a worker's programs must not make (on the parent: the server;
// on a file by its path, outside a mount namespace) and some they may, from the spawning thread
// whose filters programs inherit.
func deniedCalls() []probeCall {
	var out []probeCall
	ppid := unix.Getppid()
	dir, err := os.MkdirTemp("", "wasmbox-probe-")
	if err != nil {
		return []probeCall{{"temporary directory", err}}
	}
	defer os.RemoveAll(dir)
	file := dir + "/f"
	if err := os.WriteFile(file, []byte("content"), 0o644); err != nil {
		return []probeCall{{"temporary file", err}}
	}
	spawn.Do(func() {
		out = append(out, probeCall{"chmod path", unix.Chmod(file, 0)})
		out = append(out, probeCall{"fchmodat path", unix.Fchmodat(unix.AT_FDCWD, file, 0, 0)})
		out = append(out, probeCall{"truncate path", unix.Truncate(file, 0)})
		fd, err := unix.Open(file, unix.O_RDWR, 0)
		if err != nil {
			out = append(out, probeCall{"open", err})
			return
		}
		defer unix.Close(fd)
		out = append(out, probeCall{"fchmod fd (allowed)", unix.Fchmod(fd, 0o600)})
		out = append(out, probeCall{"ftruncate fd (allowed)", unix.Ftruncate(fd, 3)})
		// futimens(3) is utimensat with a NULL path (unix.Futimes goes through /proc by path).
		ts := make([]unix.Timespec, 2)
		_, _, errno := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
		out = append(out, probeCall{"futimens fd (allowed)", errnoErr(errno)})
	})
	if fi, err := os.Stat(file); err == nil && fi.Size() != 3 {
		out = append(out, probeCall{"size after the calls", fmt.Errorf("%d bytes, want 3", fi.Size())})
	}
	spawn.Do(func() {
		fd, err := unix.InotifyInit1(0)
		if err == nil {
			unix.Close(fd)
		}
		out = append(out, probeCall{"inotify_init1", err})
		_, err = unix.FanotifyInit(0, 0)
		out = append(out, probeCall{"fanotify_init", err})
		out = append(out, probeCall{"setpriority parent", unix.Setpriority(unix.PRIO_PROCESS, ppid, 19)})
		_, err = unix.Getpriority(unix.PRIO_PROCESS, ppid)
		out = append(out, probeCall{"getpriority parent", err})
		var set unix.CPUSet
		set.Set(0)
		out = append(out, probeCall{"sched_setaffinity parent", unix.SchedSetaffinity(ppid, &set)})
		out = append(out, probeCall{"prlimit parent", unix.Prlimit(ppid, unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: 1, Max: 1}, nil)})
		out = append(out, probeCall{"setpriority self (allowed)", unix.Setpriority(unix.PRIO_PROCESS, 0, 11)})
		var l unix.Rlimit
		out = append(out, probeCall{"prlimit self (allowed)", unix.Prlimit(0, unix.RLIMIT_NOFILE, nil, &l)})
	})
	return out
}

func errnoErr(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}
