package main

import (
	"os"
	"testing"

	"wasmbox/runtime/bash"
)

// TestMain lets the test binary serve as bash's launcher, as the wasmbox binary does.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == bash.LauncherCommand {
		os.Exit(bash.Launch(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == bash.ProbeCommand {
		os.Exit(bash.RunProbe(os.Args[2:]))
	}
	dir, err := os.MkdirTemp("", "wasmbox-test-bin-")
	if err != nil {
		panic(err)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
