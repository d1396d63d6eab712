package wasm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

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

// TestHost_publish_concurrent: many publishers at once (in one process, so with the same pid,
// as workers that are each PID 1 of their namespace) each end up mapping one complete image
// that never changes afterwards: the first published, whose memory matches its ID.
func TestHost_publish_concurrent(t *testing.T) {
	for round := range 6 {
		t.Run(fmt.Sprint("round ", round), testPublishRound)
	}
}

func testPublishRound(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "python-image-test.mem")
	const publishers = 24
	hosts := make([]*Host, publishers)
	images := make([]*Image, publishers)
	var wg sync.WaitGroup
	for i := range publishers {
		h := &Host{memory: 64 << 20, cacheDir: dir, baseHash: "test"}
		mem := bytes.Repeat([]byte{byte(i + 1)}, (32+i)*pageSize)
		sum := sha256.Sum256(mem)
		img := &Image{Build: "test", Memory: mem, ID: hex.EncodeToString(sum[:])}
		hosts[i] = h
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.publish(path, img)
			images[i] = h.readBase(path)
		}()
	}
	wg.Wait()
	for i, img := range images {
		if img == nil {
			t.Fatalf("publisher %d: no image could be mapped", i)
		}
		sum := sha256.Sum256(img.Memory)
		if got := hex.EncodeToString(sum[:]); got != img.ID {
			t.Errorf("publisher %d: mapped memory hashes to %s, want its ID %s", i, got[:12], img.ID[:12])
		}
		if img.ID != images[0].ID {
			t.Errorf("publisher %d maps image %s, publisher 0 maps %s: want one shared base", i, img.ID[:12], images[0].ID[:12])
		}
		hosts[i].baseFile.Close()
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.tmp-*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestHost_readBase_damaged: files that are not whole, well-formed images whose memory
// matches the ID in their header are refused.
func TestHost_readBase_damaged(t *testing.T) {
	h := &Host{memory: 64 << 20, baseHash: "test"}
	mem := bytes.Repeat([]byte{7}, 4*pageSize)
	sum := sha256.Sum256(mem)
	head := imageHead(hex.EncodeToString(sum[:]), mem)
	good := append(append([]byte(head), make([]byte, imageHeader-len(head))...), mem...)
	badID := bytes.Clone(good)
	badID[len(imageMagic)] = 'x' // not hex
	otherID := bytes.Clone(good)
	otherID[len(imageMagic)+10] ^= 1 // '0'-'9' and 'a'-'f' stay hex
	flipped := bytes.Clone(good)
	flipped[imageHeader+100] ^= 1
	for _, tc := range []struct {
		name string
		b    []byte
		ok   bool
	}{
		{"good", good, true},
		{"empty", nil, false},
		{"header only", good[:imageHeader], false},
		{"truncated", good[:len(good)-pageSize/2], false},
		{"short a page", good[:len(good)-pageSize], false},
		{"one bit flipped", flipped, false},
		{"wrong magic", append([]byte("WBXBASE0"), good[8:]...), false},
		{"the last version", append([]byte("WBXBASE1"), good[8:]...), false},
		{"an ID that is not hex", badID, false},
		{"another ID", otherID, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "img")
			if err := os.WriteFile(p, tc.b, 0o644); err != nil {
				t.Fatal(err)
			}
			img := h.readBase(p)
			if got := img != nil; got != tc.ok {
				t.Errorf("readBase: got ok %v, want %v", got, tc.ok)
			}
			if got := h.baseFileOK(p); got != tc.ok {
				t.Errorf("baseFileOK: got %v, want %v", got, tc.ok)
			}
		})
	}
}

// TestSweepImages: base images of other builds and publishers' temporary files go once they
// are older than an hour; the current build's image, recent files and other files stay.
func TestSweepImages(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	old, recent := now.Add(-2*staleImage), now.Add(-staleImage/2)
	files := []struct {
		name  string
		mtime time.Time
		kept  bool
	}{
		{"python-image-current.mem", old, true},
		{"python-image-0123456789abcdef.mem", old, false},
		{"python-image-fedcba9876543210.mem", recent, true},
		{"python-image-0123456789abcdef.mem.tmp-123", old, false},
		{"python-image-current.mem.tmp-456", recent, true},
		{"notes.txt", old, true},
		{"python-image-notes.txt", old, true},
	}
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, f.mtime, f.mtime); err != nil {
			t.Fatal(err)
		}
	}
	os.Mkdir(filepath.Join(dir, "python-image-dir.mem"), 0o700)
	os.Chtimes(filepath.Join(dir, "python-image-dir.mem"), old, old)
	sweepImages(dir, "python-image-current.mem", now)
	for _, f := range files {
		_, err := os.Stat(filepath.Join(dir, f.name))
		if kept := err == nil; kept != f.kept {
			t.Errorf("%s: kept %v, want %v", f.name, kept, f.kept)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "python-image-dir.mem")); err != nil {
		t.Errorf("a directory was removed: %v", err)
	}
}

// TestBaseImage_sameBytes: hosts that do not share an image directory (replicas of a cluster,
// each on its own machine) make the same base image, byte for byte, with several environment
// variables (kept in the image in a fixed order), so each can thaw the others' snapshots.
func TestBaseImage_sameBytes(t *testing.T) {
	ctx := context.Background()
	env := map[string]string{"PYTHONHOME": "/usr/local", "A": "1", "B": "2", "C": "3", "D": "4", "E": "5"}
	var ids []string
	for range 2 {
		h, err := New(ctx, WithAssets(assets.Python()), WithEnv(env), WithImageDir(t.TempDir()))
		if err != nil {
			t.Fatal(err)
		}
		img, err := h.BaseImage(ctx)
		h.Close(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, img.ID)
	}
	if ids[0] != ids[1] {
		t.Fatalf("two hosts made different base images: %s and %s", ids[0], ids[1])
	}
}

// TestPagemap: where /proc/self/pagemap can be read, its flags pass the check that snapshot
// hints rely on (a failing check turns the hints off, which would only make snapshots slower:
// this test says when that happens).
func TestPagemap(t *testing.T) {
	f, err := os.Open("/proc/self/pagemap")
	if err != nil {
		t.Skipf("no page table to read here: %v", err)
	}
	defer f.Close()
	if err := checkPagemap(f); err != nil {
		t.Fatal(err)
	}
}
