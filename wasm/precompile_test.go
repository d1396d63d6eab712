package wasm

import (
	"context"
	"io/fs"
	"path/filepath"
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

func cacheEntries(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
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
