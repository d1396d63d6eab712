package workspace

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestMeasure(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a"), make([]byte, 64<<10), 0o644)
	os.Link(filepath.Join(dir, "a"), filepath.Join(dir, "hard"))
	os.MkdirAll(filepath.Join(dir, "d", "e"), 0o755)
	os.WriteFile(filepath.Join(dir, "d", "e", "b"), make([]byte, 8<<10), 0o644)
	f, _ := os.Create(filepath.Join(dir, "sparse"))
	f.Truncate(1 << 30) // a hole allocates nothing
	f.Close()
	u, err := Measure(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if u.Entries != 6 || u.Partial || u.Deepest != 3 {
		t.Errorf("got %+v, want 6 entries 3 deep", u)
	}
	// a once (not twice for its hard link), b, three directories; the sparse file's hole nothing.
	if u.Bytes < 72<<10 || u.Bytes > 72<<10+4*8192 {
		t.Errorf("bytes %d, want about %d", u.Bytes, 72<<10)
	}
}

func TestMeasure_cap(t *testing.T) {
	dir := t.TempDir()
	for i := range 3000 {
		os.WriteFile(filepath.Join(dir, strings.Repeat("x", 5)+string(rune('a'+i%26))+filepath.Base(t.Name())+itoa(i)), nil, 0o644)
	}
	u, _ := Measure(dir, 1000)
	if !u.Partial || u.Entries != 1001 {
		t.Errorf("got %+v, want a partial walk of 1001 entries", u)
	}
}

func itoa(i int) string {
	return string(rune('0'+i/1000%10)) + string(rune('0'+i/100%10)) + string(rune('0'+i/10%10)) + string(rune('0'+i%10))
}

// TestMeasure_pastPathMax: a tree nested deeper than PATH_MAX allows to name is still counted.
func TestMeasure_pastPathMax(t *testing.T) {
	dir := t.TempDir()
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.Repeat("n", 200)
	for range 30 { // 30 x 201 bytes: past PATH_MAX (4096)
		unix.Mkdirat(fd, name, 0o755)
		next, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY, 0)
		unix.Close(fd)
		if err != nil {
			t.Fatal(err)
		}
		fd = next
	}
	wfd, err := unix.Openat(fd, "deep", unix.O_CREAT|unix.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	unix.Write(wfd, make([]byte, 1<<20))
	unix.Close(wfd)
	unix.Close(fd)
	t.Cleanup(func() { removeDeep(dir) })
	u, _ := Measure(dir, 0)
	if u.Entries != 31 || u.Bytes < 1<<20 || u.Deepest != 31 {
		t.Errorf("got %+v, want 31 entries holding 1 MiB, 31 deep", u)
	}
}

// removeDeep removes a tree too deep for os.RemoveAll's paths.
func removeDeep(dir string) {
	for {
		cur := dir
		fd, err := unix.Open(cur, unix.O_RDONLY|unix.O_DIRECTORY, 0)
		if err != nil {
			return
		}
		removed := false
		for {
			f := os.NewFile(uintptr(fd), "")
			names, _ := f.Readdirnames(-1)
			if len(names) == 0 {
				f.Close()
				break
			}
			var st unix.Stat_t
			unix.Fstatat(fd, names[0], &st, unix.AT_SYMLINK_NOFOLLOW)
			if st.Mode&unix.S_IFMT != unix.S_IFDIR {
				unix.Unlinkat(fd, names[0], 0)
				removed = true
				f.Close()
				break
			}
			if unix.Unlinkat(fd, names[0], unix.AT_REMOVEDIR) == nil {
				removed = true
				f.Close()
				break
			}
			next, err := unix.Openat(fd, names[0], unix.O_RDONLY|unix.O_DIRECTORY, 0)
			f.Close()
			if err != nil {
				return
			}
			fd = next
		}
		if !removed {
			return
		}
	}
}

func TestCheckPath(t *testing.T) {
	for _, tc := range []struct {
		p  string
		ok bool
	}{
		{"a/b/c", true},
		{strings.Repeat("d/", 32), true},
		{strings.Repeat("d/", 33), false},
		{strings.Repeat("x", 1024), true},
		{strings.Repeat("x", 1025), false},
	} {
		if err := CheckPath(tc.p); (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrPath)) {
			t.Errorf("CheckPath(%.20q...) = %v, want ok=%v", tc.p, err, tc.ok)
		}
	}
}

// ErrEscapes is what os.Root says of a path that leaves it, through ".." or a symbolic link,
// and nothing else: not a missing file, not a permission error.
func TestErrEscapes(t *testing.T) {
	dir := t.TempDir()
	os.Symlink("/etc", filepath.Join(dir, "out"))
	r, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, p := range []string{"../x", "out/hostname", "../../x"} {
		if _, err := r.Stat(p); !errors.Is(err, ErrEscapes) {
			t.Errorf("Stat(%q): %v, want ErrEscapes", p, err)
		}
	}
	if _, err := r.Stat("missing"); errors.Is(err, ErrEscapes) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat(missing): %v", err)
	}
	if errors.Is(ErrEscapes, fs.ErrNotExist) || errors.Is(ErrEscapes, fs.ErrPermission) {
		t.Errorf("ErrEscapes = %v is also a not-exist or permission error", ErrEscapes)
	}
}
