package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"wasmbox/runtime"
)

// Local runs a session's code in this process with a set of engines: one interpreter per
// language, made on first use. The worker process serves its session through a Local; tests
// use one directly. It is safe for concurrent use.
type Local struct {
	engines map[runtime.Language]runtime.Engine
}

// NewLocal returns a Local over engines; a language may appear once.
func NewLocal(engines ...runtime.Engine) (*Local, error) {
	l := &Local{engines: map[runtime.Language]runtime.Engine{}}
	for _, e := range engines {
		if _, dup := l.engines[e.Language()]; dup {
			return nil, fmt.Errorf("worker: two engines for %s", e.Language())
		}
		l.engines[e.Language()] = e
	}
	return l, nil
}

// Languages returns the languages that have an engine, sorted.
func (l *Local) Languages() []runtime.Language {
	out := make([]runtime.Language, 0, len(l.engines))
	for lang := range l.engines {
		out = append(out, lang)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Open returns the interpreter of one session whose workspace is dir.
func (l *Local) Open(ctx context.Context, dir string) (runtime.Interpreter, error) {
	return &localSession{l: l, dir: dir, interps: map[runtime.Language]runtime.Interpreter{}}, nil
}

// ErrLanguage reports a request for a language no engine serves.
var ErrLanguage = errors.New("worker: language not available")

// localSession dispatches each request to its language's interpreter.
type localSession struct {
	l       *Local
	dir     string
	mu      sync.Mutex
	interps map[runtime.Language]runtime.Interpreter
	closed  bool
}

func (s *localSession) interp(ctx context.Context, lang runtime.Language) (runtime.Interpreter, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if ip := s.interps[lang]; ip != nil {
		return ip, nil
	}
	eng, ok := s.l.engines[lang]
	if !ok {
		return nil, fmt.Errorf("%w: %s (available: %v)", ErrLanguage, lang, s.l.Languages())
	}
	ip, err := eng.New(ctx, s.dir)
	if err != nil {
		return nil, fmt.Errorf("worker: start %s interpreter: %w", lang, err)
	}
	s.interps[lang] = ip
	return ip, nil
}

// Run implements [runtime.Interpreter].
func (s *localSession) Run(ctx context.Context, req runtime.Request) (*runtime.Result, error) {
	ip, err := s.interp(ctx, req.Language)
	if err != nil {
		return nil, err
	}
	if !req.Deadline.IsZero() && req.Limits != (runtime.Limits{}) {
		// What the caller waited for is taken from the run's limit (zero limits mean each
		// engine's own, left as they are).
		limits := req.Limits.WithDefaults()
		limits.Timeout = max(req.TimeLeft(time.Now()), time.Millisecond)
		req.Limits, req.Deadline = limits, time.Time{}
	}
	return ip.Run(ctx, req)
}

// Close implements [runtime.Interpreter].
func (s *localSession) Close() error {
	s.mu.Lock()
	interps := s.interps
	s.interps = nil
	s.closed = true
	s.mu.Unlock()
	var errs []error
	for _, ip := range interps {
		errs = append(errs, ip.Close())
	}
	return errors.Join(errs...)
}

// ErrClosed is returned by Run after Close.
var ErrClosed = errors.New("worker: session closed")

// freeze writes the saved state of the session's Python interpreter to w; it reports false,
// having written nothing, when there is none. Only Python's state can be saved; JavaScript and
// bash start afresh after a freeze.
func (s *localSession) freeze(ctx context.Context, w io.Writer) (bool, error) {
	s.mu.Lock()
	ip := s.interps[runtime.Python]
	s.mu.Unlock()
	f, ok := ip.(runtime.Freezer)
	if !ok {
		return false, nil
	}
	return f.Freeze(ctx, w)
}

// thaw restores the session's Python interpreter from a saved state read from r.
func (s *localSession) thaw(ctx context.Context, r io.Reader) (string, error) {
	ip, err := s.interp(ctx, runtime.Python)
	if err != nil {
		return "", err
	}
	f, ok := ip.(runtime.Freezer)
	if !ok {
		return "", fmt.Errorf("worker: %w: Python's state cannot be restored here", ErrLanguage)
	}
	return f.Thaw(ctx, r)
}

// serveFreeze answers a freeze: a frozen frame and the snapshot as a stream after it; a frozen
// frame alone when there is no state, or with the error when saving failed before any of it
// was sent; an aborted stream when it failed part way.
func serveFreeze(ctx context.Context, conn io.Writer, sess runtime.Interpreter) error {
	ls, ok := sess.(*localSession)
	if !ok {
		return writeMessage(conn, &message{Kind: kindFrozen})
	}
	sw := newStreamWriter(conn, func() *message { return &message{Kind: kindFrozen} })
	wrote, err := ls.freeze(ctx, sw)
	switch {
	case sw.Started() && err != nil:
		return sw.Abort(err.Error())
	case sw.Started():
		return sw.Close()
	case err != nil:
		return writeMessage(conn, &message{Kind: kindFrozen, Error: err.Error()})
	case wrote:
		return sw.Close() // wrote an empty snapshot: an empty stream
	}
	return writeMessage(conn, &message{Kind: kindFrozen})
}

// serveThaw answers a thaw whose frame m was read from conn: the snapshot streamed after it
// restores Python, and thawed says how that went. The stream is read to its end whatever
// happens, so the next frame can be read.
func serveThaw(ctx context.Context, conn io.ReadWriter, m *message, sess runtime.Interpreter) error {
	if !m.Stream {
		return writeMessage(conn, &message{Kind: kindThawed, Error: "no snapshot sent"})
	}
	sr := newStreamReader(conn, maxSnapshot)
	var notes string
	var err error
	if ls, ok := sess.(*localSession); ok {
		notes, err = ls.thaw(ctx, sr)
	} else {
		err = fmt.Errorf("worker: %w: Python's state cannot be restored here", ErrLanguage)
	}
	if derr := sr.Drain(); derr != nil {
		if errors.Is(derr, errFrame) {
			return derr // the channel itself is broken
		}
		if err == nil {
			err = derr
		}
	}
	reply := &message{Kind: kindThawed, Notes: notes}
	if err != nil {
		reply.Error = err.Error()
	}
	return writeMessage(conn, reply)
}

// maxSnapshot bounds a snapshot the worker reads from its supervisor.
const maxSnapshot = 4 << 30
