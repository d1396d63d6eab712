package bash

import (
	"encoding/json"
	"io"
	"sync"
	"sync/atomic"

	"wasmbox/runtime"
)

// stream is one run's stdout or stderr, capped, reporting a flood past floodLimit bytes.
type stream struct {
	*runtime.CappedBuffer
	total   atomic.Int64
	limit   int64
	onFlood func()
}

func newStream(limit int) *stream {
	return &stream{CappedBuffer: runtime.NewCappedBuffer(limit), limit: int64(max(1<<20, 100*limit))}
}

func (s *stream) Write(p []byte) (int, error) {
	if s.total.Add(int64(len(p))) > s.limit && s.onFlood != nil {
		s.onFlood()
	}
	return s.CappedBuffer.Write(p)
}

// switchWriter forwards to the current run's stream (or discards between runs).
type switchWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *switchWriter) set(w io.Writer) {
	s.mu.Lock()
	s.w = w
	s.mu.Unlock()
}

func (s *switchWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	w := s.w
	s.mu.Unlock()
	if w == nil {
		return len(p), nil
	}
	return w.Write(p)
}

func specJSON(s spec) (string, error) {
	b, err := json.Marshal(s)
	return string(b), err
}
