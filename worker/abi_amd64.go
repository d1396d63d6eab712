package worker

import (
	"golang.org/x/sys/unix"

	"wasmbox/internal/abifilter"
)

// nativeAudit is the audit architecture of this build's syscalls; foreign ABIs' numbers
// start at foreignNrBase (see abifilter).
const (
	nativeAudit   = abifilter.NativeAudit
	foreignNrBase = abifilter.ForeignNrBase
)

// fork and vfork, which arm64 does not have (it forks with clone only).
const (
	sysFork  = unix.SYS_FORK
	sysVfork = unix.SYS_VFORK
)

// chmodCalls change a file's mode by its path (see [execGuard.chmod]).
var chmodCalls = []uint32{unix.SYS_CHMOD, unix.SYS_FCHMODAT, unix.SYS_FCHMODAT2}
