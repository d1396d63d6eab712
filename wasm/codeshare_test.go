package wasm

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/tetratelabs/wazero"
	"golang.org/x/sys/unix"
)

// fakeCode maps n bytes of random "machine code" the way wazero maps a module's: anonymous,
// private, written, then read and execute only.
func fakeCode(t *testing.T, n int) []byte {
	t.Helper()
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(b) })
	rand.Read(b)
	if err := unix.Mprotect(b, unix.PROT_READ|unix.PROT_EXEC); err != nil {
		t.Fatal(err)
	}
	return b
}

// selfMapping is one line of /proc/self/maps.
type selfMapping struct {
	lo, hi      uintptr
	perms, path string
	line        string
}

// selfMappings reads /proc/self/maps.
func selfMappings(t *testing.T) []selfMapping {
	t.Helper()
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	var out []selfMapping
	for _, line := range strings.Split(string(maps), "\n") {
		f := strings.Fields(line)
		m := selfMapping{line: line}
		if len(f) < 5 {
			continue
		}
		if _, err := fmt.Sscanf(f[0], "%x-%x", &m.lo, &m.hi); err != nil {
			continue
		}
		m.perms = f[1]
		if len(f) >= 6 {
			m.path = f[5]
		}
		out = append(out, m)
	}
	return out
}

// mapsLine returns the /proc/self/maps line of the mapping that holds addr.
func mapsLine(t *testing.T, addr uintptr) string {
	t.Helper()
	for _, m := range selfMappings(t) {
		if m.lo <= addr && addr < m.hi {
			return m.line
		}
	}
	t.Fatalf("no mapping holds %#x", addr)
	return ""
}

// regionOf is the region of a page-aligned mapping.
func regionOf(b []byte) codeRegion {
	start := uintptr(unsafe.Pointer(&b[0]))
	return codeRegion{start, start + uintptr(len(b))}
}

// TestShareRegion: code is mapped from a file of its bytes, read and execute only, and a second
// process's copy of the same bytes (here, a second mapping) maps the same file.
func TestShareRegion(t *testing.T) {
	dir := t.TempDir()
	code := fakeCode(t, 8<<20)
	want := bytes.Clone(code)
	if ok, err := anonymousMapping(regionOf(code), "r-xp"); err != nil || !ok {
		t.Fatalf("anonymousMapping of fresh code: %v, %v; want true", ok, err)
	}
	name, fatal, err := shareRegion(dir, regionOf(code))
	if err != nil || fatal {
		t.Fatal(err)
	}
	line := mapsLine(t, regionOf(code).start)
	if !strings.Contains(line, filepath.Join(dir, name)) || !strings.Contains(line, " r-xp ") {
		t.Errorf("the code's mapping after sharing is %q, want a read-and-execute mapping of %s", line, name)
	}
	if !bytes.Equal(code, want) {
		t.Error("the code's bytes changed when it was shared")
	}
	if ok, _ := anonymousMapping(regionOf(code), "r-xp"); ok {
		t.Error("anonymousMapping is true for code mapped from a file")
	}
	st, err := os.Stat(filepath.Join(dir, name))
	if err != nil || st.Size() != int64(len(code)) || st.Mode().Perm() != 0o400 {
		t.Fatalf("the file: %v, %v; want %d bytes, mode 0400", st, err, len(code))
	}

	again := fakeCode(t, len(code))
	unix.Mprotect(again, unix.PROT_READ|unix.PROT_WRITE)
	copy(again, want)
	unix.Mprotect(again, unix.PROT_READ|unix.PROT_EXEC)
	name2, _, err := shareRegion(dir, regionOf(again))
	if err != nil || name2 != name {
		t.Fatalf("second copy: %q, %v; want %q", name2, err, name)
	}
	after, _ := os.Stat(filepath.Join(dir, name))
	if !os.SameFile(st, after) {
		t.Error("the file was written again although it held the same bytes")
	}
	if line := mapsLine(t, regionOf(again).start); !strings.Contains(line, filepath.Join(dir, name)) {
		t.Errorf("the second copy's mapping is %q, want %s", line, name)
	}
}

