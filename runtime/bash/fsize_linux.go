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

// programMemory sets the address-space limit of a program just started. It lands a moment
// after the program began (Go starts programs without a hook between fork and exec); an
// allowlisted program allocates little before it has read its input.
func programMemory(pid int, bytes int64) {
	unix.Prlimit(pid, unix.RLIMIT_AS, &unix.Rlimit{Cur: uint64(bytes), Max: uint64(bytes)}, nil)
}
