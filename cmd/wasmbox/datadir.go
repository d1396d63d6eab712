package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// checkDataDir makes sure the data directory can hold sessions before anything starts: it exists
// or can be made, and this process can create, write, sync, rename and remove a file in it, as
// the session store and the base image do. A directory that fails (read-only, owned by another
// user without write access for this one) is refused with one line saying what to change, not
// found out by the first session. It also reports whether the directory's file system makes
// hard links (some FUSE file systems do not): without them the base image is published by
// rename, which is what callers log.
func checkDataDir(dir string) (links bool, err error) {
	refuse := func(err error) error {
		return fmt.Errorf("data directory %s is not usable by uid %d (%v): make it writable by that user, or set WASMBOX_DATA_DIR (--data-dir) to a directory that is",
			dir, os.Getuid(), unwrapPath(err))
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, refuse(err)
	}
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return false, refuse(err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, err = f.Write([]byte("wasmbox\n"))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, refuse(err)
	}
	linked := tmp + ".link"
	links = os.Link(tmp, linked) == nil
	os.Remove(linked)
	moved := tmp + ".moved"
	if err := os.Rename(tmp, moved); err != nil {
		return links, refuse(err)
	}
	if err := os.Remove(moved); err != nil {
		return links, refuse(err)
	}
	return links, nil
}

// unwrapPath drops the path from a *PathError (the message names the directory already).
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) && filepath.IsAbs(pe.Path) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}
