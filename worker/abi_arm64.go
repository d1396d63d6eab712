package worker

import "golang.org/x/sys/unix"

// nativeAudit is the audit architecture of this build's syscalls; arm64 has no second ABI
// sharing its audit architecture, so foreignNrBase is above every syscall number.
const (
	nativeAudit   = unix.AUDIT_ARCH_AARCH64
	foreignNrBase = 0x40000000
)

// arm64 has no fork or vfork (it forks with clone only): numbers no syscall has.
const (
	sysFork  = 0x7ffffffe
	sysVfork = 0x7fffffff
)

// chmodCalls change a file's mode by its path (see [execGuard.chmod]).
var chmodCalls = []uint32{unix.SYS_FCHMODAT, unix.SYS_FCHMODAT2}
