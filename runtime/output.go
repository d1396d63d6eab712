package runtime

import (
	"sync"
	"unicode/utf8"
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

// String returns what was kept, without a character the cap cut in two.
func (b *CappedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	buf := b.buf
	if b.dropped > 0 {
		// Drop a trailing partial UTF-8 sequence (at most 3 bytes).
		for i := 1; i <= 3 && i <= len(buf); i++ {
			if utf8.RuneStart(buf[len(buf)-i]) {
				if r, _ := utf8.DecodeRune(buf[len(buf)-i:]); r == utf8.RuneError {
					buf = buf[:len(buf)-i]
				}
				break
			}
		}
	}
	return string(buf)
}

// Dropped returns how many bytes were written past the cap.
func (b *CappedBuffer) Dropped() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dropped
}
