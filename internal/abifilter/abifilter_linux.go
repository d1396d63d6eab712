// Package abifilter holds the seccomp filter every confined process loads first: it kills a
// process that makes a syscall through a foreign ABI, which filters keyed on native syscall
// numbers would misread.
package abifilter

import (
	"fmt"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Load kills the process on any syscall made through a foreign ABI (i386 int 0x80 on
// x86-64, x32), which an allowlist keyed on native numbers would misread, and answers clone3
// with ENOSYS: its flags live in memory a filter cannot read, so libc falls back to clone.
func Load() error {
	const (
		ldArch  = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq     = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		jge     = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
		ret     = unix.BPF_RET | unix.BPF_K
		offNr   = 0
		offArch = 4
		clone3  = 435
	)
	prog := []unix.SockFilter{
		{Code: ldArch, K: offArch},
		{Code: jeq, Jt: 1, Jf: 0, K: NativeAudit},
		{Code: ret, K: unix.SECCOMP_RET_KILL_PROCESS},
		{Code: ldArch, K: offNr},
		{Code: jge, Jt: 0, Jf: 1, K: ForeignNrBase},
		{Code: ret, K: unix.SECCOMP_RET_KILL_PROCESS},
		{Code: jeq, Jt: 0, Jf: 1, K: clone3},
		{Code: ret, K: unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)},
		{Code: ret, K: unix.SECCOMP_RET_ALLOW},
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	_, _, errno := syscall.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC,
		uintptr(unsafe.Pointer(&fprog)))
	if errno != 0 {
		return fmt.Errorf("load ABI filter: %w", errno)
	}
	return nil
}
