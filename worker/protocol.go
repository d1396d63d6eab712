package worker

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"wasmbox/runtime"
)

// The protocol between the supervisor and a worker: frames of a 4-byte big-endian length and a
// JSON [message], over a socketpair the worker inherits as fd 3. Guest code never sees that
// descriptor: Python and JavaScript have no way to name host descriptors, and bash programs are
// started with only stdin, stdout and stderr.
//
// The exchange is strictly request/response:
//
//	supervisor              worker
//	setup  ------------->
//	       <-------------   ready (engines built, Python warm)
//	bind   ------------->   (confines itself to the workspace)
//	       <-------------   bound (and the exec listener's descriptor, which the
//	                        supervisor copies out and answers from then on)
//	thaw + snapshot ---->   (optional, right after bound: Python's saved state)
//	       <-------------   thawed
//	run    ------------->
//	       <-------------   result (retire: the worker exits after sending it)
//	...
//	freeze ------------->   (before the supervisor stops an idle worker)
//	       <-------------   frozen + snapshot
//	EOF    ------------->   exits
//
// A message with Stream set is followed by a stream of raw bytes (a snapshot), outside the JSON:
// chunks of a 4-byte big-endian length (1 to maxChunk) and that many bytes, ended by a length
// of 0 (complete) or by abortMark, a 4-byte length and a message of at most maxAbort bytes
// (the sender failed part way: what came before is to be thrown away). Neither side ever holds
// a whole snapshot in memory: the worker encodes its memory straight into the stream, the
// supervisor copies it to disk.
//
// The setup message carries [ProtocolVersion] and the build id of the server's binary; a
// worker of another version or build refuses it, so an upgrade in place never pairs a new
// worker with an old server.
const (
	maxFrame  = 64 << 20
	maxChunk  = 1 << 20
	maxAbort  = 4 << 10
	abortMark = 0xFFFFFFFF
)

// ProtocolVersion is the version of the exchange between the supervisor and its workers.
const ProtocolVersion = 3

// Message kinds.
const (
	kindSetup  = "setup"
	kindReady  = "ready"
	kindBind   = "bind"
	kindBound  = "bound"
	kindRun    = "run"
	kindResult = "result"
	kindFreeze = "freeze"
	kindFrozen = "frozen"
	kindThaw   = "thaw"
	kindThawed = "thawed"
)

// infoPythonLoad, in a ready message's Info, says how the worker loaded python.wasm's machine
// code: through the skeleton's cache entry or validating python.wasm first.
const (
	infoPythonLoad = "python_load"
	loadSkeleton   = "skeleton"
	loadValidated  = "validated"
)

// message is one frame's body. Only the fields of its kind are set.
type message struct {
	Kind    string            `json:"kind"`
	Setup   *Setup            `json:"setup,omitempty"`
	Bind    string            `json:"bind,omitempty"`
	Request *runtime.Request  `json:"request,omitempty"`
	Result  *wireResult       `json:"result,omitempty"`
	Error   string            `json:"error,omitempty"`
	Retire  bool              `json:"retire,omitempty"`
	Info    map[string]string `json:"info,omitempty"`
	// Notes are what a thaw has to tell the user (files that were closed), or what a worker
	// has to tell its server as it gets ready (a slower start than it was set up for).
	Notes string `json:"notes,omitempty"`
	// Stream says a stream of raw bytes follows the frame.
	Stream bool `json:"stream,omitempty"`
	// Version and Build are the protocol version and the server binary's build id (setup),
	// and the worker's own (ready).
	Version int    `json:"version,omitempty"`
	Build   string `json:"build,omitempty"`
	// ExecListener is the worker's descriptor of its exec listener (bound, with
	// Confinement.ExecCheck): the supervisor copies it out with pidfd_getfd.
	ExecListener int `json:"exec_listener,omitempty"`
	// ProgramNproc is the RLIMIT_NPROC the worker gives its programs (bound; 0: none): the
	// supervisor sets it on each program before its execve goes on.
	ProgramNproc uint64 `json:"program_nproc,omitempty"`
	// ProgramForks is how many processes the worker's programs may have, counted by the
	// supervisor at each of their forks (bound; 0: not counted).
	ProgramForks int64 `json:"program_forks,omitempty"`
}

