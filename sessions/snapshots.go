package sessions

import (
	"os"
	"path/filepath"
	"time"

	"wasmbox/worker"
)

// SnapshotFile is the name of a session's saved Python state: in the session's directory,
// beside its workspace, so the guest never sees it and the workspace's quota does not count it
// (WASMBOX_SNAPSHOT_MAX_MB bounds it instead). Deleting the session deletes it.
const SnapshotFile = "python.snapshot"

// Snapshots stores sessions' saved Python state for the worker supervisor, keyed by workspace
// directory. It is safe for concurrent use (each save replaces the file atomically).
type Snapshots struct{}

var _ worker.SnapshotStore = Snapshots{}

func (Snapshots) path(workspace string) string {
	return filepath.Join(filepath.Dir(filepath.Clean(workspace)), SnapshotFile)
}

// Load implements [worker.SnapshotStore].
func (s Snapshots) Load(workspace string) ([]byte, time.Time, error) {
	f, err := os.Open(s.path(workspace))
	if err != nil {
		return nil, time.Time{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, time.Time{}, err
	}
	data := make([]byte, fi.Size())
	if _, err := f.ReadAt(data, 0); err != nil && fi.Size() > 0 {
		return nil, time.Time{}, err
	}
	return data, fi.ModTime(), nil
}

// Save implements [worker.SnapshotStore].
func (s Snapshots) Save(workspace string, data []byte) error {
	path := s.path(workspace)
	tmp, err := os.CreateTemp(filepath.Dir(path), SnapshotFile+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Remove implements [worker.SnapshotStore].
func (s Snapshots) Remove(workspace string) { os.Remove(s.path(workspace)) }

// Saved implements [worker.SnapshotStore].
func (s Snapshots) Saved(workspace string) (time.Time, bool) {
	fi, err := os.Stat(s.path(workspace))
	if err != nil {
		return time.Time{}, false
	}
	return fi.ModTime(), true
}
