package wasm

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wasmbox/assets"
	"wasmbox/wasm/cpython"
)

// Precompile's machine code is what a worker's host (uninterruptible) loads: after it, making
// such a host finds the code in the cache and writes nothing new there. A different key (the
// interrupt checks are part of it) would make every worker compile python.wasm itself, which
// takes more memory than a worker may use.
func TestPrecompile_sameKeyAsWorkers(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p, err := Precompile(ctx, dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if p.Skeleton == nil {
		t.Fatalf("no skeleton: %v", p.SkeletonErr)
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
	// One code file: the one Precompile wrote is the one the host maps (the same bytes, to the page).
	if n := codeFiles(t, filepath.Join(dir, codeDir)); n != 1 {
		t.Errorf("%d code files in %s after Precompile and a host, want 1: they did not map the same code", n, codeDir)
	}
	h.Close(ctx)
	if after := cacheEntries(t, dir); after != before {
		t.Errorf("an uninterruptible host added %d cache entries after Precompile: their keys differ", after-before)
	}
	// Again: a second Precompile finds its own entry and the skeleton's.
	p2, err := Precompile(ctx, dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if after := cacheEntries(t, dir); after != before {
		t.Errorf("a second Precompile added %d cache entries", after-before)
	}
	if p2.Skeleton == nil || *p2.Skeleton != *p.Skeleton {
		t.Errorf("the second Precompile's skeleton is %+v (%v), the first's %+v", p2.Skeleton, p2.SkeletonErr, p.Skeleton)
	}
	testSkeleton(t, dir, *p.Skeleton)
}

// testSkeleton: a host loads python.wasm through the skeleton's entry Precompile stored in dir
// and runs CPython (its start-up and imports make the base image); a host given a skeleton
// whose entry is missing, or holds the skeleton's own stub code, notices, compiles python.wasm
// instead and runs the same; the stub entry is removed and the next Precompile stores the real
// one again.
func testSkeleton(t *testing.T, dir string, s Skeleton) {
	ctx := context.Background()
	base := func(want string) {
		t.Helper()
		h, err := New(ctx, WithCacheDir(dir), WithInterruptible(false), WithSkeleton(&s), WithImageDir(t.TempDir()),
			WithAssets(assets.Python()), WithEnv(map[string]string{"PYTHONHOME": "/usr/local"}))
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close(ctx)
		if got := h.SkeletonError(); (got == nil) != (want == "") || got != nil && !strings.Contains(got.Error(), want) {
			t.Errorf("skeleton error %v, want %q", got, want)
		}
		if err := h.ShareError(); err != nil {
			t.Errorf("the host's machine code is not shared: %v", err)
		}
		if _, err := h.BaseImage(ctx); err != nil {
			t.Fatalf("the base image (CPython's start-up and imports): %v", err)
		}
	}
	base("")

	entry := filepath.Join(dir, s.Entry)
	saved, err := os.ReadFile(entry)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(entry); err != nil {
		t.Fatal(err)
	}
	base("cache entry")
	if _, err := os.Stat(entry); !os.IsNotExist(err) {
		t.Errorf("a host without the skeleton's entry made one (%v)", err)
	}

	// The skeleton compiled for real: every function `unreachable`, stored under its key.
	skel, err := skeletonOf(s.Module)
	if err != nil {
		t.Fatal(err)
	}
	if name, err := compileCached(ctx, dir, skel, false); err != nil || name == s.Code {
		t.Fatalf("the skeleton's own code %q (%v)", name, err)
	}
	base("loads")
	if _, err := os.Stat(entry); !os.IsNotExist(err) {
		t.Errorf("the stub entry is still there (%v)", err)
	}

	// A stub entry in place when a server starts: Precompile does not take its code for the
	// real module's, and stores the real entry again.
	if name, err := compileCached(ctx, dir, skel, false); err != nil || name == s.Code {
		t.Fatalf("the skeleton's own code %q (%v)", name, err)
	}
	p, err := Precompile(ctx, dir, false)
	if err != nil || p.Skeleton == nil || *p.Skeleton != s {
		t.Fatalf("Precompile after a stub entry: %+v %v", p, err)
	}
	if again, err := os.ReadFile(entry); err != nil || !bytes.Equal(again, saved) {
		t.Errorf("the entry Precompile stored again differs from the first (%v)", err)
	}
	base("")

	// A key file naming another entry (another machine's: wazero's key holds the CPU's
	// features): Precompile learns the key again, and no stub enters the cache.
	keyFile := skeletonKeyFile(dir, skel, false)
	wrong := cacheSubdir() + "/" + strings.Repeat("0", 64)
	if err := writeFileAtomic(keyFile, []byte(wrong+"\n")); err != nil {
		t.Fatal(err)
	}
	before := cacheEntries(t, dir)
	if p, err := Precompile(ctx, dir, false); err != nil || p.Skeleton == nil || *p.Skeleton != s {
		t.Fatalf("Precompile after a wrong key file: %+v %v", p, err)
	}
	if after := cacheEntries(t, dir); after != before {
		t.Errorf("Precompile after a wrong key file left %d more cache entries", after-before)
	}
	if got := rememberedEntry(keyFile); got != s.Entry {
		t.Errorf("the key file names %q, want %q", got, s.Entry)
	}
	base("")

	// A torn entry (wazero cannot read it; it fails the compilation rather than missing):
	// Precompile replaces it.
	if err := os.Remove(entry); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(entry, saved[:len(saved)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	if p, err := Precompile(ctx, dir, false); err != nil || p.Skeleton == nil || *p.Skeleton != s {
		t.Fatalf("Precompile after a torn entry: %+v %v", p, err)
	}
	if again, err := os.ReadFile(entry); err != nil || !bytes.Equal(again, saved) {
		t.Errorf("the torn entry was not replaced (%v)", err)
	}
	base("")

	// A host of the other kind of machine code is not given this one.
	if _, err := compileSkeleton(ctx, nil, &options{cacheDir: dir, wasm: cpython.Wasm, interruptible: true, skeleton: &s}, nil); err == nil ||
		!strings.Contains(err.Error(), "interruptible") {
		t.Errorf("an interruptible host took the skeleton of uninterruptible code (%v)", err)
	}
}

// TestSkeleton_shape: the skeleton of python.wasm keeps every section but the code, whose bodies
// are all the stub; modules it cannot read are refused, not cut.
func TestSkeleton_shape(t *testing.T) {
	skel, err := skeletonOf("a")
	if err != nil {
		t.Fatal(err)
	}
	// Two builds whose python.wasm differs only in function bodies have different skeletons.
	other, err := skeletonOf("b")
	if err != nil || bytes.Equal(other, skel) || skeletonSum(other) == skeletonSum(skel) {
		t.Errorf("the skeletons of two modules are the same (%v)", err)
	}
	if _, err := skeleton(cpython.Wasm, ""); err == nil {
		t.Error("a skeleton without the module's hash")
	}
	if len(skel) >= len(cpython.Wasm)/2 {
		t.Errorf("the skeleton is %d bytes of python.wasm's %d", len(skel), len(cpython.Wasm))
	}
	for _, n := range []int{0, 4, 8, 9, 100, len(cpython.Wasm) / 2, len(cpython.Wasm) - 1} {
		if _, err := skeleton(cpython.Wasm[:n], "a"); err == nil {
			t.Errorf("a module cut to %d bytes has a skeleton", n)
		}
	}
	for _, e := range []string{"", "a", "../x/" + strings.Repeat("0", 64), "d/" + strings.Repeat("g", 64), "d/e/" + strings.Repeat("0", 64), "/" + strings.Repeat("0", 64)} {
		if validEntry(e) {
			t.Errorf("%q is taken for a cache entry", e)
		}
	}
	if !validEntry("wazero-v1.12.0-amd64-linux/" + strings.Repeat("0a", 32)) {
		t.Error("a cache entry's path is refused")
	}
}

// codeFiles counts the shared code files in dir.
func codeFiles(t *testing.T, dir string) int {
	t.Helper()
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		if strings.HasPrefix(f.Name(), codePrefix) {
			n++
		}
	}
	return n
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

// TestSweepScratch: what a process that died while setting up a skeleton left (scratch caches,
// temporary links) and other builds' key files go once they are an hour old; what a live
// process is using, and this build's key file, stay.
func TestSweepScratch(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, cacheSubdir())
	old, fresh := filepath.Join(dir, "skeleton-old"), filepath.Join(dir, "skeleton-new")
	link, entry := filepath.Join(sub, strings.Repeat("a", 64)+".1-1.link.tmp"), filepath.Join(sub, strings.Repeat("a", 64))
	key, otherKey := filepath.Join(dir, codeDir, "skeleton-mine-0-"+cacheSubdir()), filepath.Join(dir, codeDir, "skeleton-other-0-"+cacheSubdir())
	keyOtherKind := filepath.Join(dir, codeDir, "skeleton-mine-1-"+cacheSubdir())
	otherWazero := filepath.Join(dir, codeDir, "skeleton-other-wazero-v0-amd64-linux")
	for _, d := range []string{old, fresh, sub, filepath.Join(dir, codeDir)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{link, entry, key, otherKey, otherWazero, keyOtherKind} {
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	for _, p := range []string{old, link, entry, key, otherKey, otherWazero, keyOtherKind} {
		os.Chtimes(p, now.Add(-2*time.Hour), now.Add(-2*time.Hour))
	}
	sweepScratch(dir, filepath.Join(dir, codeDir, "skeleton-mine-"), now)
	for p, want := range map[string]bool{old: false, link: false, fresh: true, entry: true, key: true, keyOtherKind: true, otherKey: false, otherWazero: true} {
		if _, err := os.Lstat(p); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", p, err == nil, want)
		}
	}
}