// wireResult is a [runtime.Result] with the fields its JSON form leaves out.
type wireResult struct {
	runtime.Result
	ImageData  []wireImage `json:"image_data,omitempty"`
	DurationNS int64       `json:"duration_ns"`
}

type wireImage struct {
	MIME string `json:"mime"`
	Data []byte `json:"data"`
}

func toWire(r *runtime.Result) *wireResult {
	w := &wireResult{Result: *r, DurationNS: int64(r.Duration)}
	for _, im := range r.Images {
		w.ImageData = append(w.ImageData, wireImage{MIME: im.MIME, Data: im.Data})
	}
	w.Result.Images = nil
	return w
}

func (w *wireResult) result() *runtime.Result {
	r := w.Result
	r.Duration = time.Duration(w.DurationNS)
	for _, im := range w.ImageData {
		r.Images = append(r.Images, runtime.Image{MIME: im.MIME, Data: im.Data})
	}
	return &r
}

// errFrame reports a frame that breaks the protocol.
var errFrame = errors.New("worker: bad frame")

// ErrVersion reports a worker and a server of different protocol versions or builds.
var ErrVersion = errors.New("worker: worker and server are different builds")

func writeMessage(w io.Writer, m *message) error {
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("worker: encode %s: %w", m.Kind, err)
	}
	if len(body) > maxFrame {
		return fmt.Errorf("%w: %s of %d bytes exceeds %d", errFrame, m.Kind, len(body), maxFrame)
	}
	frame := make([]byte, 4+len(body))
	binary.BigEndian.PutUint32(frame, uint32(len(body)))
	copy(frame[4:], body)
	_, err = w.Write(frame)
	return err
}

// readMessage reads one frame. A stream after it is read with a [streamReader].
func readMessage(r io.Reader) (*message, error) {
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(head[:])
	if n > maxFrame {
		return nil, fmt.Errorf("%w: length %d exceeds %d", errFrame, n, maxFrame)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, fmt.Errorf("%w: %v", errFrame, err)
	}
	var m message
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", errFrame, err)
	}
	return &m, nil
}

// streamWriter sends a stream in chunks of up to maxChunk bytes. Before its first chunk (or
// its end) it sends the frame head returns, so a sender that turns out to have nothing to send
// sends no stream at all. It is not safe for concurrent use.
type streamWriter struct {
	w       io.Writer
	head    func() *message // the frame that announces the stream; nil once sent
	buf     []byte
	started bool
	err     error
}

func newStreamWriter(w io.Writer, head func() *message) *streamWriter {
	return &streamWriter{w: w, head: head, buf: make([]byte, 4, 4+maxChunk)}
}

func (s *streamWriter) start() error {
	if s.started || s.err != nil {
		return s.err
	}
	s.started = true
	m := s.head()
	m.Stream = true
	s.err = writeMessage(s.w, m)
	return s.err
}

