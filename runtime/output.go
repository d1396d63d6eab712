package runtime

import (
	"sync"
)

// CappedBuffer collects a stream up to a cap and counts what it dropped, so a guest printing in
// a loop never makes the host buffer more than the cap. It is safe for concurrent use.
type CappedBuffer struct {
	mu      sync.Mutex
	cap     int
	buf     []byte
	dropped int64
}

// NewCappedBuffer returns a buffer that keeps at most limit bytes.
func NewCappedBuffer(limit int) *CappedBuffer { return &CappedBuffer{cap: limit} }

// Write keeps what fits under the cap and drops the rest; it never fails.
func (b *CappedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	room := b.cap - len(b.buf)
	if room > len(p) {
		room = len(p)
	}
	if room > 0 {
		b.buf = append(b.buf, p[:room]...)
	}
	b.dropped += int64(len(p) - max(room, 0))
	return len(p), nil
}

// String returns what was kept.
func (b *CappedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// Dropped returns how many bytes were written past the cap.
func (b *CappedBuffer) Dropped() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dropped
}
