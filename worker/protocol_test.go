package worker

import (
	"bytes"
	"errors"
	"testing"
)

// TestProtocol_blob: a snapshot travels after its frame; one over the reader's bound is
// refused before it is read, so a worker cannot make the supervisor allocate at will.
func TestProtocol_blob(t *testing.T) {
	var buf bytes.Buffer
	snap := bytes.Repeat([]byte("s"), 5000)
	if err := writeMessage(&buf, withBlob(&message{Kind: kindFrozen}, snap)); err != nil {
		t.Fatal(err)
	}
	writeMessage(&buf, &message{Kind: kindResult})
	raw := buf.Bytes()
	m, err := readMessageMax(bytes.NewReader(raw), 5000)
	if err != nil || m.Kind != kindFrozen || !bytes.Equal(m.data, snap) {
		t.Fatalf("got %+v %v", m, err)
	}
	r := bytes.NewReader(raw)
	readMessageMax(r, 5000)
	if m, err := readMessage(r); err != nil || m.Kind != kindResult {
		t.Errorf("the frame after the blob: %+v %v", m, err)
	}
	if _, err := readMessageMax(bytes.NewReader(raw), 4999); !errors.Is(err, errFrame) {
		t.Errorf("a blob over the bound: %v, want errFrame", err)
	}
	if _, err := readMessageMax(bytes.NewReader(raw[:len(raw)-100]), 1<<20); !errors.Is(err, errFrame) {
		t.Errorf("a truncated blob: %v, want errFrame", err)
	}
}
