package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wasmbox/sessions"
)

// TestServe_restart: Python state survives a graceful restart (SIGTERM, start again on the
// same data directory): variables, imports, functions and pandas DataFrames come back from the
// session's snapshot, outside its workspace and its quota.
func TestServe_restart(t *testing.T) {
	data := t.TempDir()
	s1 := startServerIn(t, data)
	id := s1.session()
	setup := "import statistics\nx = 42\ndef f(): return statistics.mean([x, 0])\n" +
		"import pandas as pd\ndf = pd.DataFrame({'k': list('abab'), 'v': range(4)})"
	if r := s1.run(id, "python", setup); r.kind() != "ok" {
		t.Fatalf("setup: %s", r.raw)
	}
	s1.stop()
	snap := filepath.Join(data, "sessions", id, sessions.SnapshotFile)
	fi, err := os.Stat(snap)
	if err != nil {
		t.Fatalf("no snapshot after SIGTERM: %v", err)
	}
	t.Logf("snapshot of a small session with a pandas DataFrame: %d bytes", fi.Size())
	if _, err := os.Stat(filepath.Join(data, "sessions", id, "workspace", sessions.SnapshotFile)); err == nil {
		t.Error("the snapshot is inside the workspace")
	}
	s2 := startServerIn(t, data)
	r := s2.run(id, "python", "print(x, f(), df.groupby('k')['v'].sum().to_dict())")
	if r.kind() != "ok" || r.Stdout != "42 21 {'a': 2, 'b': 4}\n" || r.StateReset || !strings.Contains(r.raw, "state_restored") {
		t.Errorf("after the restart: %s", r.raw)
	}
}
