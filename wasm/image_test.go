package wasm

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"wasmbox/assets"
)

// BenchmarkRestore compares the two ways a new instance gets the base image: a copy into
// fresh memory, and a copy-on-write mapping of the image file. Each instance also runs the
// driver's wake-up and one request, which touch the pages a real first run touches.
func BenchmarkRestore(b *testing.B) {
	ctx := context.Background()
	h, err := New(ctx, WithAssets(assets.Python()), WithEnv(map[string]string{"PYTHONHOME": "/usr/local"}), WithImageDir(b.TempDir()))
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close(ctx)
	img, err := h.BaseImage(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []struct {
		name string
		cow  bool
	}{{"copy", false}, {"cow", true}} {
		b.Run(mode.name, func(b *testing.B) {
			cowImages = mode.cow
			defer func() { cowImages = true }()
			for b.Loop() {
				in, _, err := h.Restore(ctx, Spec{}, img)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := in.Call(ctx, []byte(`{"op":"run","id":1,"code":"x = 1"}`), nil); err != nil {
					b.Fatal(err)
				}
				in.Close()
			}
		})
	}
}

// TestCowMemory_grow: growing keeps the contents, and never maps past the module's maximum.
func TestCowMemory_grow(t *testing.T) {
	a := &cowAllocator{}
	m := a.Allocate(0, 4*pageSize).(*cowMemory)
	defer m.Free()
	b := m.Reallocate(pageSize)
	copy(b, "hello")
	b = m.Reallocate(3 * pageSize)
	if string(b[:5]) != "hello" || len(b) != 3*pageSize {
		t.Fatalf("after growing: %q, len %d", b[:5], len(b))
	}
	if len(m.buf) > 4*pageSize {
		t.Errorf("mapped %d bytes, past the maximum of %d", len(m.buf), 4*pageSize)
	}
	if b := m.Reallocate(2 * pageSize); len(b) != 2*pageSize || string(b[:5]) != "hello" {
		t.Errorf("shrinking the view: len %d", len(b))
	}
}

// TestBaseImage_damagedFile: a damaged image file in the directory is replaced by a good one,
// which the host then uses (every process must share one base).
func TestBaseImage_damagedFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	env := map[string]string{"PYTHONHOME": "/usr/local"}
	h, err := New(ctx, WithAssets(assets.Python()), WithEnv(env), WithImageDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(ctx)
	path := filepath.Join(dir, "python-image-"+h.BuildID()[:16]+".mem")
	if err := os.WriteFile(path, []byte("WBXBASE1 not an image"), 0o644); err != nil {
		t.Fatal(err)
	}
	img, err := h.BaseImage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !h.baseFileOK(path) {
		t.Fatal("the damaged file was not replaced")
	}
	h2, err := New(ctx, WithAssets(assets.Python()), WithEnv(env), WithImageDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close(ctx)
	img2, err := h2.BaseImage(ctx)
	if err != nil || img2.ID != img.ID {
		t.Errorf("a second host's base %v %v, want the published one %s", img2.ID, err, img.ID)
	}
}
