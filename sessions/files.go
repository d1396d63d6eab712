package sessions

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"wasmbox/internal/filesnap"
	"wasmbox/runtime"
	"wasmbox/workspace"
)

// Errors of the file operations.
var (
	ErrBadPath  = errors.New("sessions: bad path")
	ErrTooLarge = errors.New("sessions: file too large")
	ErrQuota    = errors.New("sessions: workspace quota exceeded")
)

// FileInfo describes a workspace file.
type FileInfo struct {
	Path     string    `json:"path"`
	Size     int64     `json:"size"`
	MIME     string    `json:"mime"`
	Modified time.Time `json:"modified"`
}

// CleanPath checks a path a client gave for a workspace file: relative, no "..", no NUL,
// not empty. It returns the slash-separated clean form.
func CleanPath(p string) (string, error) {
	if p == "" || strings.ContainsRune(p, 0) || strings.ContainsRune(p, '\\') {
		return "", fmt.Errorf("%w: %q (want a relative path inside the workspace)", ErrBadPath, p)
	}
	if path.IsAbs(p) || strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("%w: %q is absolute; paths are relative to the workspace", ErrBadPath, p)
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return "", fmt.Errorf("%w: %q leaves the workspace", ErrBadPath, p)
		}
	}
	c := path.Clean(p)
	if c == "." {
		return "", fmt.Errorf("%w: %q names the workspace itself, not a file", ErrBadPath, p)
	}
	return c, nil
}

// workspaceRoot opens a live session's workspace for reading.
func (m *Manager) workspaceRoot(id string) (*os.Root, error) {
	_, root, release, err := m.sessionRoot(id, false)
	if err != nil {
		return nil, err
	}
	release()
	return root, nil
}

// sessionRoot opens a live session's workspace. In cluster mode the session is held (its
// newest committed files restored here) until release, which commits the workspace when write
// is set and says whether that worked; release is always called once.
func (m *Manager) sessionRoot(id string, write bool) (*session, *os.Root, func() error, error) {
	var held Held
	var shared *session
	if m.cfg.shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
		defer cancel()
		if _, err := m.lookup(ctx, id); err != nil {
			return nil, nil, nil, err
		}
		m.mu.Lock()
		s, err := m.lookupLocked(id)
		m.mu.Unlock()
		if err != nil {
			return nil, nil, nil, err
		}
		if held, err = m.holdForFiles(ctx, s); err != nil {
			return nil, nil, nil, m.sharedErr(id, err)
		}
		if held.Stale() {
			m.reload(s)
		}
		shared = s
	}
	release := func() error {
		if held == nil {
			return nil
		}
		defer held.Release()
		ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
		defer cancel()
		if write {
			if err := held.Commit(ctx); err != nil {
				return fmt.Errorf("%w (%v); the change was not saved, try again", ErrUnavailable, err)
			}
		}
		m.touchShared(ctx, shared)
		return nil
	}
	m.mu.Lock()
	s, err := m.lookupLocked(id)
	if err == nil {
		s.lastUsed = m.cfg.now()
	}
	m.mu.Unlock()
	if err != nil {
		release()
		return nil, nil, nil, err
	}
	root, err := os.OpenRoot(s.workspace())
	if err != nil {
		release()
		return nil, nil, nil, err
	}
	return s, root, release, nil
}

// Files lists a session's workspace files, sorted by path.
func (m *Manager) Files(id string) ([]FileInfo, error) {
	root, err := m.workspaceRoot(id)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	var out []FileInfo
	visited, limit := 0, m.cfg.limits.WorkspaceEntries
	err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		// Never more work than the entry cap allows, however the workspace got its entries.
		if visited++; visited > limit+1 {
			return fs.SkipAll
		}
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		out = append(out, FileInfo{Path: p, Size: fi.Size(), MIME: filesnap.MIMEType(p), Modified: fi.ModTime().UTC()})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	if out == nil {
		out = []FileInfo{}
	}
	return out, err
}

