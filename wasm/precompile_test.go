package wasm

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Precompile's machine code is what a worker's host (uninterruptible) loads: after it, making
// such a host finds the code in the cache and writes nothing new there. A different key (the
// interrupt checks are part of it) would make every worker compile python.wasm itself, which
// takes more memory than a worker may use.
func TestPrecompile_sameKeyAsWorkers(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := Precompile(ctx, dir, false); err != nil {
		t.Fatal(err)
	}
	before := cacheEntries(t, dir)
	if before == 0 {
		t.Fatal("Precompile left nothing in the cache")
	}
	h, err := New(ctx, WithCacheDir(dir), WithInterruptible(false), WithImageDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	// The host's machine code is mapped from the file Precompile wrote, not held privately.
	if err := h.ShareError(); err != nil {
		t.Errorf("the host's machine code is not shared: %v", err)
	}
	if got := mappedFrom(t, filepath.Join(dir, codeDir)); got < 64<<20 {
		t.Errorf("%d bytes of code mapped from %s, want python.wasm's (over 64 MiB)", got, codeDir)
	}
	// One file: the one Precompile wrote is the one the host maps (the same bytes, to the page).
	if files, _ := os.ReadDir(filepath.Join(dir, codeDir)); len(files) != 1 {
		t.Errorf("%d files in %s after Precompile and a host, want 1: they did not map the same code", len(files), codeDir)
	}
	h.Close(ctx)
	if after := cacheEntries(t, dir); after != before {
		t.Errorf("an uninterruptible host added %d cache entries after Precompile: their keys differ", after-before)
	}
	// Again: a second Precompile finds its own entry.
	if _, err := Precompile(ctx, dir, false); err != nil {
		t.Fatal(err)
	}
	if after := cacheEntries(t, dir); after != before {
		t.Errorf("a second Precompile added %d cache entries", after-before)
	}
}

// cacheEntries counts wazero's cache entries in dir (not the shared code files, which the other
// tests' hosts in this process may add to).
func cacheEntries(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && d.Name() == codeDir {
			return filepath.SkipDir
		}
		if err == nil && !d.IsDir() {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// mappedFrom sums the read-and-execute mappings of this process that map a file in dir.
func mappedFrom(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	for _, m := range selfMappings(t) {
		if m.perms == "r-xp" && strings.HasPrefix(m.path, dir+"/") {
			n += int64(m.hi - m.lo)
		}
	}
	return n
}
