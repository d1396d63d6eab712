package bash

import "golang.org/x/sys/unix"

// fileSizeLimit lowers this process's soft RLIMIT_FSIZE to n (never above the hard limit),
// for the programs started next. A program that writes past it gets SIGXFSZ.
func fileSizeLimit(n int64) {
	var l unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_FSIZE, &l) != nil {
		return
	}
	if uint64(n) < l.Max {
		l.Cur = uint64(n)
	} else {
		l.Cur = l.Max
	}
	unix.Setrlimit(unix.RLIMIT_FSIZE, &l)
}

// programLimits sets the address-space and CPU-time limits of a program just started (0:
// unchanged). They land a moment after the program began (Go starts programs without a hook
// between fork and exec); an allowlisted program allocates little before it has read its input.
// What the program starts inherits them: a process that outlives its run by leaving the
// worker's reach still stops once it has used its run's CPU time.
func programLimits(pid int, addressSpace int64, cpuSeconds uint64) {
	if addressSpace > 0 {
		unix.Prlimit(pid, unix.RLIMIT_AS, &unix.Rlimit{Cur: uint64(addressSpace), Max: uint64(addressSpace)}, nil)
	}
	if cpuSeconds > 0 {
		unix.Prlimit(pid, unix.RLIMIT_CPU, &unix.Rlimit{Cur: cpuSeconds, Max: cpuSeconds}, nil)
	}
}
