package wasm

import (
	"io/fs"
	"sync"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/sys"

	"wasmbox/wasm/guestfs"
	"wasmbox/workspace"
)

// Workspace is the file system at the guest's /workspace. It starts unbound (an empty,
// read-only directory), so an instance can be started ahead of time in a pool, and is bound to
// a session's directory when the session takes the instance. It is safe for concurrent use.
type Workspace struct {
	mu     sync.RWMutex
	fs     *guestfs.FS
	limits workspace.Limits
}

func newWorkspace(limits workspace.Limits) *Workspace { return &Workspace{limits: limits} }

// Bind serves dir from now on.
func (w *Workspace) Bind(dir string) error {
	f, err := guestfs.New(dir, w.limits)
	if err != nil {
		return err
	}
	w.mu.Lock()
	old := w.fs
	w.fs = f
	w.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return nil
}

// Unbind releases the directory.
func (w *Workspace) Unbind() {
	w.mu.Lock()
	old := w.fs
	w.fs = nil
	w.mu.Unlock()
	if old != nil {
		old.Close()
	}
}

// Refused returns why a write or creation was refused for a workspace limit since the last
// call (nil: none was).
func (w *Workspace) Refused() error {
	if f := w.get(); f != nil {
		return f.Refused()
	}
	return nil
}

// Resync measures the workspace again (bash or an upload may have changed it).
func (w *Workspace) Resync() {
	if f := w.get(); f != nil {
		f.Resync()
	}
}

func (w *Workspace) get() *guestfs.FS {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.fs
}

func (w *Workspace) target() experimentalsys.FS {
	if f := w.get(); f != nil {
		return f
	}
	return emptyDir{}
}

func (w *Workspace) OpenFile(p string, flag experimentalsys.Oflag, perm fs.FileMode) (experimentalsys.File, experimentalsys.Errno) {
	return w.target().OpenFile(p, flag, perm)
}
func (w *Workspace) Lstat(p string) (sys.Stat_t, experimentalsys.Errno) { return w.target().Lstat(p) }
func (w *Workspace) Stat(p string) (sys.Stat_t, experimentalsys.Errno)  { return w.target().Stat(p) }
func (w *Workspace) Mkdir(p string, perm fs.FileMode) experimentalsys.Errno {
	return w.target().Mkdir(p, perm)
}
func (w *Workspace) Chmod(p string, perm fs.FileMode) experimentalsys.Errno {
	return w.target().Chmod(p, perm)
}
func (w *Workspace) Rename(from, to string) experimentalsys.Errno { return w.target().Rename(from, to) }
func (w *Workspace) Rmdir(p string) experimentalsys.Errno         { return w.target().Rmdir(p) }
func (w *Workspace) Unlink(p string) experimentalsys.Errno        { return w.target().Unlink(p) }
func (w *Workspace) Link(o, n string) experimentalsys.Errno       { return w.target().Link(o, n) }
func (w *Workspace) Symlink(o, n string) experimentalsys.Errno    { return w.target().Symlink(o, n) }
func (w *Workspace) Readlink(p string) (string, experimentalsys.Errno) {
	return w.target().Readlink(p)
}
func (w *Workspace) Utimens(p string, a, m int64) experimentalsys.Errno {
	return w.target().Utimens(p, a, m)
}

// emptyDir is an empty read-only directory: the workspace before it is bound.
type emptyDir struct {
	experimentalsys.UnimplementedFS
}

func (emptyDir) OpenFile(p string, flag experimentalsys.Oflag, _ fs.FileMode) (experimentalsys.File, experimentalsys.Errno) {
	if p != "" && p != "." && p != "/" {
		return nil, experimentalsys.ENOENT
	}
	return &dirEntry{}, 0
}

func (emptyDir) Stat(p string) (sys.Stat_t, experimentalsys.Errno) {
	if p != "" && p != "." && p != "/" {
		return sys.Stat_t{}, experimentalsys.ENOENT
	}
	return sys.Stat_t{Mode: fs.ModeDir | 0o500, Nlink: 1}, 0
}

func (e emptyDir) Lstat(p string) (sys.Stat_t, experimentalsys.Errno) { return e.Stat(p) }
