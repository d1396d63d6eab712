package bash

import (
	"os"
	"testing"
)

// TestMain lets the test binary serve as the launcher, as the wasmbox binary does.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == LauncherCommand {
		os.Exit(Launch(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == ProbeCommand {
		os.Exit(RunProbe(os.Args[2:]))
	}
	os.Exit(m.Run())
}
