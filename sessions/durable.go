package sessions

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// tmpInfix marks the temporary files durable writes make beside their target; the startup
// sweep removes any left by a crash.
const tmpInfix = ".tmp-"

// atomicFile is a file being written in place of path: it is written to a temporary file in
// the same directory, then Commit syncs it, renames it over path and syncs the directory, so
// after a crash path holds either the old content or the new, never part of it. Not safe for
// concurrent use.
type atomicFile struct {
	f    *os.File
	path string
	done bool
}

func createAtomic(path string) (*atomicFile, error) {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+tmpInfix+"*")
	if err != nil {
		return nil, err
	}
	return &atomicFile{f: f, path: path}, nil
}

func (a *atomicFile) Write(p []byte) (int, error) { return a.f.Write(p) }

// Commit makes what was written the content of path, durably.
func (a *atomicFile) Commit() error {
	if a.done {
		return errors.New("sessions: file already committed or aborted")
	}
	a.done = true
	tmp := a.f.Name()
	err := a.f.Sync()
	if cerr := a.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, a.path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("sessions: save %s: %w", filepath.Base(a.path), err)
	}
	if err := syncDir(filepath.Dir(a.path)); err != nil {
		return fmt.Errorf("sessions: save %s: %w", filepath.Base(a.path), err)
	}
	return nil
}

// Abort throws away what was written; path keeps its old content.
func (a *atomicFile) Abort() {
	if a.done {
		return
	}
	a.done = true
	a.f.Close()
	os.Remove(a.f.Name())
}

// writeFileAtomic replaces path's content with data, durably (see [atomicFile]).
func writeFileAtomic(path string, data []byte) error {
	a, err := createAtomic(path)
	if err != nil {
		return fmt.Errorf("sessions: save %s: %w", filepath.Base(path), err)
	}
	if _, err := a.Write(data); err != nil {
		a.Abort()
		return fmt.Errorf("sessions: save %s: %w", filepath.Base(path), err)
	}
	return a.Commit()
}

// syncDir makes the directory's entries (a rename, a new or removed file) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// isTemp reports whether name is a temporary file of a durable write.
func isTemp(name string) bool { return strings.Contains(name, tmpInfix) }
