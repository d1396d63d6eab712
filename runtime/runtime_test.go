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
	want := []File{{Path: "d/new", Size: 3}, {Path: "edit", Size: 2}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("got %+v, want %+v", got, want)
	}
}
