package sessions

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

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

// workspaceRoot opens a live session's workspace.
func (m *Manager) workspaceRoot(id string) (*os.Root, error) {
	_, root, err := m.sessionRoot(id)
	return root, err
}

func (m *Manager) sessionRoot(id string) (*session, *os.Root, error) {
	m.mu.Lock()
	s, err := m.lookupLocked(id)
	if err == nil {
		s.lastUsed = m.cfg.now()
	}
	m.mu.Unlock()
	if err != nil {
		return nil, nil, err
	}
	root, err := os.OpenRoot(s.workspace())
	return s, root, err
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

// ReadFile returns a workspace file; files over max bytes fail with ErrTooLarge.
func (m *Manager) ReadFile(id, p string, max int64) ([]byte, FileInfo, error) {
	clean, err := CleanPath(p)
	if err != nil {
		return nil, FileInfo{}, err
	}
	root, err := m.workspaceRoot(id)
	if err != nil {
		return nil, FileInfo{}, err
	}
	defer root.Close()
	f, err := root.Open(filepath.FromSlash(clean))
	if err != nil {
		return nil, FileInfo{}, fileErr(clean, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, FileInfo{}, err
	}
	if !fi.Mode().IsRegular() {
		return nil, FileInfo{}, fmt.Errorf("%w: %s is not a regular file", ErrBadPath, clean)
	}
	info := FileInfo{Path: clean, Size: fi.Size(), MIME: filesnap.MIMEType(clean), Modified: fi.ModTime().UTC()}
	if fi.Size() > max {
		return nil, info, fmt.Errorf("%w: %s is %d bytes; the limit is %d", ErrTooLarge, clean, fi.Size(), max)
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	return b, info, err
}

// OpenFile opens a workspace file for reading; the caller closes it.
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
	f, err := root.Open(filepath.FromSlash(clean))
	if err != nil {
		return nil, FileInfo{}, fileErr(clean, err)
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, FileInfo{}, fmt.Errorf("%w: %s is not a regular file", ErrBadPath, clean)
	}
	return f, FileInfo{Path: clean, Size: fi.Size(), MIME: filesnap.MIMEType(clean), Modified: fi.ModTime().UTC()}, nil
}

// WriteFile creates or replaces a workspace file, creating its directories, within the quota
// and the entry cap. Uploads to one session are serialized, so the room each one measured is
// still there when it writes.
func (m *Manager) WriteFile(id, p string, data []byte) (FileInfo, error) {
	clean, err := CleanPath(p)
	if err != nil {
		return FileInfo{}, err
	}
	if err := workspace.CheckPath(clean); err != nil {
		return FileInfo{}, fmt.Errorf("%w: %v", ErrBadPath, err)
	}
	s, root, err := m.sessionRoot(id)
	if err != nil {
		return FileInfo{}, err
	}
	defer root.Close()
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
	need := (int64(len(data)) + 4095) &^ 4095
	if l.WorkspaceQuota > 0 && used.Bytes-old+need > l.WorkspaceQuota {
		return FileInfo{}, fmt.Errorf("%w: the workspace holds %d MiB; writing %d more bytes would pass its %d MiB quota; delete files first", ErrQuota, used.Bytes>>20, len(data), l.WorkspaceQuota>>20)
	}
	if used.Entries+newEntries > l.WorkspaceEntries {
		return FileInfo{}, fmt.Errorf("%w: the workspace holds %d files and directories, its maximum is %d; delete some first", ErrQuota, used.Entries, l.WorkspaceEntries)
	}
	if dir := path.Dir(clean); dir != "." {
		if err := root.MkdirAll(filepath.FromSlash(dir), 0o755); err != nil {
			return FileInfo{}, fileErr(clean, err)
		}
	}
	tmp := name + ".upload-tmp"
	if err := root.WriteFile(tmp, data, 0o644); err != nil {
		return FileInfo{}, fileErr(clean, err)
	}
	if err := root.Rename(tmp, name); err != nil {
		root.Remove(tmp)
		return FileInfo{}, fileErr(clean, err)
	}
	return FileInfo{Path: clean, Size: int64(len(data)), MIME: filesnap.MIMEType(clean), Modified: time.Now().UTC()}, nil
}

// errPathEscapes is the error os.Root gives for a path that leads out of it. The standard
// library does not export it, so it is taken from os.Root itself, once, and matched with
// errors.Is rather than by its text.
var errPathEscapes = func() error {
	r, err := os.OpenRoot(os.TempDir())
	if err != nil {
		return errors.New("sessions: no os.Root to learn its escape error from")
	}
	defer r.Close()
	_, err = r.Stat("../wasmbox-escape-probe")
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}()

func fileErr(p string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return &noFileError{path: p}
	}
	if errors.Is(err, errPathEscapes) {
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
	defer m.mu.Unlock()
	for id, s := range m.byID {
		if strings.HasPrefix(id, prefix) && s.owner == key {
			return id, nil
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
	root, err := m.workspaceRoot(id)
	if err != nil {
		return err
	}
	defer root.Close()
	if err := root.Remove(filepath.FromSlash(clean)); err != nil {
		return fileErr(clean, err)
	}
	return nil
}

// MaxCopyBytes bounds one file copied between sessions by [Manager.CopyFile].
const MaxCopyBytes = 50 << 20

// CopyFile copies file p of session from into session to under name ("" keeps p); the
// destination's quota applies.
func (m *Manager) CopyFile(from, p, to, name string) (FileInfo, error) {
	data, _, err := m.ReadFile(from, p, MaxCopyBytes)
	if err != nil {
		return FileInfo{}, err
	}
	if name == "" {
		name = p
	}
	return m.WriteFile(to, name, data)
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
