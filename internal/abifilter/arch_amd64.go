package abifilter

import "golang.org/x/sys/unix"

// NativeAudit is the audit architecture of this build's syscalls; x32 numbers start at
// ForeignNrBase.
const (
	NativeAudit   = unix.AUDIT_ARCH_X86_64
	ForeignNrBase = 0x40000000
)
