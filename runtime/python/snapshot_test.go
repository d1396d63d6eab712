package python

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wasmbox/wasm"
)

// TestInterpreter_FreezeThaw: variables, imports, functions and classes come back in another
// interpreter; files the snapshot held open are closed and named; the workspace is the new one.
func TestInterpreter_FreezeThaw(t *testing.T) {
	a, dir := newInterp(t)
	res := run(t, a, `import statistics, collections
x = 42
def f(n): return n * 2
class C:
    def hi(self): return "hi"
counts = collections.Counter("hello")
log = open("log.txt", "w")
log.write("buffered")
import sqlite3
con = sqlite3.connect("db.sqlite")
big = bytearray(5 * 1024 * 1024)`)
	if res.Error != nil {
		t.Fatalf("setup: %+v %s", res.Error, res.Stderr)
	}
	snap, err := freeze(a)
	if err != nil {
		t.Fatal(err)
	}
	// The buffered write reached the workspace before the snapshot.
	if b, _ := os.ReadFile(filepath.Join(dir, "log.txt")); string(b) != "buffered" {
		t.Errorf("log.txt after freeze: %q, want the buffered write", b)
	}
	t.Logf("snapshot: %d bytes", len(snap))
	// The 5 MiB bytearray may be placed in pages that the base image's imports (numpy, pandas)
	// used and freed, which are not zero, so it can count in full.
	if len(snap) > 8<<20 {
		t.Errorf("a small session's snapshot is %d bytes, want <= 3 MiB besides its 5 MiB bytearray", len(snap))
	}
	b, dirB := newInterp(t)
	os.WriteFile(filepath.Join(dirB, "other.txt"), []byte("b's"), 0o644)
	notes, err := b.Thaw(context.Background(), bytes.NewReader(snap))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(notes, "log.txt") || !strings.Contains(notes, "sqlite3 connection") {
		t.Errorf("notes %q do not name the closed file and connection", notes)
	}
	res = run(t, b, `print(x, f(21), C().hi(), statistics.mean([1, 2, 3]), counts["l"], len(big), log.closed, open("other.txt").read())`)
	if res.Error != nil || res.Stdout != "42 42 hi 2 2 5242880 True b's\n" || res.StateReset {
		t.Errorf("after thaw: %+v %q %q reset=%v", res.Error, res.Stdout, res.Stderr, res.StateReset)
	}
	// The interpreter that was frozen goes on; what a later freeze finds open is what the
	// next thaw closes.
	run(t, a, `log.close(); con.close(); log3 = open("log3.txt", "w")`)
	snap, err = freeze(a)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := newInterp(t)
	if notes, err = c.Thaw(context.Background(), bytes.NewReader(snap)); err != nil || notes != "files that were open were closed: log3.txt" {
		t.Errorf("second thaw: notes %q, %v", notes, err)
	}
}

// TestInterpreter_Thaw_bad: a corrupt, truncated or foreign snapshot is refused with a clear
// error and leaves a working interpreter.
func TestInterpreter_Thaw_bad(t *testing.T) {
	a, _ := newInterp(t)
	run(t, a, "x = 1")
	snap, err := freeze(a)
	if err != nil {
		t.Fatal(err)
	}
	foreign := []byte(snapMagic + "\x04\x00abcd\x02\x00ef")
	corrupt := append([]byte(nil), snap...)
	for i := len(corrupt) - 200; i < len(corrupt); i++ {
		corrupt[i] ^= 0x5a
	}
	// One bit in the middle of the compressed pages: deflate alone may decode it without an error.
	flipped := append([]byte(nil), snap...)
	flipped[len(flipped)/2] ^= 0x10
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"truncated", snap[:len(snap)/2], ErrBadSnapshot},
		{"corrupt", corrupt, ErrBadSnapshot},
		{"one bit flipped", flipped, ErrBadSnapshot},
		{"not a snapshot", []byte("hello"), ErrBadSnapshot},
		{"empty", nil, ErrBadSnapshot},
		{"foreign build", foreign, ErrForeignSnapshot},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := newInterp(t)
			run(t, b, "y = 2")
			_, err := b.Thaw(context.Background(), bytes.NewReader(tc.data))
			if !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
			if res := run(t, b, "print(y)"); res.Stdout != "2\n" {
				t.Errorf("after a refused snapshot: %+v %q", res.Error, res.Stdout)
			}
		})
	}
}

