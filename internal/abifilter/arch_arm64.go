package abifilter

import "golang.org/x/sys/unix"

// NativeAudit is the audit architecture of this build's syscalls; arm64 has no second ABI
// sharing its audit architecture, so ForeignNrBase is above every syscall number.
const (
	NativeAudit   = unix.AUDIT_ARCH_AARCH64
	ForeignNrBase = 0x40000000
)
