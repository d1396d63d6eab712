// Package javascript runs JavaScript and TypeScript in goja: one runtime per session whose
// globals persist between runs, node-like console output, promises and timers on an event loop
// that runs until idle, and limits on time, memory, output and stack depth. Guest code has no
// host access: no file system, network, processes or environment.
package javascript

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/dop251/goja"

	"wasmbox/runtime"
)

//go:embed prelude.js
var preludeSource string

var preludeProgram = goja.MustCompile("wasmbox-prelude.js", preludeSource, true)

// maxCallStack bounds JS call depth; deeper recursion throws a RangeError instead of
// growing the Go stack.
const maxCallStack = 5000

// Engine makes JavaScript or TypeScript interpreters. It is safe for concurrent use.
type Engine struct {
	lang   runtime.Language
	limits runtime.Limits
}

// Option configures an [Engine].
type Option func(*Engine) error

// WithLimits sets the limits of runs whose request carries none, and the memory guard.
func WithLimits(l runtime.Limits) Option {
	return func(e *Engine) error {
		l, err := l.Normalize()
		e.limits = l
		return err
	}
}

// New returns an engine for lang, which must be [runtime.JavaScript] or [runtime.TypeScript].
func New(lang runtime.Language, opts ...Option) (*Engine, error) {
	if lang != runtime.JavaScript && lang != runtime.TypeScript {
		return nil, fmt.Errorf("javascript: language %q: want javascript or typescript", lang)
	}
	e := &Engine{lang: lang, limits: runtime.DefaultLimits()}
	for _, o := range opts {
		if err := o(e); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// Language implements [runtime.Engine].
func (e *Engine) Language() runtime.Language { return e.lang }

// Close implements [runtime.Engine]; an engine holds nothing.
func (e *Engine) Close(context.Context) error { return nil }

// New implements [runtime.Engine]. The workspace is not visible to JavaScript, which has no
// file system.
func (e *Engine) New(ctx context.Context, workspaceDir string) (runtime.Interpreter, error) {
	v, err := newVM()
	if err != nil {
		return nil, err
	}
	return &Interpreter{engine: e, vm: v}, nil
}

// Interpreter is one session's JavaScript. Runs are serialized; Close may be called at any time.
type Interpreter struct {
	engine *Engine
	mu     sync.Mutex // serializes runs
	cmu    sync.Mutex // guards vm and closed
	vm     *vm
	closed bool
	lost   bool
}

// ErrClosed is returned by Run after Close.
var ErrClosed = errors.New("javascript: interpreter closed")

// Close stops a run in progress and releases the runtime.
func (ip *Interpreter) Close() error {
	ip.cmu.Lock()
	v := ip.vm
	ip.vm = nil
	ip.closed = true
	ip.cmu.Unlock()
	if v != nil {
		v.rt.Interrupt(errClosed)
	}
	return nil
}

var errClosed = errors.New("interpreter closed")

// Run implements [runtime.Interpreter].
func (ip *Interpreter) Run(ctx context.Context, req runtime.Request) (*runtime.Result, error) {
	ip.mu.Lock()
	defer ip.mu.Unlock()
	limits := req.Limits
	if limits == (runtime.Limits{}) {
		limits = ip.engine.limits
	}
	limits = limits.WithDefaults()
	res := &runtime.Result{}
	ip.cmu.Lock()
	if ip.closed {
		ip.cmu.Unlock()
		return nil, ErrClosed
	}
	v := ip.vm
	if v == nil {
		nv, err := newVM()
		if err != nil {
			ip.cmu.Unlock()
			return nil, err
		}
		ip.vm, v = nv, nv
		res.StateReset = ip.lost
		ip.lost = false
	}
	ip.cmu.Unlock()

	start := time.Now()
	code := req.Code
	v.cell++
	name := fmt.Sprintf("<cell-%d>", v.cell)
	if depth := nesting(code); depth > MaxNesting {
		// goja's and esbuild's parsers recurse once per level: refuse before they overflow.
		msg := fmt.Sprintf("code nests brackets %d levels deep; wasmbox parses at most %d", depth, MaxNesting)
		res.Stderr = "SyntaxError: " + msg + "\n"
		res.Error = &runtime.Error{Kind: runtime.ErrException, Type: "SyntaxError", Message: msg}
		res.ExitCode = 1
		res.Duration = time.Since(start)
		return res, nil
	}
	if ip.engine.lang == runtime.TypeScript {
		js, diag := transpile(code, fmt.Sprintf("cell-%d.ts", v.cell))
		if diag != "" {
			res.Stderr = diag
			res.Error = &runtime.Error{Kind: runtime.ErrException, Type: "SyntaxError", Message: firstLine(diag)}
			res.ExitCode = 1
			res.Duration = time.Since(start)
			return res, nil
		}
		code = js
	}
	out := v.exec(ctx, name, code, limits, req.Script)
	out.Duration = time.Since(start)
	out.StateReset = out.StateReset || res.StateReset
	if out.discard {
		// The runtime holds what made it fail (a huge heap): start afresh next time.
		ip.cmu.Lock()
		if ip.vm == v {
			ip.vm = nil
			ip.lost = true
		}
		ip.cmu.Unlock()
		out.StateReset = true
		freeMemory()
	}
	if ctx.Err() != nil && out.Error != nil && out.Error.Kind == runtime.ErrInternal {
		return nil, ctx.Err()
	}
	return &out.Result, nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
