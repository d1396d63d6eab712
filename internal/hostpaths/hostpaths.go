// Package hostpaths finds the host paths a confinement names: the ones that exist, and the
// dynamic loaders. Landlock refuses rules for paths that do not exist, and which of /lib64,
// /lib32 or /etc/magic a machine has differs.
package hostpaths

import (
	"os"
	"path/filepath"
)

// Dirs returns the paths that exist and are directories.
func Dirs(paths []string) []string { return existing(paths, true) }

// Files returns the paths that exist and are not directories.
func Files(paths []string) []string { return existing(paths, false) }

func existing(paths []string, dirs bool) []string {
	var out []string
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && fi.IsDir() == dirs {
			out = append(out, p)
		}
	}
	return out
}

// Loaders are the dynamic linkers the kernel executes for dynamically linked programs, with
// their symbolic links resolved.
func Loaders() []string {
	m, _ := filepath.Glob("/lib*/ld-linux*.so*")
	m2, _ := filepath.Glob("/usr/lib*/*/ld-linux*.so*")
	var out []string
	for _, p := range append(m, m2...) {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			out = append(out, real)
		}
	}
	return out
}
