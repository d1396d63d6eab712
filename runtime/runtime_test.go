package runtime

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCappedBuffer_Write(t *testing.T) {
	b := NewCappedBuffer(10)
	for _, s := range []string{"hello", " ", "world", strings.Repeat("x", 1000)} {
		if n, err := b.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%d bytes) = %d, %v", len(s), n, err)
		}
	}
	if got := b.String(); got != "hello worl" {
		t.Errorf("kept %q, want %q", got, "hello worl")
	}
	if got := b.Dropped(); got != 1001 {
		t.Errorf("dropped %d, want 1001", got)
	}
}

func TestCappedBuffer_String_utf8(t *testing.T) {
	b := NewCappedBuffer(4)
	b.Write([]byte("abcé")) // é is two bytes: the cap falls inside it
	if got := b.String(); got != "abc" {
		t.Errorf("got %q, want the incomplete character dropped", got)
	}
}

func TestLimits_Validate(t *testing.T) {
	cases := []struct {
		name string
		l    Limits
		ok   bool
	}{
		{"defaults", DefaultLimits(), true},
		{"zero", Limits{}, true},
		{"negative timeout", Limits{Timeout: -time.Second}, false},
		{"negative output", Limits{MaxOutput: -1}, false},
		{"tiny memory", Limits{Memory: 1 << 20}, false},
		{"huge memory", Limits{Memory: 8 << 30}, false},
		{"negative quota", Limits{WorkspaceQuota: -1}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.l.Validate()
			if (err == nil) != tc.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestChangedFiles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "same"), []byte("1"), 0o644)
	os.WriteFile(filepath.Join(dir, "edit"), []byte("1"), 0o644)
	before := SnapshotFiles(dir)
	os.WriteFile(filepath.Join(dir, "edit"), []byte("22"), 0o644)
	os.MkdirAll(filepath.Join(dir, "d"), 0o755)
	os.WriteFile(filepath.Join(dir, "d", "new"), []byte("333"), 0o644)
	got := ChangedFiles(before, SnapshotFiles(dir))
	want := []File{{Path: "d/new", Size: 3, MIME: "application/octet-stream"}, {Path: "edit", Size: 2, MIME: "application/octet-stream"}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestStream_flood(t *testing.T) {
	s := NewStream(10)
	floods := 0
	s.OnFlood = func() { floods++ }
	chunk := make([]byte, 64<<10)
	for range 40 {
		s.Write(chunk)
	}
	if floods != 1 {
		t.Errorf("OnFlood called %d times, want once", floods)
	}
	if len(s.String()) != 10 {
		t.Errorf("kept %d bytes, want 10", len(s.String()))
	}
}

func TestMIMEType(t *testing.T) {
	for name, want := range map[string]string{"a.png": "image/png", "d/x.CSV": "text/csv; charset=utf-8", "n.json": "application/json", "s.py": "text/plain; charset=utf-8", "noext": "application/octet-stream"} {
		if got := MIMEType(name); got != want {
			t.Errorf("MIMEType(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestLimits_Normalize(t *testing.T) {
	got, err := Limits{Timeout: time.Second}.Normalize()
	if err != nil || got.Timeout != time.Second || got.MaxOutput != DefaultMaxOutput || got.Memory != DefaultMemory || got.WorkspaceQuota != DefaultWorkspaceQuota {
		t.Errorf("Normalize: got %+v, %v", got, err)
	}
	if _, err := (Limits{Memory: 1 << 20}).Normalize(); err == nil || !strings.Contains(err.Error(), "memory limit") {
		t.Errorf("Normalize of a 1 MiB memory limit: %v, want an error naming the field", err)
	}
}
