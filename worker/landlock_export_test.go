package worker

import (
	"github.com/landlock-lsm/go-landlock/landlock"
	llsys "github.com/landlock-lsm/go-landlock/landlock/syscall"
)

// RestrictAsABI1 applies a worker's Landlock rules (outside a mount namespace) as on a kernel
// with Landlock ABI 1, for TestLandlock_abi1's child process: its config handles no refer
// right (truncate stays, to match the rules; this kernel has it).
func RestrictAsABI1(workspace string) error {
	abi1 := landlock.MustConfig(landlock.AccessFSSet(llsys.AccessFSRefer - 1 | llsys.AccessFSTruncate))
	return restrictPaths(abi1, 1, workspace, false, nil)
}

// LandlockHolds is the check a worker makes after its rules are applied.
func LandlockHolds() error { return landlockHolds() }
