// Package guestfs serves a session's workspace directory to a wazero guest as a file system
// whose every path resolves inside the directory.
//
// wazero's own directory mount follows host symlinks out of the mount (wazero issue #2321), so a
// guest that creates `x -> ../../etc` could read the host's files. [FS] opens everything through
// [os.Root], which refuses any path, including one reached through a symlink, that leaves the
// root. It creates no symbolic links at all, and enforces the workspace's limits (package
// wasmbox/workspace) while writing: allocated bytes counted by inode, entries, path length and
// depth.
package guestfs

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/sys"

	"wasmbox/workspace"
)

// FS is a wazero file system confined to one directory. It is safe for concurrent use and must
// be closed when the guest that uses it is gone.
type FS struct {
	experimentalsys.UnimplementedFS
	dir    string
	root   *os.Root
	limits workspace.Limits

	mu      sync.Mutex
	used    workspace.Usage
	pending int64              // growth counted by write size, not yet replaced by a stat (see settle)
	alloc   map[inodeKey]int64 // allocated bytes of files written through f, as last seen
	opens   map[inodeKey]int   // open handles by file
	orphans map[inodeKey]bool  // files removed while open: counted until their last close
	refused atomic.Pointer[error]
}

type inodeKey struct{ dev, ino uint64 }

// New opens dir (which must exist) as a workspace with the given limits.
func New(dir string, limits workspace.Limits) (*FS, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	f := &FS{dir: dir, root: root, limits: limits, alloc: map[inodeKey]int64{}, opens: map[inodeKey]int{}, orphans: map[inodeKey]bool{}}
	f.Resync()
	return f, nil
}

// Resync measures the workspace again, for what changed it from outside (bash programs,
// uploads) since the last measure.
// A walk cut short (past the entry cap, or nested too deep to walk) only gives lower bounds:
// the file system then fails closed, refusing growth and creation until files are removed.
// Files removed while still open keep counting until their last handle closes.
func (f *FS) Resync() {
	u, _ := workspace.Measure(f.dir, f.limits.MaxEntries())
	f.mu.Lock()
	defer f.mu.Unlock()
	if u.Partial {
		u.Bytes = max(u.Bytes, f.limits.Bytes)
		u.Entries = max(u.Entries, f.limits.MaxEntries())
	}
	alloc := map[inodeKey]int64{}
	for k, n := range f.alloc {
		if f.opens[k] > 0 {
			alloc[k] = n // still open: its growth is tracked from here
			if f.orphans[k] {
				u.Bytes += n // no walk finds it any more
			}
		}
	}
	f.used, f.alloc = u, alloc
}

// Close releases the directory handle.
func (f *FS) Close() error { return f.root.Close() }

// Refused returns why a write or creation was refused for a limit since the last call (nil:
// none was).
func (f *FS) Refused() error {
	if p := f.refused.Swap(nil); p != nil {
		return *p
	}
	return nil
}

// Used returns what the workspace holds, as measured and tracked through f.
func (f *FS) Used() workspace.Usage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.used
}

// refuse records why and returns the errno the guest sees. WASI preview 1 as wazero exposes it
// has no ENOSPC or EDQUOT: the guest sees EIO, and the run's result explains (see Refused).
func (f *FS) refuse(why error) experimentalsys.Errno {
	f.refused.Store(&why)
	return experimentalsys.EIO
}

func keyOf(fi fs.FileInfo) (inodeKey, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return inodeKey{}, false
	}
	return inodeKey{uint64(st.Dev), st.Ino}, true
}

func nlink(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 1
}