// ReadFile returns a workspace file; files over max bytes fail with ErrTooLarge. Only
// regular files are read ([Manager.OpenFile]).
func (m *Manager) ReadFile(id, p string, max int64) ([]byte, FileInfo, error) {
	f, info, err := m.OpenFile(id, p)
	if err != nil {
		return nil, info, err
	}
	defer f.Close()
	if info.Size > max {
		return nil, info, fmt.Errorf("%w: %s is %d bytes; the limit is %d", ErrTooLarge, info.Path, info.Size, max)
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err == nil && int64(len(b)) > max {
		err = fmt.Errorf("%w: %s grew past %d bytes while read", ErrTooLarge, info.Path, max)
	}
	return b, info, err
}

// OpenFile opens a workspace file for reading; the caller closes it. Only regular files are
// opened: the workspace's owner may have made a FIFO, a socket or a device node in it (a
// tar archive carries them), and open(2) of a FIFO blocks until a writer comes, holding a
// server thread for good. The file is opened without blocking (O_NONBLOCK), inside the
// workspace's root (which resolves any symbolic link within the workspace only), then checked
// by its own descriptor, so what is checked is what is read.
func (m *Manager) OpenFile(id, p string) (*os.File, FileInfo, error) {
	clean, err := CleanPath(p)
	if err != nil {
		return nil, FileInfo{}, err
	}
	root, err := m.workspaceRoot(id)
	if err != nil {
		return nil, FileInfo{}, err
	}
	defer root.Close() // an open file outlives its root
	f, err := root.OpenFile(filepath.FromSlash(clean), os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, FileInfo{}, fileErr(clean, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, FileInfo{}, fileErr(clean, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, FileInfo{}, fmt.Errorf("%w: %s is not a regular file (%s); only regular files can be read or downloaded", ErrBadPath, clean, kindOf(fi.Mode()))
	}
	return f, FileInfo{Path: clean, Size: fi.Size(), MIME: filesnap.MIMEType(clean), Modified: fi.ModTime().UTC()}, nil
}

// kindOf names a file type for messages.
func kindOf(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "not a plain file"
}

// WriteFile creates or replaces a workspace file with data; see [Manager.WriteFileFrom].
func (m *Manager) WriteFile(id, p string, data []byte) (FileInfo, error) {
	return m.WriteFileFrom(id, p, bytes.NewReader(data), int64(len(data)))
}

// WriteFileFrom creates or replaces a workspace file with what r yields, at most max bytes
// (ErrTooLarge past it), creating its directories, within the quota and the entry cap. The
// bytes go to disk as they arrive (a temporary file beside the target, renamed over it at
// the end), so an upload costs a buffer, not its size, in memory; a failed or cut-off upload
// leaves nothing. Uploads to one session are serialized, so the room each one measured is
// still there while it writes; a slow upload delays only uploads to its own session.
func (m *Manager) WriteFileFrom(id, p string, r io.Reader, max int64) (FileInfo, error) {
	clean, err := CleanPath(p)
	if err != nil {
		return FileInfo{}, err
	}
	if err := workspace.CheckPath(clean); err != nil {
		return FileInfo{}, fmt.Errorf("%w: %v", ErrBadPath, err)
	}
	s, root, release, err := m.sessionRoot(id, true)
	if err != nil {
		return FileInfo{}, err
	}
	defer root.Close()
	info, err := m.writeFile(s, root, clean, r, max)
	if rerr := release(); err == nil && rerr != nil {
		return FileInfo{}, rerr
	}
	return info, err
}

func (m *Manager) writeFile(s *session, root *os.Root, clean string, r io.Reader, max int64) (FileInfo, error) {
	s.files.Lock()
	defer s.files.Unlock()
	name := filepath.FromSlash(clean)
	var old int64
	newEntries := 1
	if fi, err := root.Lstat(name); err == nil {
		if fi.Mode().IsRegular() {
			old = workspace.Allocated(fi)
		}
		newEntries = 0
	}
	for dir := path.Dir(clean); dir != "."; dir = path.Dir(dir) {
		if _, err := root.Lstat(filepath.FromSlash(dir)); err != nil {
			newEntries++
		}
	}
	l := m.cfg.limits
	used, _ := workspace.Measure(s.workspace(), l.WorkspaceEntries)
	if used.Entries+newEntries > l.WorkspaceEntries {
		return FileInfo{}, fmt.Errorf("%w: the workspace holds %d files and directories, its maximum is %d; delete some first", ErrQuota, used.Entries, l.WorkspaceEntries)
	}
	// The room left: whole 4 KiB blocks, as the quota counts allocated bytes.
	limit, byQuota := max, false
	if l.WorkspaceQuota > 0 {
		if room := (l.WorkspaceQuota - used.Bytes + old) &^ 4095; room < limit {
			limit, byQuota = room, true
		}
	}
	quotaErr := func(n int64) error {
		return fmt.Errorf("%w: the workspace holds %d MiB; writing %d more bytes would pass its %d MiB quota; delete files first", ErrQuota, used.Bytes>>20, n, l.WorkspaceQuota>>20)
	}
	if sized, ok := r.(interface{ Len() int }); ok && int64(sized.Len()) > limit {
		if byQuota && int64(sized.Len()) <= max {
			return FileInfo{}, quotaErr(int64(sized.Len()))
		}
		return FileInfo{}, fmt.Errorf("%w: %s is %d bytes; the limit is %d", ErrTooLarge, clean, sized.Len(), max)
	}
	if limit < 0 {
		limit = 0
	}
	if dir := path.Dir(clean); dir != "." {
		if err := root.MkdirAll(filepath.FromSlash(dir), 0o755); err != nil {
			return FileInfo{}, fileErr(clean, err)
		}
	}
	// The bytes go to a file in the session's directory, beside the workspace, not in it: the
	// guest never sees a partial upload, a crash leaves it where the startup sweep removes it
	// (a temporary file of a durable write), and it is renamed into the target's directory,
	// opened through the root, at the end (renameat replaces a symbolic link at the target's
	// name rather than following it).
	f, err := os.CreateTemp(s.dir, "upload"+tmpInfix+"*")
	if err != nil {
		return FileInfo{}, fmt.Errorf("sessions: upload %s: %w", clean, err)
	}
	tmp := f.Name()
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(tmp)
		}
	}()
	n, err := io.Copy(f, io.LimitReader(r, limit+1))
	switch {
	case err != nil:
		return FileInfo{}, fmt.Errorf("sessions: upload %s: %w", clean, err)
	case n > limit && (!byQuota || n > max):
		return FileInfo{}, fmt.Errorf("%w: %s is over %d bytes", ErrTooLarge, clean, max)
	case n > limit:
		return FileInfo{}, fmt.Errorf("%w: the workspace holds %d MiB; the upload passed the %d MiB left of its %d MiB quota; delete files first", ErrQuota, used.Bytes>>20, limit>>20, l.WorkspaceQuota>>20)
	}
	if err := f.Close(); err != nil {
		return FileInfo{}, fmt.Errorf("sessions: upload %s: %w", clean, err)
	}
	if err := renameInto(tmp, root, name); err != nil {
		return FileInfo{}, fileErr(clean, err)
	}
	done = true
	return FileInfo{Path: clean, Size: n, MIME: filesnap.MIMEType(clean), Modified: time.Now().UTC()}, nil
}

// renameInto renames the file at the host path tmp to name in root: name's directory is opened
// through root (it cannot lead outside), and the last step is renameat on that directory.
func renameInto(tmp string, root *os.Root, name string) error {
	dir, err := root.OpenFile(filepath.Dir(name), os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer dir.Close()
	if err := unix.Renameat(unix.AT_FDCWD, tmp, int(dir.Fd()), filepath.Base(name)); err != nil {
		return &os.LinkError{Op: "rename", Old: tmp, New: name, Err: err}
	}
	return nil
}

func fileErr(p string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return &noFileError{path: p}
	}
	if errors.Is(err, workspace.ErrEscapes) {
		return fmt.Errorf("%w: %s leads outside the workspace", ErrBadPath, p)
	}
	return fmt.Errorf("sessions: %s: %w", p, err)
}

// FindByPrefix returns owner's live session whose id starts with prefix (at least 24 hex
// digits), for clients that can only carry a shortened id. Other owners' sessions are not
// found.
func (m *Manager) FindByPrefix(prefix, owner string) (string, error) {
	if len(prefix) < 24 {
		return "", fmt.Errorf("%w: id prefix %q is too short", ErrNotFound, prefix)
	}
	key := ownerKey(owner)
	m.mu.Lock()
	for id, s := range m.byID {
		if strings.HasPrefix(id, prefix) && s.owner == key {
			m.mu.Unlock()
			return id, nil
		}
	}
	m.mu.Unlock()
	if m.cfg.shared != nil {
		// Cluster mode: the owner's sessions on every replica, from the directory.
		ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
		defer cancel()
		list, err := m.cfg.shared.Listed(ctx, key, m.cfg.maxPerOwner)
		if err != nil {
			return "", fmt.Errorf("%w (%v); try again in a moment", ErrUnavailable, err)
		}
		for _, e := range list {
			if strings.HasPrefix(e.ID, prefix) {
				return e.ID, nil
			}
		}
	}
	return "", fmt.Errorf("%w: no session matches; it may have expired or been deleted", ErrNotFound)
}

// DeleteFile removes a workspace file.
func (m *Manager) DeleteFile(id, p string) error {
	clean, err := CleanPath(p)
	if err != nil {
		return err
	}
	_, root, release, err := m.sessionRoot(id, true)
	if err != nil {
		return err
	}
	defer root.Close()
	if err := root.Remove(filepath.FromSlash(clean)); err != nil {
		release()
		return fileErr(clean, err)
	}
	return release()
}

// MaxCopyBytes bounds one file copied between sessions by [Manager.CopyFile].
const MaxCopyBytes = 50 << 20

// CopyFile copies file p of session from into session to under name ("" keeps p); the
// destination's quota applies. The bytes stream from file to file, never whole in memory.
func (m *Manager) CopyFile(from, p, to, name string) (FileInfo, error) {
	f, info, err := m.OpenFile(from, p)
	if err != nil {
		return FileInfo{}, err
	}
	defer f.Close()
	if info.Size > MaxCopyBytes {
		return FileInfo{}, fmt.Errorf("%w: %s is %d bytes; the limit is %d", ErrTooLarge, info.Path, info.Size, MaxCopyBytes)
	}
	if name == "" {
		name = p
	}
	return m.WriteFileFrom(to, name, f, MaxCopyBytes)
}

// Image files of a run that [Manager.RunImages] returns, at most.
const (
	MaxRunImages     = 4
	MaxRunImageBytes = 2 << 20
)

// ImageMIME are the image types returned as images (the rest are files).
var ImageMIME = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true}

// RunImages returns the image files run res of session id created or changed (savefig('x.png'),
// a PNG written by bash), at most MaxRunImages of MaxRunImageBytes each; figures the run
// already returned are not repeated.
func (m *Manager) RunImages(id string, res *runtime.Result) []runtime.Image {
	if res.ImagesDone {
		return nil
	}
	var out []runtime.Image
	for _, f := range res.Files {
		if len(out) >= MaxRunImages {
			break
		}
		if !ImageMIME[f.MIME] || f.Size > MaxRunImageBytes {
			continue
		}
		data, _, err := m.ReadFile(id, f.Path, MaxRunImageBytes)
		if err != nil || shown(res.Images, data) {
			continue
		}
		out = append(out, runtime.Image{MIME: f.MIME, Data: data})
	}
	return out
}

func shown(images []runtime.Image, data []byte) bool {
	for _, im := range images {
		if string(im.Data) == string(data) {
			return true
		}
	}
	return false
}
