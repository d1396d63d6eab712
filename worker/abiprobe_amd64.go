package worker

import "syscall"

// int80 makes an i386 syscall with number trap through int 0x80 (abiprobe_amd64.s).
func int80(trap uintptr) uintptr

func foreignSyscall(abi string) (uintptr, bool) {
	switch abi {
	case "i386":
		return int80(20), true // getpid in the i386 table
	case "x32":
		r, _, _ := syscall.RawSyscall(foreignNrBase|syscall.SYS_GETPID, 0, 0, 0)
		return r, true
	case "native":
		r, _, _ := syscall.RawSyscall(syscall.SYS_GETPID, 0, 0, 0)
		return r, true
	}
	return 0, false
}
