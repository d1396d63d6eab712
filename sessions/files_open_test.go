package sessions

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"wasmbox/runtime"
)

// TestManager_OpenFile_special: a FIFO, a socket, a directory or a link to one in a workspace is
// refused at once, never opened in a way that blocks (open(2) of a FIFO waits for a writer).
func TestManager_OpenFile_special(t *testing.T) {
	m, _, _ := newManager(t, t.TempDir(), WithLimits(runtime.Limits{Timeout: 5 * time.Second}))
	s, _ := m.Create("alice")
	ws := filepath.Join(m.cfg.dataDir, "sessions", s.ID, "workspace")
	if err := syscall.Mkfifo(filepath.Join(ws, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(ws, "dir"), 0o755)
	os.Symlink("fifo", filepath.Join(ws, "link-to-fifo"))
	os.WriteFile(filepath.Join(ws, "plain"), []byte("ok"), 0o644)
	tests := []struct {
		name, path, want string
	}{
		{"fifo", "fifo", "a FIFO"},
		{"directory", "dir", "a directory"},
		{"link to a fifo", "link-to-fifo", "a FIFO"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan error, 2)
			go func() {
				f, _, err := m.OpenFile(s.ID, tc.path)
				if f != nil {
					f.Close()
				}
				done <- err
			}()
			go func() {
				_, _, err := m.ReadFile(s.ID, tc.path, 1<<20)
				done <- err
			}()
			for range 2 {
				select {
				case err := <-done:
					if !errors.Is(err, ErrBadPath) || !strings.Contains(err.Error(), tc.want) {
						t.Errorf("got %v, want ErrBadPath naming %s", err, tc.want)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("opening a special file blocked")
				}
			}
		})
	}
	if b, _, err := m.ReadFile(s.ID, "plain", 10); err != nil || string(b) != "ok" {
		t.Errorf("plain file: got %q, %v; want ok", b, err)
	}
	// Copying a FIFO to another session is refused the same way.
	other, _ := m.Create("alice")
	if _, err := m.CopyFile(s.ID, "fifo", other.ID, ""); !errors.Is(err, ErrBadPath) {
		t.Errorf("copy of a FIFO: got %v, want ErrBadPath", err)
	}
}

// failingReader yields n bytes, then fails, as a connection cut mid-upload does.
type failingReader struct{ n int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.ErrUnexpectedEOF
	}
	k := min(len(p), r.n)
	r.n -= k
	return k, nil
}

// TestManager_WriteFileFrom: streamed uploads are capped by size and by quota while they are
// written, and one that fails leaves nothing behind, not even its temporary file; a FIFO or
// a leftover named like the temporary file is never opened.
func TestManager_WriteFileFrom(t *testing.T) {
	m, _, _ := newManager(t, t.TempDir(), WithLimits(runtime.Limits{Timeout: 5 * time.Second, WorkspaceQuota: 1 << 20}))
	s, _ := m.Create("alice")
	ws := filepath.Join(m.cfg.dataDir, "sessions", s.ID, "workspace")
	syscall.Mkfifo(filepath.Join(ws, "a.upload-tmp"), 0o644)
	tests := []struct {
		name string
		r    io.Reader
		max  int64
		want error
	}{
		{"fits", strings.NewReader(strings.Repeat("x", 5000)), 1 << 20, nil},
		{"over max", io.LimitReader(zeros{}, 600<<10), 512 << 10, ErrTooLarge},
		{"over quota", io.LimitReader(zeros{}, 2<<20), 4 << 20, ErrQuota},
		{"cut off", &failingReader{n: 100 << 10}, 1 << 20, io.ErrUnexpectedEOF},
		{"empty", strings.NewReader(""), 1 << 20, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				_, err := m.WriteFileFrom(s.ID, "a", tc.r, tc.max)
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("upload blocked")
			}
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			for _, d := range []string{ws, filepath.Dir(ws)} {
				entries, _ := os.ReadDir(d)
				for _, e := range entries {
					if strings.HasSuffix(e.Name(), ".tmp") || isTemp(e.Name()) {
						t.Errorf("left behind: %s", filepath.Join(d, e.Name()))
					}
				}
			}
		})
	}
	// While an upload is written, the workspace has nothing of it: the guest sees the whole
	// file at the end or nothing.
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := m.WriteFileFrom(s.ID, "slow", pr, 1<<20)
		done <- err
	}()
	pw.Write(make([]byte, 64<<10))
	entries, _ := os.ReadDir(ws)
	for _, e := range entries {
		if strings.Contains(e.Name(), "slow") || isTemp(e.Name()) {
			t.Errorf("the workspace shows an upload in progress: %s", e.Name())
		}
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if b, _, _ := m.ReadFile(s.ID, "slow", 1<<20); len(b) != 64<<10 {
		t.Errorf("slow: %d bytes", len(b))
	}
	// A failed upload leaves the file it would have replaced as it was.
	m.WriteFile(s.ID, "keep", []byte("old"))
	m.WriteFileFrom(s.ID, "keep", &failingReader{n: 10}, 1<<20)
	if b, _, _ := m.ReadFile(s.ID, "keep", 10); string(b) != "old" {
		t.Errorf("after a failed upload: got %q, want old", b)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestManager_CopyFile_streamed: a copy between sessions streams: copying a 40 MiB file holds
// a buffer, not the file, and the copy's size cap and the destination's quota hold.
func TestManager_CopyFile_streamed(t *testing.T) {
	m, _, _ := newManager(t, t.TempDir(), WithLimits(runtime.Limits{Timeout: 5 * time.Second, WorkspaceQuota: 100 << 20}))
	a, _ := m.Create("alice")
	b, _ := m.Create("alice")
	if _, err := m.WriteFileFrom(a.ID, "big.bin", io.LimitReader(zeros{}, 40<<20), 64<<20); err != nil {
		t.Fatal(err)
	}
	goruntime.GC()
	var before, after goruntime.MemStats
	goruntime.ReadMemStats(&before)
	fi, err := m.CopyFile(a.ID, "big.bin", b.ID, "copy.bin")
	goruntime.ReadMemStats(&after)
	if err != nil || fi.Size != 40<<20 {
		t.Fatalf("copy: got %+v, %v", fi, err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 4<<20 {
		t.Errorf("copying 40 MiB allocated %d MiB, want under 4", grew>>20)
	}
	// Past the copy cap: refused before anything is written.
	c, _ := m.Create("alice")
	if _, err := m.WriteFileFrom(c.ID, "huge.bin", io.LimitReader(zeros{}, MaxCopyBytes+1), MaxCopyBytes+1); err != nil {
		t.Fatal(err)
	}
	if _, err := m.CopyFile(c.ID, "huge.bin", b.ID, ""); !errors.Is(err, ErrTooLarge) {
		t.Errorf("a copy over the cap: got %v, want ErrTooLarge", err)
	}
	// Past the destination's quota: b holds 40 MiB; two more copies of 40 MiB pass 100 MiB.
	if _, err := m.CopyFile(a.ID, "big.bin", b.ID, "second.bin"); err != nil {
		t.Fatalf("a second copy: %v", err)
	}
	if _, err := m.CopyFile(a.ID, "big.bin", b.ID, "third.bin"); !errors.Is(err, ErrQuota) {
		t.Errorf("a copy past the quota: got %v, want ErrQuota", err)
	}
	if files, _ := m.Files(b.ID); len(files) != 2 {
		t.Errorf("after a copy past the quota: got %v, want copy.bin and second.bin only", files)
	}
}
