package python

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
big = bytearray(5 * 1024 * 1024)`)
	if res.Error != nil {
		t.Fatalf("setup: %+v %s", res.Error, res.Stderr)
	}
	snap, err := a.Freeze(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// The buffered write reached the workspace before the snapshot.
	if b, _ := os.ReadFile(filepath.Join(dir, "log.txt")); string(b) != "buffered" {
		t.Errorf("log.txt after freeze: %q, want the buffered write", b)
	}
	t.Logf("snapshot: %d bytes", len(snap))
	if len(snap) > 3<<20 {
		t.Errorf("a small session's snapshot is %d bytes, want <= 3 MiB", len(snap))
	}
	b, dirB := newInterp(t)
	os.WriteFile(filepath.Join(dirB, "other.txt"), []byte("b's"), 0o644)
	notes, err := b.Thaw(context.Background(), snap)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(notes, "log.txt") {
		t.Errorf("notes %q do not name the closed file", notes)
	}
	res = run(t, b, `print(x, f(21), C().hi(), statistics.mean([1, 2, 3]), counts["l"], len(big), log.closed, open("other.txt").read())`)
	if res.Error != nil || res.Stdout != "42 42 hi 2 2 5242880 True b's\n" || res.StateReset {
		t.Errorf("after thaw: %+v %q %q reset=%v", res.Error, res.Stdout, res.Stderr, res.StateReset)
	}
}

// TestInterpreter_Thaw_bad: a corrupt, truncated or foreign snapshot is refused with a clear
// error and leaves a working interpreter.
func TestInterpreter_Thaw_bad(t *testing.T) {
	a, _ := newInterp(t)
	run(t, a, "x = 1")
	snap, err := a.Freeze(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	foreign := []byte(snapMagic + "\x04\x00abcd\x02\x00ef")
	corrupt := append([]byte(nil), snap...)
	for i := len(corrupt) - 200; i < len(corrupt); i++ {
		corrupt[i] ^= 0x5a
	}
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"truncated", snap[:len(snap)/2], ErrBadSnapshot},
		{"corrupt", corrupt, ErrBadSnapshot},
		{"not a snapshot", []byte("hello"), ErrBadSnapshot},
		{"empty", nil, ErrBadSnapshot},
		{"foreign build", foreign, ErrForeignSnapshot},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := newInterp(t)
			run(t, b, "y = 2")
			_, err := b.Thaw(context.Background(), tc.data)
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
	if _, err := ip.(*Interpreter).Freeze(context.Background()); !errors.Is(err, ErrSnapshotTooLarge) {
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
	snap, err := ip.Freeze(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	freeze := time.Since(start)
	into, _ := newInterp(b)
	b.ResetTimer()
	for b.Loop() {
		if _, err := into.Thaw(context.Background(), snap); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(snap))/1e6, "snapMB")
	b.ReportMetric(float64(freeze.Milliseconds()), "freeze-ms")
}

// BenchmarkInterpreter_freezeSmall is what a snapshot before every run would cost a typical
// session (a few variables, imports, a function).
func BenchmarkInterpreter_freezeSmall(b *testing.B) {
	ip, _ := newInterp(b)
	run(b, ip, "import statistics, collections\nx = 42\ndef f(n): return n * 2\ncounts = collections.Counter('hello')")
	var size int
	for b.Loop() {
		snap, err := ip.Freeze(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		size = len(snap)
	}
	b.ReportMetric(float64(size)/1e6, "snapMB")
}
