// Package capture holds the output buffers every engine writes guest output into: capped
// while written, flood-detecting, switchable between runs.
package capture

import (
	"io"
	"sync"
	"sync/atomic"
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

// FloodLimit is how much output a run may write to one stream in all before it is stopped:
// past the cap, output is dropped, but a run that keeps printing this much is a flood.
func FloodLimit(cap int) int64 { return int64(max(1<<20, 100*cap)) }

// Stream is one run's stdout or stderr: a [CappedBuffer] that calls OnFlood once more than
// [FloodLimit] bytes were written to it. It is safe for concurrent use.
type Stream struct {
	*CappedBuffer
	total   atomic.Int64
	limit   int64
	flooded atomic.Bool
	// OnFlood, if set, is called (once) when the stream floods.
	OnFlood func()
}

// NewStream returns a stream keeping at most limit bytes.
func NewStream(limit int) *Stream {
	return &Stream{CappedBuffer: NewCappedBuffer(limit), limit: FloodLimit(limit)}
}

// Write keeps what fits under the cap; it never fails.
func (s *Stream) Write(p []byte) (int, error) {
	if s.total.Add(int64(len(p))) > s.limit && s.OnFlood != nil && !s.flooded.Swap(true) {
		s.OnFlood()
	}
	return s.CappedBuffer.Write(p)
}

// SwitchWriter forwards writes to a writer that can be replaced between runs; with none set,
// writes are discarded. It is safe for concurrent use.
type SwitchWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// Set replaces the destination (nil discards).
func (s *SwitchWriter) Set(w io.Writer) {
	s.mu.Lock()
	s.w = w
	s.mu.Unlock()
}

// Write implements io.Writer.
func (s *SwitchWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	w := s.w
	s.mu.Unlock()
	if w == nil {
		return len(p), nil
	}
	return w.Write(p)
}