// newEntry admits one more entry at guest path p, or says why not.
func (f *FS) newEntry(p string) experimentalsys.Errno {
	if err := workspace.CheckPath(p); err != nil {
		f.refused.Store(&err)
		return experimentalsys.ENAMETOOLONG
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.used.Entries >= f.limits.MaxEntries() {
		return f.refuse(workspace.EntriesError(f.limits))
	}
	f.used.Entries++
	return 0
}

func (f *FS) forgetEntry() {
	f.mu.Lock()
	f.used.Entries--
	f.mu.Unlock()
}

// account sets what a file now occupies, from a fresh stat of it.
func (f *FS) account(fi fs.FileInfo) {
	k, ok := keyOf(fi)
	if !ok {
		return
	}
	now := workspace.Allocated(fi)
	f.mu.Lock()
	if before, seen := f.alloc[k]; seen {
		f.used.Bytes += now - before
	}
	f.alloc[k] = now
	f.mu.Unlock()
}

// seen starts tracking a file that was already counted by the last measure.
func (f *FS) seen(fi fs.FileInfo) {
	if k, ok := keyOf(fi); ok {
		f.mu.Lock()
		if _, ok := f.alloc[k]; !ok {
			f.alloc[k] = workspace.Allocated(fi)
		}
		f.mu.Unlock()
	}
}

// released removes a file's bytes when its last name went away.
func (f *FS) released(fi fs.FileInfo) {
	k, ok := keyOf(fi)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.used.Entries--
	if !fi.IsDir() && nlink(fi) > 1 {
		return // another name keeps it
	}
	if ok && f.opens[k] > 0 {
		if _, tracked := f.alloc[k]; !tracked {
			f.alloc[k] = workspace.Allocated(fi)
		}
		f.orphans[k] = true // still held open: it occupies the disk until closed
		return
	}
	if n, tracked := f.alloc[k]; ok && tracked {
		f.used.Bytes -= n
		delete(f.alloc, k)
	} else {
		f.used.Bytes -= workspace.Allocated(fi)
	}
}

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
	if errors.Is(err, workspace.ErrEscapes) {
		return experimentalsys.EPERM
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
	created := false
	if oflag&os.O_CREATE != 0 {
		if _, err := f.root.Lstat(name); errors.Is(err, fs.ErrNotExist) {
			if e := f.newEntry(name); e != 0 {
				return nil, e
			}
			created = true
		}
	}
	of, err := f.root.OpenFile(name, oflag, perm)
	if err != nil {
		if created {
			f.forgetEntry()
		}
		return nil, errno(err)
	}
	file := &file{fs: f, f: of, name: name, append: oflag&os.O_APPEND != 0}
	if fi, err := of.Stat(); err == nil {
		file.dir = fi.IsDir()
		if k, ok := keyOf(fi); ok && fi.Mode().IsRegular() {
			file.key, file.counted = k, true
			f.mu.Lock()
			f.opens[k]++
			f.mu.Unlock()
		}
		if fi.Mode().IsRegular() {
			if created || oflag&os.O_TRUNC != 0 {
				f.seenAs(fi, created)
			} else {
				f.seen(fi)
			}
		}
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
	if e := f.newEntry(rel(p)); e != 0 {
		return e
	}
	if err := f.root.Mkdir(rel(p), perm); err != nil {
		f.forgetEntry()
		return errno(err)
	}
	if fi, err := f.root.Lstat(rel(p)); err == nil {
		f.mu.Lock()
		f.used.Bytes += workspace.Allocated(fi)
		f.mu.Unlock()
	}
	return 0
}

// Chmod implements experimentalsys.FS.
func (f *FS) Chmod(p string, perm fs.FileMode) experimentalsys.Errno {
	return errno(f.root.Chmod(rel(p), perm))
}

// Rename implements experimentalsys.FS. Renaming onto another name of the same file changes
// nothing (POSIX), so nothing is uncounted; a replaced file's bytes go when its last name does.
func (f *FS) Rename(from, to string) experimentalsys.Errno {
	if err := workspace.CheckPath(rel(to)); err != nil {
		f.refused.Store(&err)
		return experimentalsys.ENAMETOOLONG
	}
	src, err := f.root.Lstat(rel(from))
	if err != nil {
		return errno(err)
	}
	dst, derr := f.root.Lstat(rel(to))
	if err := f.root.Rename(rel(from), rel(to)); err != nil {
		return errno(err)
	}
	if derr == nil && !os.SameFile(src, dst) {
		f.released(dst)
	}
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
	if err := f.root.Remove(rel(p)); err != nil {
		return errno(err)
	}
	f.released(fi)
	return 0
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
	f.released(fi)
	return 0
}

// Link implements experimentalsys.FS. Both names resolve inside the root, so a hard link can
// only join two names of the workspace.
func (f *FS) Link(oldPath, newPath string) experimentalsys.Errno {
	if e := f.newEntry(rel(newPath)); e != 0 {
		return e
	}
	if err := f.root.Link(rel(oldPath), rel(newPath)); err != nil {
		f.forgetEntry()
		return errno(err)
	}
	return 0
}

// Symlink implements experimentalsys.FS: a symbolic link is never created in a workspace. One
// that points out could lead a host program (or another language's tool) outside, and one that
// points in can be retargeted later; wasmbox has no use for either.
func (f *FS) Symlink(target, linkName string) experimentalsys.Errno {
	return experimentalsys.EPERM
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

// seenAs starts tracking a file just created or truncated: a new one was not in the last
// measure; a truncated one gave back what it held.
func (f *FS) seenAs(fi fs.FileInfo, created bool) {
	k, ok := keyOf(fi)
	if !ok {
		return
	}
	now := workspace.Allocated(fi)
	f.mu.Lock()
	defer f.mu.Unlock()
	before, tracked := f.alloc[k]
	switch {
	case tracked:
		f.used.Bytes += now - before
	case created:
		f.used.Bytes += now
	}
	f.alloc[k] = now
}

// admit checks, before a write of n bytes at off, that the file cannot grow past the quota:
// below the quota by n bytes or more there is nothing to look at; closer, only a write that
// stays within the file's allocated extent is let through.
func (h *file) admit(off int64, n int) experimentalsys.Errno {
	f := h.fs
	if f.limits.Bytes <= 0 || n == 0 {
		return 0
	}
	f.mu.Lock()
	room := f.limits.Bytes - f.used.Bytes - f.pending
	grow := int64(n) + 2*4096
	if grow <= room {
		f.pending += grow // counted as growth until the next stat says what it was
		f.mu.Unlock()
		h.pending += grow
		return 0
	}
	f.mu.Unlock()
	h.settle()
	if fi, err := h.f.Stat(); err == nil && off+int64(n) <= fi.Size() && workspace.Allocated(fi) >= fi.Size() {
		return 0 // overwrites allocated bytes
	}
	f.mu.Lock()
	room = f.limits.Bytes - f.used.Bytes - f.pending
	f.mu.Unlock()
	if grow <= room {
		f.mu.Lock()
		f.pending += grow
		f.mu.Unlock()
		h.pending += grow
		return 0
	}
	return f.refuse(workspace.QuotaError(f.limits))
}

// settleEvery is how much a handle may write between two stats of its file: below the quota
// by more than that, writes are counted by their size and the file's real allocation is
// taken every few hundred kilobytes, instead of a stat per write.
const settleEvery = 1 << 20

// settle replaces what this handle counted by size with what its file really allocates.
func (h *file) settle() {
	if h.pending == 0 {
		return
	}
	fi, err := h.f.Stat()
	f := h.fs
	f.mu.Lock()
	f.pending -= h.pending
	f.mu.Unlock()
	h.pending = 0
	if err == nil {
		f.account(fi)
	}
}

// wrote accounts for what a write changed, every settleEvery bytes.
func (h *file) wrote() {
	if h.fs.limits.Bytes <= 0 {
		return // nothing to hold it against; Resync measures before the next run
	}
	if h.pending >= settleEvery {
		h.settle()
	}
}

// file is an open workspace file or directory.
type file struct {
	experimentalsys.UnimplementedFile
	fs     *FS
	f      *os.File
	name   string
	dir    bool
	append bool
	// pending is what this handle's writes were counted as, by size, since its last stat.
	pending int64
	key     inodeKey // the file, for open-handle counts (counted: key is set)
	counted bool
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

func (h *file) Write(buf []byte) (int, experimentalsys.Errno) {
	if h.dir {
		return 0, experimentalsys.EISDIR
	}
	if len(buf) == 0 {
		return 0, 0
	}
	off := int64(1) << 62 // appending always grows the file
	if !h.append {
		var err error
		if off, err = h.f.Seek(0, io.SeekCurrent); err != nil {
			return 0, errno(err)
		}
	}
	if e := h.admit(off, len(buf)); e != 0 {
		return 0, e
	}
	n, err := h.f.Write(buf)
	h.wrote()
	return n, errno(err)
}

func (h *file) Pwrite(buf []byte, off int64) (int, experimentalsys.Errno) {
	if h.dir {
		return 0, experimentalsys.EISDIR
	}
	if e := h.admit(off, len(buf)); e != 0 {
		return 0, e
	}
	n, err := h.f.WriteAt(buf, off)
	h.wrote()
	return n, errno(err)
}

func (h *file) Truncate(size int64) experimentalsys.Errno {
	if h.dir {
		return experimentalsys.EISDIR
	}
	if size < 0 {
		return experimentalsys.EINVAL
	}
	// Growing by truncation makes a hole, which allocates nothing.
	err := h.f.Truncate(size)
	h.wrote()
	return errno(err)
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

func (h *file) Close() experimentalsys.Errno {
	h.settle()
	err := h.f.Close()
	if h.counted {
		h.counted = false
		f := h.fs
		f.mu.Lock()
		if f.opens[h.key]--; f.opens[h.key] <= 0 {
			delete(f.opens, h.key)
			if f.orphans[h.key] {
				f.used.Bytes -= f.alloc[h.key] // the last handle: the disk gets it back
				delete(f.orphans, h.key)
				delete(f.alloc, h.key)
			}
		}
		f.mu.Unlock()
	}
	return errno(err)
}
