package python

import (
	"errors"
	"sync/atomic"

	"github.com/tetratelabs/wazero/sys"

	"wasmbox/runtime"
)

// stream is one run's stdout or stderr: it keeps up to the cap and, past floodLimit bytes in
// all, reports a flood so the run can be stopped instead of spinning until its timeout.
type stream struct {
	*runtime.CappedBuffer
	total   atomic.Int64
	limit   int64
	onFlood func()
}

func newStream(limit int) *stream {
	return &stream{CappedBuffer: runtime.NewCappedBuffer(limit), limit: floodLimit(limit)}
}

// floodLimit is how much output a run may write in all before it is stopped.
func floodLimit(cap int) int64 { return int64(max(1<<20, 100*cap)) }

func (s *stream) Write(p []byte) (int, error) {
	if s.total.Add(int64(len(p))) > s.limit && s.onFlood != nil {
		s.onFlood()
	}
	return s.CappedBuffer.Write(p)
}

func asExit(err error) (uint32, bool) {
	var ee *sys.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), true
	}
	return 0, false
}

// isTrap reports whether the guest died of a trap (or was killed) rather than calling exit.
func isTrap(err error) bool {
	_, ok := asExit(err)
	return err != nil && !ok
}
