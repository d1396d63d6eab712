package worker

import "golang.org/x/sys/unix"

// nativeAudit is the audit architecture of this build's syscalls; arm64 has no second ABI
// sharing its audit architecture, so foreignNrBase is above every syscall number.
const (
	nativeAudit   = unix.AUDIT_ARCH_AARCH64
	foreignNrBase = 0x40000000
)
