package sessions

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// load reads a saved state whole (tests only: the server streams it).
func load(st Snapshots, ws string) (string, error) {
	f, _, err := st.Open(ws)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	return string(b), err
}

// TestSnapshots: a session's saved state is kept beside its workspace, not in it; saves
// replace it whole, and only when committed; an aborted save keeps the old one; a missing one
// says so.
func TestSnapshots(t *testing.T) {
	dir := t.TempDir()
	ws := filepath.Join(dir, "workspace")
	os.Mkdir(ws, 0o755)
	var st Snapshots
	if _, _, err := st.Open(ws); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("no snapshot yet: got %v, want ErrNotExist", err)
	}
	if _, ok := st.Saved(ws); ok {
		t.Error("Saved reports a snapshot that does not exist")
	}
	for _, data := range []string{"first, longer state", "second"} {
		w, err := st.Create(ws)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, data)
		if got, _ := load(st, ws); got == data {
			t.Errorf("%q visible before Commit", data)
		}
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
		if got, err := load(st, ws); err != nil || got != data {
			t.Fatalf("load after saving %q: %q %v", data, got, err)
		}
	}
	w, _ := st.Create(ws)
	io.WriteString(w, "half of a state")
	w.Abort()
	if got, _ := load(st, ws); got != "second" {
		t.Errorf("after an aborted save: %q, want the old state", got)
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
	// Not a regular file (a FIFO would block the reader): as if there were none.
	syscall.Mkfifo(filepath.Join(dir, SnapshotFile), 0o600)
	if _, _, err := st.Open(ws); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a FIFO as the snapshot: %v, want ErrNotExist", err)
	}
}

// TestAtomicFile_renameFails: a commit whose rename fails is an error, leaves no temporary
// file and keeps the old content.
func TestAtomicFile_renameFails(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	os.Mkdir(target, 0o700) // a non-empty directory cannot be renamed over
	os.WriteFile(filepath.Join(target, "keep"), nil, 0o600)
	a, err := createAtomic(target)
	if err != nil {
		t.Fatal(err)
	}
	a.Write([]byte("new"))
	if err := a.Commit(); err == nil {
		t.Error("a commit whose rename failed succeeded")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d entries after the failed commit, want only the target", len(entries))
	}
	if err := a.Commit(); err == nil {
		t.Error("a second commit succeeded")
	}
}
