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
//	       <-------------   bound
//	thaw + snapshot ---->   (optional, right after bound: Python's saved state)
//	       <-------------   thawed
//	run    ------------->
//	       <-------------   result (retire: the worker exits after sending it)
//	...
//	freeze ------------->   (before the supervisor stops an idle worker)
//	       <-------------   frozen + snapshot
//	EOF    ------------->   exits
//
// A message whose Blob is n is followed by n raw bytes (a snapshot), outside the JSON.
const (
	maxFrame = 64 << 20
	maxBlob  = 1 << 30
)

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
	// Notes are what a thaw has to tell the user (files that were closed).
	Notes string `json:"notes,omitempty"`
	// Blob is the length of the raw bytes after the frame; data holds them.
	Blob int `json:"blob,omitempty"`
	data []byte
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
	if _, err = w.Write(frame); err != nil || m.Blob == 0 {
		return err
	}
	_, err = w.Write(m.data)
	return err
}

// withBlob returns m carrying data after its frame.
func withBlob(m *message, data []byte) *message {
	m.Blob, m.data = len(data), data
	return m
}

// readMessage reads one frame and the blob after it, of at most maxBlob bytes (the worker
// trusts its supervisor with up to 1 GiB; the supervisor bounds what a worker may send).
func readMessage(r io.Reader) (*message, error) { return readMessageMax(r, maxBlob) }

func readMessageMax(r io.Reader, blobMax int) (*message, error) {
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
	if m.Blob < 0 || m.Blob > blobMax {
		return nil, fmt.Errorf("%w: blob of %d bytes", errFrame, m.Blob)
	}
	if m.Blob > 0 {
		m.data = make([]byte, m.Blob)
		if _, err := io.ReadFull(r, m.data); err != nil {
			return nil, fmt.Errorf("%w: blob: %v", errFrame, err)
		}
	}
	return &m, nil
}
