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

// arm64 has no fork or vfork (it forks with clone only): numbers no syscall has.
const (
	sysFork  = 0x7ffffffe
	sysVfork = 0x7fffffff
)

// chmodCalls change a file's mode by its path (see [execGuard.chmod]).
var chmodCalls = []uint32{unix.SYS_FCHMODAT, unix.SYS_FCHMODAT2}
