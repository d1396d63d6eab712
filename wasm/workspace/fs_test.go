package workspace

import (
	"os"
	"path/filepath"
	"testing"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
)

func TestContained(t *testing.T) {
	cases := []struct {
		dir, target string
		want        bool
	}{
		{".", "a", true},
		{".", "a/../b", true},
		{"a/b", "../c", true},
		{"a/b", "../..", true},
		{"a/b", "../../..", false},
		{".", "..", false},
		{".", "../x", false},
		{".", "/etc", false},
		{".", "", false},
		{"a", "b/../../../etc", false},
	}
	for _, tc := range cases {
		if got := Contained(tc.dir, tc.target); got != tc.want {
			t.Errorf("Contained(%q, %q) = %v, want %v", tc.dir, tc.target, got, tc.want)
		}
	}
}

func newFS(t *testing.T, quota int64) (*FS, string) {
	t.Helper()
	dir := t.TempDir()
	f, err := New(dir, quota)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, dir
}

// TestFS_escapes drives the file system as wazero would, with paths a hostile guest chooses.
func TestFS_escapes(t *testing.T) {
	f, dir := newFS(t, 0)
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o600)
	os.Symlink(outside, filepath.Join(dir, "out"))
	os.Symlink("/etc", filepath.Join(dir, "etc"))
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)

	for _, p := range []string{"out/secret", "etc/passwd", "../secret", "sub/../../x", "/../etc/passwd"} {
		if file, errno := f.OpenFile(p, experimentalsys.O_RDONLY, 0); errno == 0 {
			file.Close()
			t.Errorf("OpenFile(%q) succeeded, want refused", p)
		}
		if _, errno := f.Stat(p); errno == 0 {
			t.Errorf("Stat(%q) succeeded, want refused", p)
		}
	}
	if errno := f.Symlink("/etc", "abs"); errno != experimentalsys.EPERM {
		t.Errorf("Symlink to /etc: errno %v, want EPERM", errno)
	}
	if errno := f.Symlink("../../x", "sub/rel"); errno != experimentalsys.EPERM {
		t.Errorf("Symlink climbing out: errno %v, want EPERM", errno)
	}
	if errno := f.Symlink("../sub", "sub/ok"); errno != experimentalsys.EPERM {
		t.Errorf("Symlink inside: errno %v, want EPERM (no symbolic links in a workspace)", errno)
	}
	if errno := f.Link("out/secret", "hl"); errno == 0 {
		t.Error("Link through an escaping symlink succeeded")
	}
	if errno := f.Rename("sub", "../moved"); errno == 0 {
		t.Error("Rename out of the root succeeded")
	}
	if errno := f.Rename("out/secret", "stolen"); errno == 0 {
		t.Error("Rename into the root from outside succeeded")
	}
	if errno := f.Mkdir("../made", 0o755); errno == 0 {
		t.Error("Mkdir outside succeeded")
	}
	if errno := f.Unlink("out/secret"); errno == 0 {
		t.Error("Unlink outside succeeded")
	}
	if _, err := os.Stat(filepath.Join(outside, "secret")); err != nil {
		t.Errorf("file outside was touched: %v", err)
	}
}

func TestFS_quota(t *testing.T) {
	f, _ := newFS(t, 100)
	file, errno := f.OpenFile("a", experimentalsys.O_CREAT|experimentalsys.O_RDWR, 0o644)
	if errno != 0 {
		t.Fatal(errno)
	}
	if _, errno := file.Write(make([]byte, 80)); errno != 0 {
		t.Fatalf("write under quota: %v", errno)
	}
	if _, errno := file.Write(make([]byte, 30)); errno == 0 {
		t.Fatal("write past quota succeeded")
	}
	if !f.QuotaExceeded() {
		t.Error("QuotaExceeded false after a refused write")
	}
	if _, errno := file.Pwrite(make([]byte, 10), 0); errno != 0 {
		t.Errorf("overwrite inside the file: %v", errno)
	}
	file.Close()
	if errno := f.Unlink("a"); errno != 0 {
		t.Fatal(errno)
	}
	if got := f.Used(); got != 0 {
		t.Errorf("used after unlink = %d, want 0", got)
	}
	file, _ = f.OpenFile("b", experimentalsys.O_CREAT|experimentalsys.O_WRONLY, 0o644)
	if _, errno := file.Write(make([]byte, 100)); errno != 0 {
		t.Errorf("write after freeing space: %v", errno)
	}
	file.Close()
}