func (s *streamWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if err := s.start(); err != nil {
			return n, err
		}
		k := min(len(p), cap(s.buf)-len(s.buf))
		s.buf = append(s.buf, p[:k]...)
		p, n = p[k:], n+k
		if len(s.buf) == cap(s.buf) {
			if err := s.flush(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

func (s *streamWriter) flush() error {
	if len(s.buf) == 4 || s.err != nil {
		return s.err
	}
	binary.BigEndian.PutUint32(s.buf, uint32(len(s.buf)-4))
	_, s.err = s.w.Write(s.buf)
	s.buf = s.buf[:4]
	return s.err
}

// Started reports whether the stream's frame was sent.
func (s *streamWriter) Started() bool { return s.started }

// Close ends a started stream as complete.
func (s *streamWriter) Close() error {
	if err := s.flush(); err != nil {
		return err
	}
	var end [4]byte
	_, s.err = s.w.Write(end[:])
	return s.err
}

// Abort ends a started stream as failed, with why.
func (s *streamWriter) Abort(why string) error {
	if s.err != nil {
		return s.err
	}
	if len(why) > maxAbort {
		why = why[:maxAbort]
	}
	b := make([]byte, 8+len(why))
	binary.BigEndian.PutUint32(b, abortMark)
	binary.BigEndian.PutUint32(b[4:], uint32(len(why)))
	copy(b[8:], why)
	_, s.err = s.w.Write(b)
	return s.err
}

// errStreamAborted is the error of a stream its sender aborted; the message says why.
var errStreamAborted = errors.New("worker: stream aborted")

// streamReader reads a stream after its frame: io.EOF at its end, an error wrapping
// errStreamAborted when the sender gave up, errFrame when the stream breaks the protocol or
// grows past max bytes (0: no bound). It is not safe for concurrent use.
type streamReader struct {
	r     io.Reader
	max   int64
	total int64
	left  int // bytes left in the current chunk
	err   error
}

func newStreamReader(r io.Reader, max int64) *streamReader { return &streamReader{r: r, max: max} }

func (s *streamReader) Read(p []byte) (int, error) {
	for s.left == 0 {
		if s.err != nil {
			return 0, s.err
		}
		var head [4]byte
		if _, err := io.ReadFull(s.r, head[:]); err != nil {
			s.err = fmt.Errorf("%w: stream: %v", errFrame, err)
			return 0, s.err
		}
		switch n := binary.BigEndian.Uint32(head[:]); {
		case n == 0:
			s.err = io.EOF
		case n == abortMark:
			s.err = s.readAbort()
		case n > maxChunk:
			s.err = fmt.Errorf("%w: stream chunk of %d bytes", errFrame, n)
		case s.max > 0 && s.total+int64(n) > s.max:
			s.err = fmt.Errorf("%w: stream over %d bytes", errFrame, s.max)
		default:
			s.left = int(n)
			s.total += int64(n)
		}
	}
	n, err := s.r.Read(p[:min(len(p), s.left)])
	s.left -= n
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		s.err = fmt.Errorf("%w: stream: %v", errFrame, err)
		return n, s.err
	}
	return n, nil
}

func (s *streamReader) readAbort() error {
	var head [4]byte
	if _, err := io.ReadFull(s.r, head[:]); err != nil {
		return fmt.Errorf("%w: stream abort: %v", errFrame, err)
	}
	n := binary.BigEndian.Uint32(head[:])
	if n > maxAbort {
		return fmt.Errorf("%w: stream abort of %d bytes", errFrame, n)
	}
	why := make([]byte, n)
	if _, err := io.ReadFull(s.r, why); err != nil {
		return fmt.Errorf("%w: stream abort: %v", errFrame, err)
	}
	return fmt.Errorf("%w: %s", errStreamAborted, why)
}

// Drain reads the rest of the stream, so the next frame can be read; it returns the stream's
// error (nil when it ended complete).
func (s *streamReader) Drain() error {
	_, err := io.Copy(io.Discard, s)
	return err
}

// sendStream sends m announcing a stream, then what r holds as that stream. When reading r
// fails the stream is aborted, so the receiver throws away what came.
func sendStream(w io.Writer, m *message, r io.Reader) error {
	sw := newStreamWriter(w, func() *message { return m })
	if err := sw.start(); err != nil {
		return err
	}
	buf := make([]byte, 256<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := sw.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			return sw.Close()
		}
		if err != nil {
			if aerr := sw.Abort(err.Error()); aerr != nil {
				return aerr
			}
			return nil
		}
	}
}
