// Package workspace is the one owner of a session's workspace accounting: what it holds is
// counted in allocated bytes by (device, inode), so hard links, renames, several handles,
// sparse files and directories each count exactly once, and in entries (files, directories,
// anything else), so a million empty files or directories are refused too. Walks never visit
// more than the entry cap, so a workspace over its cap can still be listed and cleaned.
package workspace

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Limits of a workspace.
type Limits struct {
	// Bytes is the quota of allocated bytes (0: none).
	Bytes int64
	// Entries caps files and directories together (0: DefaultMaxEntries).
	Entries int
}

// Defaults and caps.
const (
	DefaultMaxEntries = 10000
	// MaxPath is the longest path (bytes, relative to the workspace) and MaxDepth the deepest
	// nesting a workspace may hold.
	MaxPath  = 1024
	MaxDepth = 32
)

// Errors; they wrap to these sentinels.
var (
	ErrQuota   = errors.New("workspace: quota exceeded")
	ErrEntries = errors.New("workspace: too many entries")
	ErrPath    = errors.New("workspace: path too long or too deep")
)

// Usage is what a workspace holds.
type Usage struct {
	Bytes   int64 `json:"bytes"`
	Entries int   `json:"entries"`
	// Partial is true when the walk stopped at the entry cap: Bytes and Entries are lower bounds.
	Partial bool `json:"partial,omitempty"`
	// Deepest is the deepest nesting seen (1: a file at the top).
	Deepest int `json:"deepest"`
}

type inode struct{ dev, ino uint64 }

// Measure walks dir and counts its allocated bytes (each inode once) and entries, visiting at
// most maxEntries+1 entries (0: DefaultMaxEntries). It reads directories a chunk at a time and
// opens each relative to its parent, so a directory of a million entries costs no more than
// the cap, and a tree nested past PATH_MAX is still counted.
func Measure(dir string, maxEntries int) (Usage, error) {
	return walk(dir, maxEntries, nil)
}

// Entry is one name in a workspace, as [Entries] lists it.
type Entry struct {
	Path  string // slash-separated, relative to the workspace
	Dir   bool
	Ctime int64 // status change time, ns
}

// Entries lists a workspace's entries (at most maxEntries+1) along with its usage.
func Entries(dir string, maxEntries int) (Usage, []Entry, error) {
	var out []Entry
	u, err := walk(dir, maxEntries, func(e Entry) { out = append(out, e) })
	return u, out, err
}

func walk(dir string, maxEntries int, visit func(Entry)) (Usage, error) {
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return Usage{}, &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	m := &measure{max: maxEntries, seen: map[inode]bool{}, visit: visit}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) == nil {
		m.count(&st)
	}
	m.dir(fd, 1, "") // closes fd
	return m.u, nil
}

type measure struct {
	u     Usage
	max   int
	seen  map[inode]bool
	visit func(Entry)
}

func (m *measure) count(st *unix.Stat_t) {
	k := inode{uint64(st.Dev), st.Ino}
	if !m.seen[k] {
		m.seen[k] = true
		m.u.Bytes += st.Blocks * 512
	}
}

// maxWalkDepth bounds the open directories of one walk; deeper trees are reported Partial.
const maxWalkDepth = 256

// dir counts the entries of the directory fd (at depth) and below; it closes fd. It returns
// false once the walk must stop.
func (m *measure) dir(fd int, depth int, prefix string) bool {
	f := os.NewFile(uintptr(fd), "")
	defer f.Close()
	for {
		names, err := f.Readdirnames(256)
		for _, name := range names {
			if m.u.Entries++; m.u.Entries > m.max {
				m.u.Partial = true
				return false
			}
			m.u.Deepest = max(m.u.Deepest, depth)
			var st unix.Stat_t
			if unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
				continue // vanished meanwhile
			}
			m.count(&st)
			isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
			if m.visit != nil {
				m.visit(Entry{Path: prefix + name, Dir: isDir, Ctime: st.Ctim.Nano()})
			}
			if !isDir {
				continue
			}
			if depth >= maxWalkDepth {
				m.u.Partial = true
				return false
			}
			sub, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err != nil {
				continue
			}
			if !m.dir(sub, depth+1, prefix+name+"/") {
				return false
			}
		}
		if err != nil || len(names) == 0 {
			return true
		}
	}
}

// Allocated returns the bytes a file occupies on disk.
func Allocated(fi fs.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return fi.Size()
}

// CheckPath refuses a workspace-relative path that is too long or too deep.
func CheckPath(p string) error {
	p = strings.Trim(path.Clean("/"+p), "/")
	if len(p) > MaxPath {
		return fmt.Errorf("%w: %d bytes (at most %d)", ErrPath, len(p), MaxPath)
	}
	if d := strings.Count(p, "/") + 1; d > MaxDepth {
		return fmt.Errorf("%w: %d levels (at most %d)", ErrPath, d, MaxDepth)
	}
	return nil
}

// QuotaError describes a write refused for the quota, in words a user can act on.
func QuotaError(l Limits) error {
	return fmt.Errorf("%w: the workspace quota of %d MiB is full; delete files to go on", ErrQuota, l.Bytes>>20)
}

// EntriesError describes a creation refused for the entry cap.
func EntriesError(l Limits) error {
	return fmt.Errorf("%w: the workspace holds its maximum of %d files and directories; delete some to go on", ErrEntries, l.max())
}

func (l Limits) max() int {
	if l.Entries <= 0 {
		return DefaultMaxEntries
	}
	return l.Entries
}

// MaxEntries is the entry cap in force.
func (l Limits) MaxEntries() int { return l.max() }

// ErrEscapes is the error os.Root gives for a path that leads outside its root (a ".." or a
// symbolic link that leaves). The os package does not export it; it is learned once from an
// os.Root on "/" (which every process can open), so callers match it with errors.Is rather
// than by its text. Should that ever fail, it is an error nothing matches: escapes then
// surface as the plain errors os.Root gives, still refused.
var ErrEscapes = func() error {
	unknown := errors.New("workspace: os.Root's escape error (not learned)")
	r, err := os.OpenRoot("/")
	if err != nil {
		return unknown
	}
	defer r.Close()
	_, err = r.Stat("../wasmbox-escape-probe")
	var pe *fs.PathError
	if !errors.As(err, &pe) || errors.Is(pe.Err, fs.ErrNotExist) {
		return unknown
	}
	return pe.Err
}()
