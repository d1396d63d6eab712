package worker

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"wasmbox/runtime"
)

// Local runs a session's code in this process with a set of engines: one interpreter per
// language, made on first use. The worker process serves its session through a Local; tests
// and `wasmbox run` use one directly. It is safe for concurrent use.
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

// freeze returns the saved state of the session's Python interpreter, nil when it has none.
// Only Python's state can be saved; JavaScript and bash start afresh after a freeze.
func (s *localSession) freeze(ctx context.Context) ([]byte, error) {
	s.mu.Lock()
	ip := s.interps[runtime.Python]
	s.mu.Unlock()
	f, ok := ip.(runtime.Freezer)
	if !ok {
		return nil, nil
	}
	return f.Freeze(ctx)
}

// thaw restores the session's Python interpreter from a saved state.
func (s *localSession) thaw(ctx context.Context, data []byte) (string, error) {
	ip, err := s.interp(ctx, runtime.Python)
	if err != nil {
		return "", err
	}
	f, ok := ip.(runtime.Freezer)
	if !ok {
		return "", fmt.Errorf("worker: %w: Python's state cannot be restored here", ErrLanguage)
	}
	return f.Thaw(ctx, data)
}