// TestShareCode: a compiled module's machine code, exactly its own pages, is mapped from the
// file, and the module still runs; a second runtime's copy maps the same file.
func TestShareCode(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var names []string
	for i := range 2 {
		rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
		defer rt.Close(ctx)
		compiled, err := rt.CompileModule(ctx, addWasm)
		if err != nil {
			t.Fatal(err)
		}
		start, _, ok := executableOf(compiled)
		if !ok {
			t.Fatal("executableOf found no machine code")
		}
		if i == 0 {
			// What the server does: the file is written, its own code stays anonymous.
			published, err := publishCode(compiled, dir)
			if err != nil {
				t.Fatal(err)
			}
			if line := mapsLine(t, start); strings.Contains(line, dir) {
				t.Errorf("publishCode remapped the process's own code: %q", line)
			}
			names = append(names, published)
		}
		name, fatal, err := shareCode(compiled, dir)
		if err != nil || fatal {
			t.Fatalf("runtime %d: %v", i, err)
		}
		names = append(names, name)
		if line := mapsLine(t, start); !strings.Contains(line, filepath.Join(dir, name)) {
			t.Errorf("runtime %d: the code's mapping is %q, want %s", i, line, name)
		}
		mod, err := rt.InstantiateModule(ctx, compiled, wazero.NewModuleConfig().WithName(""))
		if err != nil {
			t.Fatal(err)
		}
		if res, err := mod.ExportedFunction("add").Call(ctx, 40, 2); err != nil || res[0] != 42 {
			t.Fatalf("runtime %d: add(40, 2) = %v, %v; want 42 from the shared code", i, res, err)
		}
	}
	if names[0] != names[1] || names[1] != names[2] {
		t.Errorf("the published file and two copies of the same code name %v, want one file", names)
	}
	if files, _ := os.ReadDir(dir); len(files) != 1 {
		t.Errorf("%d files in the code directory, want the one published", len(files))
	}
}

// TestShareCode_damaged: whatever lies under the code's name, a file of other bytes (a torn
// write, another build's code), a symbolic link (to the same bytes elsewhere) or a directory,
// is never mapped. A file or link is replaced by a regular file of the bytes in memory; where
// nothing can be written, the code stays as it was.
func TestShareCode_damaged(t *testing.T) {
	write := func(b []byte) func(t *testing.T, path string) {
		return func(t *testing.T, path string) {
			if err := os.WriteFile(path, b, 0o400); err != nil {
				t.Fatal(err)
			}
		}
	}
	const size = 4<<20 + 4096
	want := make([]byte, size)
	rand.Read(want)
	changed := bytes.Clone(want)
	changed[len(changed)/2] ^= 1
	for _, tc := range []struct {
		name   string
		plant  func(t *testing.T, path string)
		shared bool
	}{
		{"one byte differs", write(changed), true},
		{"short", write(want[:len(want)-4096]), true},
		{"empty", write(nil), true},
		{"a link to the same bytes", func(t *testing.T, path string) {
			elsewhere := filepath.Join(t.TempDir(), "code")
			write(want)(t, elsewhere)
			if err := os.Symlink(elsewhere, path); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"a directory", func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			code := fakeCode(t, size)
			unix.Mprotect(code, unix.PROT_READ|unix.PROT_WRITE)
			copy(code, want)
			unix.Mprotect(code, unix.PROT_READ|unix.PROT_EXEC)
			path := filepath.Join(dir, codeName(code))
			tc.plant(t, path)
			_, fatal, err := shareRegion(dir, regionOf(code))
			if fatal {
				t.Fatalf("fatal: %v", err)
			}
			if !bytes.Equal(code, want) {
				t.Fatal("the code's bytes changed: what lay under its name was mapped")
			}
			line := mapsLine(t, regionOf(code).start)
			if !tc.shared {
				if err == nil || strings.Contains(line, dir) {
					t.Errorf("shared (%v, mapping %q), want an error and the code left anonymous", err, line)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(line, path) {
				t.Errorf("the code's mapping is %q, want %s", line, path)
			}
			st, err := os.Lstat(path)
			if err != nil || !st.Mode().IsRegular() {
				t.Fatalf("%s after sharing: %v, %v; want a regular file", path, st, err)
			}
			if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, want) {
				t.Errorf("what lay under the name was not replaced by the code (err %v)", err)
			}
		})
	}
}

func TestSweepCode(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-2 * staleImage)
	for _, n := range []string{"code-1-aaaaaaaa", "code-2-bbbbbbbb", ".code-123", "other"} {
		os.WriteFile(filepath.Join(dir, n), nil, 0o400)
		os.Chtimes(filepath.Join(dir, n), old, old)
	}
	os.WriteFile(filepath.Join(dir, "code-3-cccccccc"), nil, 0o400) // new: kept
	sweepCode(dir, []string{"code-1-aaaaaaaa"}, time.Now())
	for n, kept := range map[string]bool{"code-1-aaaaaaaa": true, "code-2-bbbbbbbb": false, ".code-123": false,
		"other": true, "code-3-cccccccc": true} {
		_, err := os.Stat(filepath.Join(dir, n))
		if got := err == nil; got != kept {
			t.Errorf("%s kept: got %v, want %v", n, got, kept)
		}
	}
}
