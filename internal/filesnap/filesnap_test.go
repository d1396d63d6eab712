package filesnap

import (
	"os"
	"path/filepath"
	"testing"

	"wasmbox/runtime"
)

func TestChanged(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "same"), []byte("1"), 0o644)
	os.WriteFile(filepath.Join(dir, "edit"), []byte("1"), 0o644)
	before := Snapshot(dir)
	os.WriteFile(filepath.Join(dir, "edit"), []byte("22"), 0o644)
	os.MkdirAll(filepath.Join(dir, "d"), 0o755)
	os.WriteFile(filepath.Join(dir, "d", "new"), []byte("333"), 0o644)
	got := Changed(before, Snapshot(dir))
	want := []runtime.File{{Path: "d/new", Size: 3, MIME: "application/octet-stream"}, {Path: "edit", Size: 2, MIME: "application/octet-stream"}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestMIMEType(t *testing.T) {
	for name, want := range map[string]string{"a.png": "image/png", "d/x.CSV": "text/csv; charset=utf-8", "n.json": "application/json", "s.py": "text/plain; charset=utf-8", "noext": "application/octet-stream"} {
		if got := MIMEType(name); got != want {
			t.Errorf("MIMEType(%q) = %q, want %q", name, got, want)
		}
	}
}
