package sessions

import (
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"wasmbox/worker"
)

// SnapshotFile is the name of a session's saved Python state: in the session's directory,
// beside its workspace, so the guest never sees it and the workspace's quota does not count it
// (WASMBOX_SNAPSHOT_MAX_MB bounds it instead). Deleting the session deletes it.
const SnapshotFile = "python.snapshot"

// Snapshots stores sessions' saved Python state for the worker supervisor, keyed by workspace
// directory. Snapshots are streamed to and from disk, never held in memory; a new one replaces
// the old durably (written beside it, synced, renamed), so a crash leaves the old state or the
// new, never a part. It is safe for concurrent use.
type Snapshots struct{}

var _ worker.SnapshotStore = Snapshots{}

func (Snapshots) path(workspace string) string {
	return filepath.Join(filepath.Dir(filepath.Clean(workspace)), SnapshotFile)
}

// Open implements [worker.SnapshotStore].
func (s Snapshots) Open(workspace string) (io.ReadCloser, time.Time, error) {
	// Non-blocking: a FIFO put in its place must not block the server in open(2).
	f, err := os.OpenFile(s.path(workspace), os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, time.Time{}, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, time.Time{}, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, time.Time{}, &os.PathError{Op: "open", Path: f.Name(), Err: os.ErrNotExist}
	}
	return f, fi.ModTime(), nil
}

// Create implements [worker.SnapshotStore].
func (s Snapshots) Create(workspace string) (worker.SnapshotWriter, error) {
	return createAtomic(s.path(workspace))
}

// Remove implements [worker.SnapshotStore].
func (s Snapshots) Remove(workspace string) {
	if os.Remove(s.path(workspace)) == nil {
		syncDir(filepath.Dir(s.path(workspace)))
	}
}

// Saved implements [worker.SnapshotStore].
func (s Snapshots) Saved(workspace string) (time.Time, bool) {
	fi, err := os.Stat(s.path(workspace))
	if err != nil {
		return time.Time{}, false
	}
	return fi.ModTime(), true
}
