package capture

import (
	"strings"
	"testing"
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
