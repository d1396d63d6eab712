package bash

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"mvdan.cc/sh/v3/interp"

	"wasmbox/workspace"
)

// errOutside is returned for a path that leaves the workspace.
var errOutside = errors.New("outside the workspace")

// jail resolves shell paths inside one workspace directory. Paths are opened through os.Root,
// so symlinks cannot lead out of it either.
type jail struct {
	dir  string // absolute, symlinks resolved
	root *os.Root
}

func newJail(dir string) (*jail, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, err
	}
	return &jail{dir: abs, root: root}, nil
}

// Names is what every guest, in every language and layer mode, calls the workspace:
// /workspace, and /mnt/data where LibreChat's prompts put files. Where the worker has no mount
// namespace the workspace has a host path of its own, and these names are mapped onto it.
var Names = []string{"/workspace", "/mnt/data"}

// host maps a path under one of [Names] onto the workspace's directory; other paths are
// returned unchanged.
func (j *jail) host(path string) string {
	for _, n := range Names {
		if n == j.dir {
			continue
		}
		if rest, ok := strings.CutPrefix(path, n); ok && (rest == "" || rest[0] == '/') {
			return j.dir + rest
		}
	}
	return path
}

// hostArgs maps the arguments of a program that name the workspace by one of [Names] (also as
// --opt=/mnt/data/x) onto its directory: programs see the host's file system, where the names
// may not exist. args[0] is the program and stays.
func (j *jail) hostArgs(args []string) []string {
	out := make([]string, len(args))
	out[0] = args[0]
	for i, a := range args[1:] {
		if k := strings.IndexByte(a, '='); k > 0 && strings.HasPrefix(a, "-") {
			a = a[:k+1] + j.host(a[k+1:])
		} else {
			a = j.host(a)
		}
		out[i+1] = a
	}
	return out
}

// rel returns path (relative to cwd, or absolute) as a name inside the workspace, or
// errOutside. It is lexical; os.Root then refuses symlinks that leave.
func (j *jail) rel(cwd, path string) (string, error) {
	if !filepath.IsAbs(path) {
		path = filepath.Join(cwd, path)
	}
	path = j.host(filepath.Clean(path))
	if path == j.dir {
		return ".", nil
	}
	r, err := filepath.Rel(j.dir, path)
	if err != nil || r == ".." || strings.HasPrefix(r, "../") {
		return "", fmt.Errorf("%s: %w", path, errOutside)
	}
	return r, nil
}

// ancestor reports whether path is a directory on the way to the workspace: "/", "/mnt", or a
// parent of its host directory.
func (j *jail) ancestor(cwd, path string) bool {
	if !filepath.IsAbs(path) {
		path = filepath.Join(cwd, path)
	}
	path = filepath.Clean(path)
	for _, d := range append([]string{j.dir}, Names...) {
		if path == "/" || strings.HasPrefix(d, path+"/") {
			return true
		}
	}
	return false
}

// inside reports whether path resolves, through any symlinks, to a place inside the workspace.
func (j *jail) inside(cwd, path string) bool {
	r, err := j.rel(cwd, path)
	if err != nil {
		return false
	}
	// Resolve the longest existing prefix through os.Root: it fails if a link leaves.
	for p := r; ; p = filepath.Dir(p) {
		if _, err := j.root.Lstat(p); err == nil {
			if _, err := j.root.Stat(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return false
			}
			return true
		}
		if p == "." || p == "/" {
			return true
		}
	}
}

// devices are the only paths outside the workspace a redirection may name.
var devices = map[string]bool{"/dev/null": true, "/dev/zero": true, "/dev/stdout": true, "/dev/stderr": true, "/dev/stdin": true}

func (j *jail) open(ctx context.Context, path string, flag int, perm os.FileMode) (io.ReadWriteCloser, error) {
	hc := interp.HandlerCtx(ctx)
	switch path {
	case "/dev/null", "/dev/zero":
		return os.OpenFile(path, flag, perm)
	case "/dev/stdout":
		return nopCloser{hc.Stdout}, nil
	case "/dev/stderr":
		return nopCloser{hc.Stderr}, nil
	}
	r, err := j.rel(hc.Dir, path)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrPermission}
	}
	f, err := j.root.OpenFile(r, flag, perm)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: unwrapPath(err)}
	}
	return f, nil
}

type nopCloser struct{ io.Writer }

func (n nopCloser) Read([]byte) (int, error) { return 0, io.EOF }
func (nopCloser) Close() error               { return nil }

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	if errors.Is(err, workspace.ErrEscapes) {
		return fs.ErrPermission
	}
	return err
}

func (j *jail) readDir(ctx context.Context, path string) ([]fs.DirEntry, error) {
	r, err := j.rel(interp.HandlerCtx(ctx).Dir, path)
	if err != nil {
		if j.ancestor(interp.HandlerCtx(ctx).Dir, path) {
			// A glob of an absolute path reads each directory on the way (/mnt, then
			// /mnt/data): they exist, and show nothing.
			return nil, nil
		}
		return nil, &fs.PathError{Op: "readdir", Path: path, Err: fs.ErrPermission}
	}
	d, err := j.root.Open(r)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.ReadDir(-1)
}

func (j *jail) stat(ctx context.Context, name string, follow bool) (fs.FileInfo, error) {
	if devices[name] {
		return os.Stat(name)
	}
	r, err := j.rel(interp.HandlerCtx(ctx).Dir, name)
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
	}
	if follow {
		return j.root.Stat(r)
	}
	return j.root.Lstat(r)
}

func (j *jail) access(ctx context.Context, path string, mode interp.AccessMode) error {
	if _, err := j.stat(ctx, path, true); err != nil {
		return err
	}
	return nil
}

// pathArgs checks the arguments of an external command: one that names an existing host path
// outside the workspace (also as --opt=/path) is refused. Programs are confined by Landlock
// as well; this check makes the refusal early and clear, and covers hosts without Landlock.
func (j *jail) pathArgs(cwd string, args []string) error {
	for _, a := range args[1:] {
		for _, cand := range candidates(a) {
			if cand == "" || devices[cand] {
				continue
			}
			p := cand
			if !filepath.IsAbs(p) {
				p = filepath.Join(cwd, p)
			}
			// Only names of things that exist are paths; `s/a/b/` or `/x/ {print}` are not. A
			// name the program may create must fit the workspace's caps on length and depth.
			if _, err := os.Lstat(p); err != nil {
				if rel, err := filepath.Rel(j.dir, p); err == nil && !strings.HasPrefix(rel, "..") && !strings.HasPrefix(cand, "-") {
					if err := workspace.CheckPath(filepath.ToSlash(rel)); err != nil {
						return fmt.Errorf("%s: %w", cand, err)
					}
				}
				continue
			}
			if !j.inside(cwd, cand) {
				return fmt.Errorf("%s: %w", cand, errOutside)
			}
		}
	}
	return nil
}

// candidates are the parts of an argument that may be paths: the whole, and the value of
// --opt=value or -Xvalue forms.
func candidates(a string) []string {
	out := []string{a}
	if i := strings.IndexByte(a, '='); i > 0 && strings.HasPrefix(a, "-") {
		out = append(out, a[i+1:])
	}
	if len(a) > 2 && a[0] == '-' && a[1] != '-' && (a[2] == '/' || a[2] == '.') {
		out = append(out, a[2:])
	}
	return out
}
