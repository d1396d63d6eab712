// Package filesnap records a workspace's files before and after a run, to tell which the run
// created or changed.
package filesnap

import (
	"wasmbox/runtime"

	"io/fs"
	"mime"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// MIMEType guesses a file's media type from its name.
func MIMEType(name string) string {
	ext := strings.ToLower(path.Ext(name))
	switch ext {
	case ".py", ".sh", ".ts", ".md", ".log", ".txt", ".yaml", ".yml", ".toml", ".ini", ".cfg":
		return "text/plain; charset=utf-8"
	case ".csv":
		return "text/csv; charset=utf-8"
	case ".json":
		return "application/json"
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

// maxSnapshot bounds how many workspace entries a snapshot looks at.
const maxSnapshot = 10000

type fileState struct {
	size  int64
	mtime time.Time
}

// FileSnapshot is the state of a workspace's regular files at one moment.
type FileSnapshot map[string]fileState

// Snapshot records the regular files under dir (paths slash-separated, relative to dir).
func Snapshot(dir string) FileSnapshot {
	s := FileSnapshot{}
	n := 0
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if n++; n > maxSnapshot {
			return filepath.SkipAll
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return nil
		}
		s[filepath.ToSlash(rel)] = fileState{size: fi.Size(), mtime: fi.ModTime()}
		return nil
	})
	return s
}

// Changed lists the files of after that are new or changed since before, sorted by path.
func Changed(before, after FileSnapshot) []runtime.File {
	var out []runtime.File
	for p, st := range after {
		if old, ok := before[p]; !ok || old != st {
			out = append(out, runtime.File{Path: p, Size: st.size, MIME: MIMEType(p)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}
