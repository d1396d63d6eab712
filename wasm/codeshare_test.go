package wasm

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unsafe"

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

// mappingOf returns the /proc/self/maps line of the mapping that holds addr.
func mappingOf(t *testing.T, addr uintptr) string {
	t.Helper()
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(maps), "\n") {
		var lo, hi uintptr
		if _, err := fmt.Sscanf(line, "%x-%x", &lo, &hi); err == nil && lo <= addr && addr < hi {
			return line
		}
	}
	t.Fatalf("no mapping holds %#x", addr)
	return ""
}

func TestShareCode(t *testing.T) {
	dir := t.TempDir()
	code := fakeCode(t, 8<<20)
	want := bytes.Clone(code)
	addr := uintptr(unsafe.Pointer(&code[0]))

	shared, names, err := shareCode(dir)
	if err != nil {
		t.Fatal(err)
	}
	if shared < int64(len(code)) || len(names) == 0 {
		t.Fatalf("shared %d bytes in %v, want at least the %d of the fake code", shared, names, len(code))
	}
	line := mappingOf(t, addr)
	if !strings.Contains(line, dir) || !strings.Contains(line, " r-xp ") {
		t.Errorf("the code's mapping after sharing is %q, want a read-and-execute mapping of a file in %s", line, dir)
	}
	if !bytes.Equal(code, want) {
		t.Error("the code's bytes changed when it was shared")
	}
	name := ""
	for _, n := range names {
		if st, err := os.Stat(filepath.Join(dir, n)); err == nil && st.Size() == int64(len(code)) {
			name = n
			if st.Mode().Perm() != 0o400 {
				t.Errorf("%s has mode %v, want 0400", n, st.Mode().Perm())
			}
		}
	}
	if name == "" {
		t.Fatalf("no file of %d bytes among %v", len(code), names)
	}

	// A second process's code of the same bytes maps the same file: here, a second copy.
	again := fakeCode(t, len(code))
	unix.Mprotect(again, unix.PROT_READ|unix.PROT_WRITE)
	copy(again, want)
	unix.Mprotect(again, unix.PROT_READ|unix.PROT_EXEC)
	before, _ := os.Stat(filepath.Join(dir, name))
	if _, _, err := shareCode(dir); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(filepath.Join(dir, name))
	if !os.SameFile(before, after) {
		t.Error("the file was written again although it held the same bytes")
	}
	if line := mappingOf(t, uintptr(unsafe.Pointer(&again[0]))); !strings.Contains(line, filepath.Join(dir, name)) {
		t.Errorf("the second copy's mapping is %q, want %s", line, name)
	}
}

// TestShareCode_damaged: a file under the code's name that holds other bytes (a torn write,
// another build's code) is never mapped; it is replaced by the bytes in memory.
func TestShareCode_damaged(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(want []byte) []byte
	}{
		{"one byte differs", func(w []byte) []byte { b := bytes.Clone(w); b[len(b)/2] ^= 1; return b }},
		{"short", func(w []byte) []byte { return w[:len(w)-4096] }},
		{"empty", func([]byte) []byte { return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			code := fakeCode(t, 4<<20+4096)
			want := bytes.Clone(code)
			// The name the code will look for.
			name, err := shareRegion(t.TempDir(), codeRegion{uintptr(unsafe.Pointer(&code[0])), uintptr(unsafe.Pointer(&code[0])) + uintptr(len(code))})
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), tc.damage(want), 0o400); err != nil {
				t.Fatal(err)
			}
			other := fakeCode(t, len(want))
			unix.Mprotect(other, unix.PROT_READ|unix.PROT_WRITE)
			copy(other, want)
			unix.Mprotect(other, unix.PROT_READ|unix.PROT_EXEC)
			if _, err := shareRegion(dir, codeRegion{uintptr(unsafe.Pointer(&other[0])), uintptr(unsafe.Pointer(&other[0])) + uintptr(len(other))}); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(other, want) {
				t.Fatal("the code's bytes changed: the damaged file was mapped")
			}
			got, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("the damaged file was not replaced (err %v)", err)
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
