package guestfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"

	"wasmbox/workspace"
)

func newFS(t *testing.T, quota int64, entries ...int) (*FS, string) {
	t.Helper()
	dir := t.TempDir()
	l := workspace.Limits{Bytes: quota}
	if len(entries) > 0 {
		l.Entries = entries[0]
	}
	f, err := New(dir, l)
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

func write(t *testing.T, f *FS, name string, n int, flags experimentalsys.Oflag) experimentalsys.Errno {
	t.Helper()
	file, errno := f.OpenFile(name, experimentalsys.O_CREAT|experimentalsys.O_WRONLY|flags, 0o644)
	if errno != 0 {
		return errno
	}
	defer file.Close()
	_, errno = file.Write(make([]byte, n))
	return errno
}

func TestFS_quota(t *testing.T) {
	f, _ := newFS(t, 64<<10)
	base := f.Used() // the workspace directory itself
	if errno := write(t, f, "a", 40<<10, 0); errno != 0 {
		t.Fatalf("write under quota: %v", errno)
	}
	if errno := write(t, f, "b", 40<<10, 0); errno == 0 {
		t.Fatal("write past quota succeeded")
	}
	if why := f.Refused(); !errors.Is(why, workspace.ErrQuota) || !strings.Contains(why.Error(), "quota of 0 MiB") && !strings.Contains(why.Error(), "quota") {
		t.Errorf("Refused() = %v, want the quota named", why)
	}
	file, _ := f.OpenFile("a", experimentalsys.O_RDWR, 0)
	if _, errno := file.Pwrite(make([]byte, 10<<10), 0); errno != 0 {
		t.Errorf("overwrite inside the file: %v", errno)
	}
	file.Close()
	if errno := f.Unlink("a"); errno != 0 {
		t.Fatal(errno)
	}
	if errno := f.Unlink("b"); errno != 0 {
		t.Fatal(errno)
	}
	if got := f.Used(); got != base {
		t.Errorf("used after unlink = %+v, want %+v", got, base)
	}
	if errno := write(t, f, "c", 40<<10, 0); errno != 0 {
		t.Errorf("write after freeing space: %v", errno)
	}
}

// TestFS_quota_attacks: ways around a quota that counts names or handles instead of inodes.
func TestFS_quota_attacks(t *testing.T) {
	t.Run("rename onto a hard link of itself", func(t *testing.T) {
		f, dir := newFS(t, 1<<20)
		if errno := write(t, f, "seed", 512<<10, 0); errno != 0 {
			t.Fatal(errno)
		}
		for i := 0; i < 50; i++ {
			f.Link("seed", "seed2")
			f.Rename("seed", "seed2")
			f.Unlink("seed2")
			write(t, f, "seed", 512<<10, 0)
		}
		if u, _ := workspace.Measure(dir, 0); u.Bytes > 1<<20+8<<10 {
			t.Errorf("on disk %d bytes, quota %d", u.Bytes, 1<<20)
		}
	})
	t.Run("two handles, one truncated", func(t *testing.T) {
		f, dir := newFS(t, 1<<20)
		h1, _ := f.OpenFile("x", experimentalsys.O_CREAT|experimentalsys.O_RDWR, 0o644)
		defer h1.Close()
		for i := 0; i < 48; i++ {
			h2, _ := f.OpenFile("x", experimentalsys.O_CREAT|experimentalsys.O_WRONLY|experimentalsys.O_TRUNC, 0o644)
			h2.Close()
			h1.Write(make([]byte, 256<<10))
		}
		if u, _ := workspace.Measure(dir, 0); u.Bytes > 1<<20+8<<10 {
			t.Errorf("on disk %d bytes, quota %d", u.Bytes, 1<<20)
		}
	})
	t.Run("removed while open", func(t *testing.T) {
		f, _ := newFS(t, 1<<20)
		base := f.Used().Bytes
		h, _ := f.OpenFile("x", experimentalsys.O_CREAT|experimentalsys.O_WRONLY, 0o644)
		h.Write(make([]byte, 512<<10))
		f.Unlink("x")
		for i := 0; i < 8; i++ { // the disk still holds it: the quota must too
			h.Write(make([]byte, 256<<10))
		}
		fi, _ := h.(*file).f.Stat()
		f.Resync()
		if got := f.Used().Bytes - base; got < workspace.Allocated(fi) || got == 0 {
			t.Errorf("a removed file held open counts %d bytes; it holds %d", got, workspace.Allocated(fi))
		}
		h.Close()
		if got := f.Used().Bytes - base; got > 8<<10 {
			t.Errorf("after the last close it still counts %d bytes", got)
		}
		if errno := f.Mkdir("d", 0o755); errno != 0 {
			t.Fatal(errno)
		}
		f.Rmdir("d")
		if got := f.Used().Bytes; got != base {
			t.Errorf("a removed directory's bytes stay counted: %d, want %d", got, base)
		}
	})
	t.Run("empty directories and files", func(t *testing.T) {
		f, dir := newFS(t, 0, 100)
		made := 0
		for i := 0; i < 300; i++ {
			if f.Mkdir(fmt.Sprintf("d%d", i), 0o755) == 0 {
				made++
			}
			if write(t, f, fmt.Sprintf("f%d", i), 0, 0) == 0 {
				made++
			}
		}
		if u, _ := workspace.Measure(dir, 1000); made != 100 || u.Entries != 100 {
			t.Errorf("made %d entries, %d on disk, want the cap of 100", made, u.Entries)
		}
		if why := f.Refused(); !errors.Is(why, workspace.ErrEntries) {
			t.Errorf("Refused() = %v, want the entry cap", why)
		}
		if errno := f.Rmdir("d0"); errno != 0 {
			t.Fatal(errno)
		}
		if errno := f.Mkdir("again", 0o755); errno != 0 {
			t.Errorf("mkdir after freeing an entry: %v", errno)
		}
	})
	t.Run("deep and long paths", func(t *testing.T) {
		f, _ := newFS(t, 0)
		p := "d"
		var errno experimentalsys.Errno
		for i := 0; i < 40 && errno == 0; i++ {
			errno = f.Mkdir(p, 0o755)
			p += "/d"
		}
		if errno != experimentalsys.ENAMETOOLONG {
			t.Errorf("nesting 40 deep: %v, want ENAMETOOLONG at depth %d", errno, workspace.MaxDepth)
		}
		if errno := write(t, f, strings.Repeat("n", 1100), 1, 0); errno != experimentalsys.ENAMETOOLONG {
			t.Errorf("a 1100-byte name: %v", errno)
		}
	})
}

// BenchmarkFS_write100MB: the accounting's cost on a 100 MB write in 64 KiB chunks, against
// the same file system without a quota (which does no accounting while writing).
func BenchmarkFS_write100MB(b *testing.B) {
	for _, quota := range []int64{0, 1 << 30} {
		b.Run(fmt.Sprintf("quota=%dMiB", quota>>20), func(b *testing.B) {
			dir := b.TempDir()
			f, err := New(dir, workspace.Limits{Bytes: quota})
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			chunk := make([]byte, 64<<10)
			b.SetBytes(100 << 20)
			for b.Loop() {
				file, errno := f.OpenFile("big", experimentalsys.O_CREAT|experimentalsys.O_WRONLY|experimentalsys.O_TRUNC, 0o644)
				if errno != 0 {
					b.Fatal(errno)
				}
				for range 1600 {
					if _, errno := file.Write(chunk); errno != 0 {
						b.Fatal(errno)
					}
				}
				file.Close()
			}
		})
	}
}

// TestFS_partial: a workspace the walk cannot measure whole (past the entry cap) fails
// closed: no growth and no creation until entries are removed.
func TestFS_partial(t *testing.T) {
	dir := t.TempDir()
	for i := range 30 {
		os.WriteFile(filepath.Join(dir, fmt.Sprint("f", i)), nil, 0o644)
	}
	f, err := New(dir, workspace.Limits{Bytes: 1 << 30, Entries: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if errno := write(t, f, "f0", 4096, 0); errno == 0 {
		t.Error("a write to a workspace over its entry cap succeeded")
	}
	if errno := f.Mkdir("new", 0o755); errno == 0 {
		t.Error("a mkdir in a workspace over its entry cap succeeded")
	}
	for i := range 25 {
		f.Unlink(fmt.Sprint("f", i))
	}
	f.Resync()
	if errno := write(t, f, "f29", 4096, 0); errno != 0 {
		t.Errorf("a write after cleaning up: %v", errno)
	}
}
