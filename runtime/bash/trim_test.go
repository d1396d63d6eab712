package bash

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"wasmbox/runtime"
)

// TestInterpreter_trim: a run that made several times the entry cap (as a stopped program on
// a loaded machine may) is trimmed back to the cap, newest first; what existed before stays.
func TestInterpreter_trim(t *testing.T) {
	ipi, dir := newInterp(t)
	ip := ipi.(*Interpreter)
	l := runtime.Limits{WorkspaceEntries: 100}
	existed := map[string]bool{}
	for i := range 10 {
		name := fmt.Sprintf("old%d", i)
		os.WriteFile(filepath.Join(dir, name), nil, 0o644)
		existed[name] = true
	}
	for i := range 900 {
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("new%d", i)), nil, 0o644)
	}
	removed := ip.trim(l, existed)
	entries, _ := os.ReadDir(dir)
	max := wsLimits(l).MaxEntries()
	if len(entries) > max {
		t.Errorf("%d entries left after removing %d, cap %d", len(entries), removed, max)
	}
	for name := range existed {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s, which existed before the run, was removed", name)
		}
	}
}
