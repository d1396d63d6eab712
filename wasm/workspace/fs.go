// Package workspace serves a session's workspace directory to a wazero guest as a file system
// whose every path resolves inside the directory.
//
// wazero's own directory mount follows host symlinks out of the mount (wazero issue #2321), so a
// guest that creates `x -> ../../etc` could read the host's files. [FS] opens everything through
// [os.Root], which refuses any path, including one reached through a symlink, that leaves the
// root. It also refuses to create symlinks whose target would leave the root, and enforces a
// quota on the bytes the workspace holds.
package workspace

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/sys"
)

// FS is a wazero file system confined to one directory. It is safe for concurrent use and must
// be closed when the guest that uses it is gone.
type FS struct {
	experimentalsys.UnimplementedFS
	root  *os.Root
	quota int64 // 0: no quota
	used  atomic.Int64
	// quotaHit records that a write was refused for the quota since the last QuotaExceeded.
	quotaHit atomic.Bool
}

// New opens dir (which must exist) as a workspace limited to quota bytes (0: unlimited).
func New(dir string, quota int64) (*FS, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	f := &FS{root: root, quota: quota}
	f.used.Store(Usage(dir))
	return f, nil
}

// Usage returns the bytes held by regular files under dir; unreadable entries count as zero.
func Usage(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// Close releases the directory handle.
func (f *FS) Close() error { return f.root.Close() }

// QuotaExceeded reports whether a write was refused for the quota since the last call.
func (f *FS) QuotaExceeded() bool { return f.quotaHit.Swap(false) }

// Quota returns the workspace's limit in bytes (0: none).
func (f *FS) Quota() int64 { return f.quota }

// Used returns the bytes the workspace holds, as tracked by writes through f.
func (f *FS) Used() int64 { return f.used.Load() }

// rel turns a guest path (relative to the mount, maybe with a leading slash) into an os.Root name.
func rel(p string) string {
	p = strings.TrimLeft(p, "/")
	if p == "" {
		return "."
	}
	return p
}

func errno(err error) experimentalsys.Errno {
	if err == nil {
		return 0
	}
	var pe *os.PathError
	var le *os.LinkError
	if errors.As(err, &pe) {
		err = pe.Err
	} else if errors.As(err, &le) {
		err = le.Err
	}
	var en syscall.Errno
	if !errors.As(err, &en) {
		// os.Root reports a path that escapes the root with a plain error.
		if strings.Contains(err.Error(), "escapes from parent") {
			return experimentalsys.EPERM
		}
	}
	return experimentalsys.UnwrapOSError(err)
}

// OpenFile implements experimentalsys.FS.
func (f *FS) OpenFile(p string, flag experimentalsys.Oflag, perm fs.FileMode) (experimentalsys.File, experimentalsys.Errno) {
	name := rel(p)
	oflag := 0
	switch {
	case flag&experimentalsys.O_RDWR != 0:
		oflag = os.O_RDWR
	case flag&experimentalsys.O_WRONLY != 0:
		oflag = os.O_WRONLY
	}
	for _, m := range []struct {
		w experimentalsys.Oflag
		o int
	}{
		{experimentalsys.O_APPEND, os.O_APPEND}, {experimentalsys.O_CREAT, os.O_CREATE},
		{experimentalsys.O_EXCL, os.O_EXCL}, {experimentalsys.O_TRUNC, os.O_TRUNC},
		{experimentalsys.O_SYNC, os.O_SYNC}, {experimentalsys.O_NOFOLLOW, syscall.O_NOFOLLOW},
		{experimentalsys.O_DIRECTORY, syscall.O_DIRECTORY},
	} {
		if flag&m.w != 0 {
			oflag |= m.o
		}
	}
	var before int64
	if oflag&os.O_TRUNC != 0 {
		if fi, err := f.root.Stat(name); err == nil && fi.Mode().IsRegular() {
			before = fi.Size()
		}
	}
	of, err := f.root.OpenFile(name, oflag, perm)
	if err != nil {
		return nil, errno(err)
	}
	f.used.Add(-before)
	file := &file{fs: f, f: of, name: name, append: oflag&os.O_APPEND != 0}
	if fi, err := of.Stat(); err == nil {
		file.dir = fi.IsDir()
		file.size = fi.Size()
	}
	return file, 0
}

func stat(fi fs.FileInfo, err error) (sys.Stat_t, experimentalsys.Errno) {
	if err != nil {
		return sys.Stat_t{}, errno(err)
	}
	return sys.NewStat_t(fi), 0
}

// Lstat implements experimentalsys.FS.
func (f *FS) Lstat(p string) (sys.Stat_t, experimentalsys.Errno) { return stat(f.root.Lstat(rel(p))) }

// Stat implements experimentalsys.FS.
func (f *FS) Stat(p string) (sys.Stat_t, experimentalsys.Errno) { return stat(f.root.Stat(rel(p))) }

// Mkdir implements experimentalsys.FS.
func (f *FS) Mkdir(p string, perm fs.FileMode) experimentalsys.Errno {
	return errno(f.root.Mkdir(rel(p), perm))
}

// Chmod implements experimentalsys.FS.
func (f *FS) Chmod(p string, perm fs.FileMode) experimentalsys.Errno {
	return errno(f.root.Chmod(rel(p), perm))
}

// Rename implements experimentalsys.FS.
func (f *FS) Rename(from, to string) experimentalsys.Errno {
	var replaced int64
	if fi, err := f.root.Lstat(rel(to)); err == nil && fi.Mode().IsRegular() {
		replaced = fi.Size()
	}
	if err := f.root.Rename(rel(from), rel(to)); err != nil {
		return errno(err)
	}
	f.used.Add(-replaced)
	return 0
}

// Rmdir implements experimentalsys.FS.
func (f *FS) Rmdir(p string) experimentalsys.Errno {
	fi, err := f.root.Lstat(rel(p))
	if err != nil {
		return errno(err)
	}
	if !fi.IsDir() {
		return experimentalsys.ENOTDIR
	}
	return errno(f.root.Remove(rel(p)))
}

// Unlink implements experimentalsys.FS.
func (f *FS) Unlink(p string) experimentalsys.Errno {
	fi, err := f.root.Lstat(rel(p))
	if err != nil {
		return errno(err)
	}
	if fi.IsDir() {
		return experimentalsys.EISDIR
	}
	if err := f.root.Remove(rel(p)); err != nil {
		return errno(err)
	}
	if fi.Mode().IsRegular() && linkCount(fi) == 1 {
		f.used.Add(-fi.Size())
	}
	return 0
}

func linkCount(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 1
}

// Link implements experimentalsys.FS. Both names resolve inside the root, so a hard link can
// only join two names of the workspace.
func (f *FS) Link(oldPath, newPath string) experimentalsys.Errno {
	return errno(f.root.Link(rel(oldPath), rel(newPath)))
}

// Symlink implements experimentalsys.FS: a symbolic link is never created in a workspace. One
// that points out could lead a host program (or another language's tool) outside, and one that
// points in can be retargeted later; wasmbox has no use for either.
func (f *FS) Symlink(target, linkName string) experimentalsys.Errno {
	return experimentalsys.EPERM
}

// Contained reports whether target, read relative to the directory dir (a slash-separated
// path relative to the root), names something inside the root.
func Contained(dir, target string) bool {
	if target == "" || path.IsAbs(target) || filepath.IsAbs(target) {
		return false
	}
	joined := path.Join(dir, target)
	return joined != ".." && !strings.HasPrefix(joined, "../")
}

// Readlink implements experimentalsys.FS.
func (f *FS) Readlink(p string) (string, experimentalsys.Errno) {
	s, err := f.root.Readlink(rel(p))
	return s, errno(err)
}

// Utimens implements experimentalsys.FS.
func (f *FS) Utimens(p string, atim, mtim int64) experimentalsys.Errno {
	fi, err := f.root.Stat(rel(p))
	if err != nil {
		return errno(err)
	}
	st := sys.NewStat_t(fi)
	a, m := resolveTimes(st, atim, mtim)
	return errno(f.root.Chtimes(rel(p), a, m))
}

// reserve accounts for growth bytes, failing with ENOSPC past the quota.
func (f *FS) reserve(growth int64) experimentalsys.Errno {
	if growth <= 0 {
		f.used.Add(growth)
		return 0
	}
	if n := f.used.Add(growth); f.quota > 0 && n > f.quota {
		f.used.Add(-growth)
		f.quotaHit.Store(true)
		// WASI preview 1 as wazero exposes it has no ENOSPC; the guest sees EIO and the
		// runtime explains the cause through QuotaExceeded.
		return experimentalsys.EIO
	}
	return 0
}

// file is an open workspace file or directory.
type file struct {
	experimentalsys.UnimplementedFile
	fs     *FS
	f      *os.File
	name   string
	dir    bool
	append bool
	size   int64 // size as known through this handle, for the quota
}

func (h *file) Dev() (uint64, experimentalsys.Errno) {
	st, e := h.Stat()
	return st.Dev, e
}

func (h *file) Ino() (sys.Inode, experimentalsys.Errno) {
	st, e := h.Stat()
	return st.Ino, e
}

func (h *file) IsDir() (bool, experimentalsys.Errno) { return h.dir, 0 }
func (h *file) IsAppend() bool                       { return h.append }

func (h *file) SetAppend(enable bool) experimentalsys.Errno {
	if enable == h.append {
		return 0
	}
	return experimentalsys.ENOSYS
}

func (h *file) Stat() (sys.Stat_t, experimentalsys.Errno) { return stat(h.f.Stat()) }

func (h *file) Read(buf []byte) (int, experimentalsys.Errno) {
	if h.dir {
		return 0, experimentalsys.EISDIR
	}
	n, err := h.f.Read(buf)
	if err == io.EOF {
		err = nil
	}
	return n, errno(err)
}

func (h *file) Pread(buf []byte, off int64) (int, experimentalsys.Errno) {
	if h.dir {
		return 0, experimentalsys.EISDIR
	}
	n, err := h.f.ReadAt(buf, off)
	if err == io.EOF {
		err = nil
	}
	return n, errno(err)
}

func (h *file) Seek(offset int64, whence int) (int64, experimentalsys.Errno) {
	if h.dir {
		// Rewinding a directory restarts its listing: reopen it.
		if offset != 0 || whence != io.SeekStart {
			return 0, experimentalsys.EINVAL
		}
		nf, err := h.fs.root.Open(h.name)
		if err != nil {
			return 0, errno(err)
		}
		h.f.Close()
		h.f = nf
		return 0, 0
	}
	n, err := h.f.Seek(offset, whence)
	return n, errno(err)
}

func (h *file) Readdir(n int) ([]experimentalsys.Dirent, experimentalsys.Errno) {
	if !h.dir {
		return nil, experimentalsys.EBADF
	}
	entries, err := h.f.ReadDir(n)
	if err == io.EOF {
		err = nil
	}
	out := make([]experimentalsys.Dirent, 0, len(entries))
	for _, e := range entries {
		var ino sys.Inode
		if fi, err := e.Info(); err == nil {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				ino = st.Ino
			}
		}
		out = append(out, experimentalsys.Dirent{Name: e.Name(), Ino: ino, Type: e.Type()})
	}
	return out, errno(err)
}

