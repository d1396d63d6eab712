package worker

import "golang.org/x/sys/unix"

// nativeAudit is the audit architecture of this build's syscalls; x32 numbers start at
// foreignNrBase.
const (
	nativeAudit   = unix.AUDIT_ARCH_X86_64
	foreignNrBase = 0x40000000
)

// fork and vfork, which arm64 does not have (it forks with clone only).
const (
	sysFork  = unix.SYS_FORK
	sysVfork = unix.SYS_VFORK
)

// chmodCalls change a file's mode by its path (see [execGuard.chmod]).
var chmodCalls = []uint32{unix.SYS_CHMOD, unix.SYS_FCHMODAT, unix.SYS_FCHMODAT2}
