package sessions

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestSnapshots: a session's saved state is kept beside its workspace, not in it; saves
// replace it whole; a missing one says so.
func TestSnapshots(t *testing.T) {
	dir := t.TempDir()
	ws := filepath.Join(dir, "workspace")
	os.Mkdir(ws, 0o755)
	var st Snapshots
	if _, _, err := st.Load(ws); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("no snapshot yet: got %v, want ErrNotExist", err)
	}
	if _, ok := st.Saved(ws); ok {
		t.Error("Saved reports a snapshot that does not exist")
	}
	for _, data := range []string{"first, longer state", "second"} {
		if err := st.Save(ws, []byte(data)); err != nil {
			t.Fatal(err)
		}
		got, saved, err := st.Load(ws)
		if err != nil || string(got) != data || saved.IsZero() {
			t.Fatalf("load after saving %q: %q %v %v", data, got, saved, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, SnapshotFile)); err != nil {
		t.Errorf("not beside the workspace: %v", err)
	}
	if entries, _ := os.ReadDir(ws); len(entries) != 0 {
		t.Errorf("the workspace holds %d entries, want none", len(entries))
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("the session directory holds %d entries (a temporary file left?), want workspace and snapshot", len(entries))
	}
	st.Remove(ws)
	if _, ok := st.Saved(ws); ok {
		t.Error("the snapshot outlived Remove")
	}
}