// TestInterpreter_Freeze_cap: a snapshot over the cap is refused as such.
func TestInterpreter_Freeze_cap(t *testing.T) {
	e, err := New(context.Background(), WithPoolSize(0), WithSnapshotCap(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(context.Background())
	ip, err := e.New(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer ip.Close()
	run(t, ip, "import os\nnoise = os.urandom(3 * 1024 * 1024)")
	if _, err := freeze(ip.(*Interpreter)); !errors.Is(err, ErrSnapshotTooLarge) {
		t.Errorf("3 MiB of noise under a 1 MiB cap: got %v, want ErrSnapshotTooLarge", err)
	}
}

// TestEngine_imagesDiffer: interpreters made from the one base image do not share random
// state.
func TestEngine_imagesDiffer(t *testing.T) {
	code := "import random, os, uuid, tempfile\nprint(random.random(), os.urandom(8).hex(), uuid.uuid4(), next(tempfile._get_candidate_names()))"
	seen := map[string]bool{}
	for range 3 {
		ip, _ := newInterp(t)
		res := run(t, ip, code)
		for _, f := range strings.Fields(res.Stdout) {
			if seen[f] {
				t.Errorf("two interpreters from the base image drew the same value %q", f)
			}
			seen[f] = true
		}
	}
}

// BenchmarkEngine_newInterpreter is a new interpreter from the base image without a pool:
// instantiate, write the image, wake the driver.
func BenchmarkEngine_newInterpreter(b *testing.B) {
	e, err := New(context.Background(), WithPoolSize(0))
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close(context.Background())
	dir := b.TempDir()
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		ip, err := e.New(ctx, dir)
		if err != nil {
			b.Fatal(err)
		}
		ip.Close()
	}
}

// BenchmarkInterpreter_thaw100MB thaws a session holding 100 MB of data.
func BenchmarkInterpreter_thaw100MB(b *testing.B) {
	ip, _ := newInterp(b)
	run(b, ip, "import os\ndata = os.urandom(100 * 1000 * 1000)")
	start := time.Now()
	snap, err := freeze(ip)
	if err != nil {
		b.Fatal(err)
	}
	freeze := time.Since(start)
	into, _ := newInterp(b)
	b.ResetTimer()
	for b.Loop() {
		if _, err := into.Thaw(context.Background(), bytes.NewReader(snap)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(snap))/1e6, "snapMB")
	b.ReportMetric(float64(freeze.Milliseconds()), "freeze-ms")
}

// BenchmarkInterpreter_thawDataFrame thaws a session that used numpy and pandas and holds a
// 1000-row DataFrame (what issue-sized analysis sessions hold): its snapshot's size, and the
// time from the snapshot's bytes to an interpreter that runs.
func BenchmarkInterpreter_thawDataFrame(b *testing.B) {
	ip, _ := newInterp(b)
	run(b, ip, "import numpy as np, pandas as pd\ndf = pd.DataFrame({'a': np.arange(1000), 'b': np.random.rand(1000), 'c': ['x%d' % i for i in range(1000)]})")
	snap, err := freeze(ip)
	if err != nil {
		b.Fatal(err)
	}
	into, _ := newInterp(b)
	b.ResetTimer()
	for b.Loop() {
		if _, err := into.Thaw(context.Background(), bytes.NewReader(snap)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if res := run(b, into, "print(len(df))"); res.Stdout != "1000\n" {
		b.Fatalf("after the thaw: %q %+v", res.Stdout, res.Error)
	}
	b.ReportMetric(float64(len(snap))/1e3, "snapKB")
}

// BenchmarkInterpreter_freezeSmall is what a snapshot before every run would cost a typical
// session (a few variables, imports, a function).
func BenchmarkInterpreter_freezeSmall(b *testing.B) {
	ip, _ := newInterp(b)
	run(b, ip, "import statistics, collections\nx = 42\ndef f(n): return n * 2\ncounts = collections.Counter('hello')")
	var size int
	for b.Loop() {
		snap, err := freeze(ip)
		if err != nil {
			b.Fatal(err)
		}
		size = len(snap)
	}
	b.ReportMetric(float64(size)/1e6, "snapMB")
}

// freeze returns ip's snapshot as bytes.
func freeze(ip *Interpreter) ([]byte, error) {
	var buf bytes.Buffer
	_, err := ip.Freeze(context.Background(), &buf)
	return buf.Bytes(), err
}

// fakeBase is a base image of four pages for tests of the snapshot format without CPython.
func fakeBase() *wasm.Image {
	mem := make([]byte, 4*snapPage)
	for i := range mem {
		mem[i] = byte(i / 7)
	}
	return &wasm.Image{Build: "build", ID: "base", Memory: mem}
}

// TestSnapshot_roundTrip: pages equal to the base image's and zero pages are not stored;
// other pages come back exactly, streamed through both ends.
func TestSnapshot_roundTrip(t *testing.T) {
	base := fakeBase()
	mem := make([]byte, 6*snapPage)
	copy(mem, base.Memory)
	mem[snapPage+3] = 1            // page 1 differs from the base
	copy(mem[5*snapPage:], "tail") // page 4 is zero, page 5 holds data
	var buf bytes.Buffer
	if err := encodeSnapshot(&buf, mem, wasm.Hints{}, "build", base, 0); err != nil {
		t.Fatal(err)
	}
	img, err := decodeSnapshot(&buf, base, "build", 1<<30)
	if err != nil || !bytes.Equal(img.Memory, mem) {
		t.Fatalf("round trip: %v, equal %v", err, img != nil && bytes.Equal(img.Memory, mem))
	}
	if err := encodeSnapshot(&bytes.Buffer{}, mem, wasm.Hints{}, "build", base, 40); !errors.Is(err, ErrSnapshotTooLarge) {
		t.Errorf("over a 40-byte cap: %v, want ErrSnapshotTooLarge", err)
	}
	if err := encodeSnapshot(&bytes.Buffer{}, mem[:100], wasm.Hints{}, "build", base, 0); err == nil {
		t.Error("a memory of part of a page was encoded")
	}
}

// TestSnapshot_delta: a page of the base image's range that differs in a few bytes is stored
// as its delta from the base page, so incompressible pages that barely changed cost little.
func TestSnapshot_delta(t *testing.T) {
	mem := make([]byte, 4*snapPage)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range mem {
		mem[i] = byte(rng.Uint32())
	}
	base := &wasm.Image{Build: "build", ID: "base", Memory: append([]byte(nil), mem...)}
	for i := range 4 {
		mem[i*snapPage+1000] ^= 0xff // each page differs in one byte
	}
	var buf bytes.Buffer
	if err := encodeSnapshot(&buf, mem, wasm.Hints{}, "build", base, 0); err != nil {
		t.Fatal(err)
	}
	if buf.Len() > 4<<10 {
		t.Errorf("four pages that differ in a byte each took %d bytes, want their deltas (a few hundred)", buf.Len())
	}
	img, err := decodeSnapshot(&buf, base, "build", 1<<30)
	if err != nil || !bytes.Equal(img.Memory, mem) {
		t.Fatalf("round trip: %v", err)
	}
}

// FuzzDecodeSnapshot: no input makes the decoder panic, allocate past its memory bound, or
// return an image that is not whole pages; what it accepts re-encodes to the same memory.
// Seeds are in testdata/fuzz/FuzzDecodeSnapshot and below.
func FuzzDecodeSnapshot(f *testing.F) {
	base := fakeBase()
	mem := make([]byte, 6*snapPage)
	copy(mem, base.Memory)
	mem[snapPage] = 9
	copy(mem[5*snapPage:], "data")
	var buf bytes.Buffer
	encodeSnapshot(&buf, mem, wasm.Hints{}, "build", base, 0)
	f.Add(buf.Bytes())
	f.Add([]byte(snapMagic))
	f.Add([]byte(snapMagic + "\x05\x00build\x04\x00base\xff\xff\xff\xff"))
	f.Add([]byte(snapMagic + "\x05\x00build\x04\x00base\x02\x00\x00\x00\x00\x07"))
	const maxMemory = 64 * snapPage
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := decodeSnapshot(bytes.NewReader(data), base, "build", maxMemory)
		if err != nil {
			if !errors.Is(err, ErrBadSnapshot) && !errors.Is(err, ErrForeignSnapshot) {
				t.Fatalf("error %v is neither ErrBadSnapshot nor ErrForeignSnapshot", err)
			}
			return
		}
		if len(img.Memory)%snapPage != 0 || len(img.Memory) > maxMemory {
			t.Fatalf("image of %d bytes", len(img.Memory))
		}
		var again bytes.Buffer
		if err := encodeSnapshot(&again, img.Memory, wasm.Hints{}, "build", base, 0); err != nil {
			t.Fatal(err)
		}
		back, err := decodeSnapshot(&again, base, "build", maxMemory)
		if err != nil || !bytes.Equal(back.Memory, img.Memory) {
			t.Fatalf("re-encoded image differs: %v", err)
		}
	})
}

// TestSnapshot_hints: a snapshot that skips the pages the page table says are unchanged (as
// the base image, or never touched) is byte for byte the one that reads every page, before and
// after the memory grew past the image's mapping; and most of the base image's pages are
// skipped, before and after the growth (else the hints went unused, or the growth copied the
// image's mapping instead of mapping it again).
func TestSnapshot_hints(t *testing.T) {
	ip, _ := newInterp(t)
	base, err := ip.engine.host.BaseImage(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	half := len(base.Memory) / snapPage / 2
	check := func(stage string, minSkipped int) {
		t.Helper()
		if _, err := ip.g.in.Call(context.Background(), []byte(`{"op":"freeze"}`), nil); err != nil {
			t.Fatal(err)
		}
		err := ip.g.in.ViewMemory(func(build string, mem []byte, hints wasm.Hints) error {
			if hints.Kind == nil {
				return fmt.Errorf("no hints (is /proc/self/pagemap readable?)")
			}
			var with, without bytes.Buffer
			if err := encodeSnapshot(&with, mem, hints, build, base, 0); err != nil {
				return err
			}
			if err := encodeSnapshot(&without, mem, wasm.Hints{}, build, base, 0); err != nil {
				return err
			}
			if !bytes.Equal(with.Bytes(), without.Bytes()) {
				return fmt.Errorf("the snapshot with hints (%d bytes) differs from the one without (%d bytes)", with.Len(), without.Len())
			}
			skipped := bytes.Count(hints.Kind, []byte{wasm.HintBase}) + bytes.Count(hints.Kind, []byte{wasm.HintZero})
			t.Logf("%s: %d of %d pages skipped, snapshot %d bytes", stage, skipped, len(hints.Kind), with.Len())
			if skipped < minSkipped {
				return fmt.Errorf("only %d of %d pages skipped, want %d", skipped, len(hints.Kind), minSkipped)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", stage, err)
		}
	}
	run(t, ip, "import collections\nx = 42\nwords = collections.Counter('a b c a'.split())\ns = 'z' * 100_000")
	check("small", half)
	run(t, ip, "big = bytearray(120 << 20)\nbig[::4096] = b'x' * len(big[::4096])\ndel s")
	check("grown", half)
	run(t, ip, "del big\ny = [i * i for i in range(10_000)]")
	check("shrunk", half)
}

// TestSnapshot_v2: a snapshot of the previous format (whole pages as deltas, "WBXSNAP2"), saved
// by an older server for the same python.wasm, still thaws; the new page kind is refused in it.
func TestSnapshot_v2(t *testing.T) {
	base := fakeBase()
	mem := make([]byte, 6*snapPage)
	copy(mem, base.Memory)
	mem[snapPage+3] ^= 0x5a
	copy(mem[5*snapPage:], "tail")
	v2 := func(kinds []byte, pages ...[]byte) []byte {
		var body bytes.Buffer
		body.WriteString(snapMagicV2)
		for _, s := range []string{"build", base.ID} {
			binary.Write(&body, binary.LittleEndian, uint16(len(s)))
			body.WriteString(s)
		}
		binary.Write(&body, binary.LittleEndian, uint32(len(kinds)))
		body.Write(kinds)
		zw, _ := flate.NewWriter(&body, flate.BestSpeed)
		for _, p := range pages {
			zw.Write(p)
		}
		zw.Close()
		binary.Write(&body, binary.LittleEndian, crc32.Checksum(body.Bytes(), castagnoli))
		return body.Bytes()
	}
	delta := make([]byte, snapPage)
	subtle.XORBytes(delta, mem[snapPage:2*snapPage], base.Memory[snapPage:2*snapPage])
	old := v2([]byte{pageBase, pageDelta, pageBase, pageBase, pageZero, pageData}, delta, mem[5*snapPage:])
	img, err := decodeSnapshot(bytes.NewReader(old), base, "build", 1<<30)
	if err != nil || !bytes.Equal(img.Memory, mem) {
		t.Fatalf("a WBXSNAP2 snapshot: %v", err)
	}
	bad := v2([]byte{pageBase, pageBlocks, pageBase, pageBase, pageZero, pageZero}, []byte{1, 0}, make([]byte, snapBlock))
	if _, err := decodeSnapshot(bytes.NewReader(bad), base, "build", 1<<30); !errors.Is(err, ErrBadSnapshot) {
		t.Fatalf("kind 4 in a WBXSNAP2 snapshot: %v, want ErrBadSnapshot", err)
	}
}