// growth returns how much writing n bytes at off grows the file.
func (h *file) growth(off int64, n int) int64 {
	if end := off + int64(n); end > h.size {
		return end - h.size
	}
	return 0
}

func (h *file) Write(buf []byte) (int, experimentalsys.Errno) {
	if h.dir {
		return 0, experimentalsys.EISDIR
	}
	if len(buf) == 0 {
		return 0, 0
	}
	off := h.size
	if !h.append {
		var err error
		if off, err = h.f.Seek(0, io.SeekCurrent); err != nil {
			return 0, errno(err)
		}
	}
	g := h.growth(off, len(buf))
	if e := h.fs.reserve(g); e != 0 {
		return 0, e
	}
	n, err := h.f.Write(buf)
	h.size += g
	return n, errno(err)
}

func (h *file) Pwrite(buf []byte, off int64) (int, experimentalsys.Errno) {
	if h.dir {
		return 0, experimentalsys.EISDIR
	}
	g := h.growth(off, len(buf))
	if e := h.fs.reserve(g); e != 0 {
		return 0, e
	}
	n, err := h.f.WriteAt(buf, off)
	h.size += g
	return n, errno(err)
}

func (h *file) Truncate(size int64) experimentalsys.Errno {
	if h.dir {
		return experimentalsys.EISDIR
	}
	if size < 0 {
		return experimentalsys.EINVAL
	}
	if e := h.fs.reserve(size - h.size); e != 0 {
		return e
	}
	if err := h.f.Truncate(size); err != nil {
		h.fs.used.Add(h.size - size)
		return errno(err)
	}
	h.size = size
	return 0
}

func (h *file) Sync() experimentalsys.Errno     { return errno(h.f.Sync()) }
func (h *file) Datasync() experimentalsys.Errno { return errno(h.f.Sync()) }

func (h *file) Utimens(atim, mtim int64) experimentalsys.Errno {
	fi, err := h.f.Stat()
	if err != nil {
		return errno(err)
	}
	a, m := resolveTimes(sys.NewStat_t(fi), atim, mtim)
	return errno(h.fs.root.Chtimes(h.name, a, m))
}

func (h *file) Close() experimentalsys.Errno { return errno(h.f.Close()) }
