package javascript

import (
	"container/heap"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"regexp"
	goruntime "runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"
	"github.com/dop251/goja_nodejs/buffer"
	"github.com/dop251/goja_nodejs/require"
	"github.com/dop251/goja_nodejs/url"

	"wasmbox/internal/capture"
	"wasmbox/runtime"
)

// vm is one goja runtime with wasmbox's globals. It is used by one goroutine at a time.
type vm struct {
	rt      *goja.Runtime
	inspect goja.Callable
	cell    int
	timers  timerQueue
	seq     int64
	// per run
	stdout, stderr *capture.CappedBuffer
	written        atomic.Int64
	floodLimit     int64
	stop           func(error) // interrupts the run with a cause
	rejected       []*goja.Promise
	started        time.Time
	asyncCell      bool // the current cell runs as an async function (top-level await)
}

type outcome struct {
	runtime.Result
	discard bool
}

// Causes of an interrupted run.
var (
	errTimeout = errors.New("timeout")
	errMemory  = errors.New("memory")
	errFlood   = errors.New("output flood")
)

func newVM() (*vm, error) {
	v := &vm{rt: goja.New(), started: time.Now()}
	rt := v.rt
	rt.SetMaxCallStackSize(maxCallStack)
	rt.SetPromiseRejectionTracker(func(p *goja.Promise, op goja.PromiseRejectionOperation) {
		switch op {
		case goja.PromiseRejectionReject:
			v.rejected = append(v.rejected, p)
		case goja.PromiseRejectionHandle:
			for i, q := range v.rejected {
				if q == p {
					v.rejected = append(v.rejected[:i], v.rejected[i+1:]...)
					break
				}
			}
		}
	})
	// URL and Buffer come from goja_nodejs through a registry that loads no files.
	reg := require.NewRegistry(require.WithLoader(func(path string) ([]byte, error) {
		return nil, require.ModuleFileDoesNotExistError
	}))
	reg.Enable(rt)
	url.Enable(rt)
	buffer.Enable(rt)
	// Load the allowed modules now: require.Require goes through the global require, which
	// is replaced below by one that refuses everything else.
	modules := map[string]goja.Value{
		"url":    require.Require(rt, "url"),
		"buffer": require.Require(rt, "buffer"),
	}
	rt.Set("require", func(call goja.FunctionCall) goja.Value {
		name := strings.TrimPrefix(call.Argument(0).String(), "node:")
		if name == "util" {
			return rt.ToValue(map[string]any{"inspect": rt.Get("__wasmbox_inspect"), "format": rt.Get("__wasmbox_format")})
		}
		if m, ok := modules[name]; ok {
			return m
		}
		e, _ := rt.New(rt.Get("Error"), rt.ToValue(fmt.Sprintf("Cannot find module '%s': wasmbox's JavaScript has no file system, network, processes or host modules (available: url, buffer, util)", call.Argument(0).String())))
		e.Set("code", "MODULE_NOT_FOUND")
		panic(e)
	})

	host := rt.NewObject()
	host.Set("write", func(stream int, text string) {
		v.write(stream, text)
	})
	host.Set("now", func() float64 { return float64(time.Since(v.started).Nanoseconds()) / 1e6 })
	host.Set("promiseState", func(p *goja.Promise) []any {
		switch p.State() {
		case goja.PromiseStateFulfilled:
			return []any{"fulfilled", p.Result()}
		case goja.PromiseStateRejected:
			return []any{"rejected", p.Result()}
		}
		return []any{"pending", nil}
	})
	f, err := rt.RunProgram(preludeProgram)
	if err != nil {
		return nil, fmt.Errorf("javascript: prelude: %w", err)
	}
	setup, ok := goja.AssertFunction(f)
	if !ok {
		return nil, errors.New("javascript: prelude is not a function")
	}
	api, err := setup(goja.Undefined(), rt.GlobalObject(), host)
	if err != nil {
		return nil, fmt.Errorf("javascript: prelude: %w", err)
	}
	apiObj := api.ToObject(rt)
	v.inspect, _ = goja.AssertFunction(apiObj.Get("inspect"))
	rt.Set("__wasmbox_inspect", apiObj.Get("inspect"))
	rt.Set("__wasmbox_format", apiObj.Get("format"))
	rt.GlobalObject().DefineDataProperty("__wasmbox_inspect", apiObj.Get("inspect"), goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE)
	rt.GlobalObject().DefineDataProperty("__wasmbox_format", apiObj.Get("format"), goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE)
	v.installGlobals()
	return v, nil
}

// installGlobals adds timers, TextEncoder/TextDecoder, atob/btoa and a harmless process.
func (v *vm) installGlobals() {
	rt := v.rt
	addTimer := func(repeat bool) func(goja.FunctionCall) goja.Value {
		return func(call goja.FunctionCall) goja.Value {
			fn, ok := goja.AssertFunction(call.Argument(0))
			if !ok {
				panic(rt.NewTypeError("The \"callback\" argument must be of type function"))
			}
			delay := call.Argument(1).ToFloat()
			if math.IsNaN(delay) || delay < 1 {
				delay = 1
			}
			var args []goja.Value
			if len(call.Arguments) > 2 {
				args = append(args, call.Arguments[2:]...)
			}
			v.seq++
			t := &timer{id: v.seq, seq: v.seq, fn: fn, args: args, due: time.Now().Add(time.Duration(delay * float64(time.Millisecond)))}
			if repeat {
				t.interval = time.Duration(delay * float64(time.Millisecond))
			}
			heap.Push(&v.timers, t)
			return rt.ToValue(t.id)
		}
	}
	clear := func(call goja.FunctionCall) goja.Value {
		id := call.Argument(0).ToInteger()
		v.timers.remove(id)
		return goja.Undefined()
	}
	rt.Set("setTimeout", addTimer(false))
	rt.Set("setInterval", addTimer(true))
	rt.Set("setImmediate", func(call goja.FunctionCall) goja.Value {
		args := append([]goja.Value{call.Argument(0), rt.ToValue(0)}, call.Arguments[min(1, len(call.Arguments)):]...)
		return addTimer(false)(goja.FunctionCall{This: call.This, Arguments: args})
	})
	rt.Set("clearTimeout", clear)
	rt.Set("clearInterval", clear)
	rt.Set("clearImmediate", clear)

	rt.Set("atob", func(s string) string {
		b, err := base64.StdEncoding.DecodeString(strings.TrimRight(strings.Map(dropSpace, s), "=") + strings.Repeat("=", (4-len(strings.TrimRight(strings.Map(dropSpace, s), "="))%4)%4))
		if err != nil {
			panic(rt.NewGoError(fmt.Errorf("InvalidCharacterError: the string to be decoded is not correctly encoded")))
		}
		r := make([]rune, len(b))
		for i, c := range b {
			r[i] = rune(c)
		}
		return string(r)
	})
	rt.Set("btoa", func(s string) string {
		b := make([]byte, 0, len(s))
		for _, r := range s {
			if r > 0xff {
				panic(rt.NewGoError(fmt.Errorf("InvalidCharacterError: invalid character")))
			}
			b = append(b, byte(r))
		}
		return base64.StdEncoding.EncodeToString(b)
	})
	setup, err := rt.RunString(`
(function(g, enc, dec) {
  class TextEncoder {
    get encoding() { return 'utf-8'; }
    encode(s = '') { return new Uint8Array(enc(String(s))); }
  }
  class TextDecoder {
    constructor(label = 'utf-8') {
      if (!/^utf-?8$/i.test(label)) throw new RangeError('The "' + label + '" encoding is not supported');
      this.encoding = 'utf-8';
    }
    decode(b) {
      if (b === undefined) return '';
      const u8 = b instanceof Uint8Array ? b : ArrayBuffer.isView(b) ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : new Uint8Array(b);
      return dec(Array.from(u8));
    }
  }
  g.TextEncoder = TextEncoder;
  g.TextDecoder = TextDecoder;
  g.process = Object.freeze({
    argv: Object.freeze(['node']), env: Object.freeze({}), platform: 'wasmbox', arch: 'wasm',
    version: 'v20.0.0', versions: Object.freeze({}), pid: 1, exitCode: undefined,
    cwd() { return '/'; },
    hrtime: Object.assign(function hrtime() { const t = Date.now(); return [Math.floor(t / 1000), (t % 1000) * 1e6]; }, { bigint() { return BigInt(Date.now()) * 1000000n; } }),
    nextTick(fn, ...args) { queueMicrotask(() => fn(...args)); },
    exit(code) { throw new Error('process.exit(' + (code === undefined ? 0 : code) + ') is not available in wasmbox; return from your code instead'); },
  });
  g.global = g;
})`)
	if err != nil {
		panic(err) // the source above is constant
	}
	fn, _ := goja.AssertFunction(setup)
	enc := func(s string) []any {
		out := make([]any, len(s))
		for i := 0; i < len(s); i++ {
			out[i] = int(s[i])
		}
		return out
	}
	dec := func(b []byte) string { return strings.ToValidUTF8(string(b), "\uFFFD") }
	if _, err := fn(goja.Undefined(), rt.GlobalObject(), rt.ToValue(enc), rt.ToValue(dec)); err != nil {
		panic(err)
	}
}

func dropSpace(r rune) rune {
	switch r {
	case ' ', '\t', '\n', '\f', '\r':
		return -1
	}
	return r
}

func (v *vm) write(stream int, text string) {
	if v.stdout == nil {
		return
	}
	if n := v.written.Add(int64(len(text))); n > v.floodLimit && v.stop != nil {
		v.stop(errFlood)
	}
	if stream == 2 {
		v.stderr.Write([]byte(text))
	} else {
		v.stdout.Write([]byte(text))
	}
}

// freeMemory returns a discarded runtime's heap to the OS promptly.
func freeMemory() {
	goruntime.GC()
	debug.FreeOSMemory()
}

// heapBytes reads the live heap from the Go runtime.
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindUint64 {
		return s[0].Value.Uint64()
	}
	return 0
}

// exec runs one cell and the event loop until it is idle, the time is up, or a limit trips.
func (v *vm) exec(ctx context.Context, name, code string, limits runtime.Limits, script bool) outcome {
	var out outcome
	v.stdout = capture.NewCappedBuffer(limits.MaxOutput)
	v.stderr = capture.NewCappedBuffer(limits.MaxOutput)
	v.written.Store(0)
	v.floodLimit = capture.FloodLimit(limits.MaxOutput)
	v.rejected = nil
	defer func() { v.stdout, v.stderr, v.stop = nil, nil, nil }()

	var causeMu sync.Mutex
	var cause error
	finished := false
	v.stop = func(err error) {
		causeMu.Lock()
		defer causeMu.Unlock()
		if finished || cause != nil {
			return
		}
		cause = err
		v.rt.Interrupt(err)
	}
	getCause := func() error { causeMu.Lock(); defer causeMu.Unlock(); return cause }
	runCtx, cancel := context.WithTimeout(ctx, limits.Timeout)
	defer cancel()
	done := make(chan struct{})
	var guards sync.WaitGroup
	guards.Add(1)
	go func() {
		defer guards.Done()
		guard(runCtx, done, limits, v.stop)
	}()
	v.rt.ClearInterrupt()

	value, err := v.runCell(name, code)
	if err == nil {
		err = v.loop(runCtx)
	}
	// From here on nothing may interrupt the runtime: the next run must start clean.
	causeMu.Lock()
	finished = true
	causeMu.Unlock()
	close(done)
	guards.Wait()
	v.rt.ClearInterrupt()
	if err == nil && value != nil {
		// A promise as the cell's value is shown settled, as if awaited: the loop has run.
		if p, ok := value.Export().(*goja.Promise); ok {
			value = nil
			switch p.State() {
			case goja.PromiseStateFulfilled:
				value = p.Result()
			case goja.PromiseStateRejected:
				if v.asyncCell {
					// A throw at the top level of an await cell: report it as uncaught, once.
					v.forget(p)
					err = &goja.Exception{}
					v.reportThrown(p.Result())
				}
			}
		}
	}
	if err == nil && value != nil && !goja.IsUndefined(value) && !script {
		if s, ierr := v.inspect(goja.Undefined(), value); ierr == nil {
			v.stdout.Write([]byte(s.String() + "\n"))
		}
	}
	if err == nil && len(v.rejected) > 0 {
		for _, p := range v.rejected {
			v.stderr.Write([]byte("Uncaught (in promise) "))
			v.reportThrown(p.Result())
		}
		v.rejected = nil
		err = errUnhandled
	}

	switch c := getCause(); {
	case err == nil:
	case errors.Is(c, errTimeout) || (c == nil && runCtx.Err() != nil && ctx.Err() == nil):
		out.Error = &runtime.Error{Kind: runtime.ErrTimeout, Message: fmt.Sprintf("execution stopped after the %s time limit; pending timers were cleared, variables are kept", limits.Timeout)}
		out.ExitCode = -1
	case errors.Is(c, errMemory):
		out.Error = &runtime.Error{Kind: runtime.ErrMemory, Message: fmt.Sprintf("execution stopped: it allocated more than the %d MiB memory limit; JavaScript state was reset", limits.Memory>>20)}
		out.ExitCode = -1
		out.discard = true
	case errors.Is(c, errFlood):
		out.Error = &runtime.Error{Kind: runtime.ErrOutputLimit, Message: fmt.Sprintf("execution stopped after writing more than %d bytes of output", v.floodLimit)}
		out.ExitCode = -1
	case errors.Is(c, errClosed) || ctx.Err() != nil:
		out.Error = &runtime.Error{Kind: runtime.ErrInternal, Message: "interrupted"}
		out.ExitCode = -1
	default:
		out.Error = v.describe(err)
		out.ExitCode = 1
	}
	if out.Error != nil {
		v.timers = nil
	}
	out.Stdout, out.Stderr = v.stdout.String(), v.stderr.String()
	out.Truncated = v.stdout.Dropped() > 0 || v.stderr.Dropped() > 0
	return out
}

var errUnhandled = errors.New("unhandled promise rejection")

// forget drops p from the unhandled rejections.
func (v *vm) forget(p *goja.Promise) {
	for i, q := range v.rejected {
		if q == p {
			v.rejected = append(v.rejected[:i], v.rejected[i+1:]...)
			return
		}
	}
}

// guard interrupts the run at its deadline or when the heap grows past the memory limit.
func guard(ctx context.Context, done <-chan struct{}, limits runtime.Limits, stop func(error)) {
	base := heapBytes()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			stop(errTimeout)
			return
		case <-tick.C:
			if h := heapBytes(); h > base && h-base > uint64(limits.Memory) {
				stop(errMemory)
				return
			}
		}
	}
}

// runCell compiles and runs one cell; a cell with top-level await runs as an async function.
func (v *vm) runCell(name, code string) (goja.Value, error) {
	v.asyncCell = false
	if needsAsync(name, code) {
		rewritten, err := rewriteTopLevelAwait(name, code)
		if err != nil {
			return nil, err
		}
		code = rewritten
		v.asyncCell = true
	}
	prg, err := goja.Compile(name, code, false)
	if err != nil {
		return nil, err
	}
	return v.rt.RunProgram(prg)
}

// loop runs due timers until none is left; microtasks run after each callback.
func (v *vm) loop(ctx context.Context) error {
	for len(v.timers) > 0 {
		t := v.timers[0]
		if wait := time.Until(t.due); wait > 0 {
			tm := time.NewTimer(wait)
			select {
			case <-tm.C:
			case <-ctx.Done():
				tm.Stop()
				v.stop(errTimeout)
				return ctx.Err()
			}
		}
		heap.Pop(&v.timers)
		if t.interval > 0 {
			t.due = time.Now().Add(t.interval)
			v.seq++
			t.seq = v.seq
			heap.Push(&v.timers, t)
		}
		if _, err := t.fn(goja.Undefined(), t.args...); err != nil {
			return err
		}
	}
	return nil
}

// reportThrown writes an uncaught value the way node shows it.
func (v *vm) reportThrown(val goja.Value) {
	if val == nil {
		return
	}
	if obj, ok := val.(*goja.Object); ok {
		if st := obj.Get("stack"); st != nil && !goja.IsUndefined(st) && st.String() != "" {
			v.stderr.Write([]byte(nodeStack(st.String()) + "\n"))
			return
		}
	}
	s, err := v.inspect(goja.Undefined(), val)
	if err == nil {
		v.stderr.Write([]byte("Uncaught " + s.String() + "\n"))
	}
}

var framePC = regexp.MustCompile(`:(\d+):(\d+)\(\d+\)`)

// nodeStack rewrites a goja stack trace in node's layout: four-space frames, line:column
// without goja's bytecode offset, no trailing newline.
func nodeStack(s string) string {
	s = strings.ReplaceAll(s, "\n\t", "\n    ")
	s = framePC.ReplaceAllString(s, ":$1:$2")
	return strings.TrimRight(s, "\n")
}

// describe turns a JS failure into stderr text and a Result error.
func (v *vm) describe(err error) *runtime.Error {
	var exc *goja.Exception
	var syn *goja.CompilerSyntaxError
	var so *goja.StackOverflowError
	switch {
	case errors.As(err, &so):
		v.stderr.Write([]byte("RangeError: Maximum call stack size exceeded\n"))
		return &runtime.Error{Kind: runtime.ErrException, Type: "RangeError", Message: "RangeError: Maximum call stack size exceeded (more than " + fmt.Sprint(maxCallStack) + " nested calls)"}
	case errors.Is(err, errUnhandled):
		return &runtime.Error{Kind: runtime.ErrException, Type: "UnhandledPromiseRejection", Message: "a promise was rejected and nothing handled it"}
	case errors.As(err, &syn):
		v.stderr.Write([]byte(syn.Error() + "\n"))
		return &runtime.Error{Kind: runtime.ErrException, Type: "SyntaxError", Message: syn.Error()}
	case errors.As(err, &exc):
		val := exc.Value()
		if val == nil { // a rejected async cell, already reported
			return &runtime.Error{Kind: runtime.ErrException, Message: "the cell's promise was rejected"}
		}
		v.reportThrown(val)
		typ, msg := "", val.String()
		if obj, ok := val.(*goja.Object); ok {
			if n := obj.Get("name"); n != nil && !goja.IsUndefined(n) {
				typ = n.String()
			}
			if m := obj.Get("message"); m != nil && !goja.IsUndefined(m) {
				msg = m.String()
			}
		}
		if typ != "" {
			msg = typ + ": " + msg
		}
		return &runtime.Error{Kind: runtime.ErrException, Type: typ, Message: msg}
	}
	v.stderr.Write([]byte(err.Error() + "\n"))
	return &runtime.Error{Kind: runtime.ErrException, Message: err.Error()}
}

// timer is a pending setTimeout/setInterval callback.
type timer struct {
	id, seq  int64
	fn       goja.Callable
	args     []goja.Value
	due      time.Time
	interval time.Duration
}

// timerQueue orders timers by due time, then by creation, as node runs them.
type timerQueue []*timer

func (q timerQueue) Len() int { return len(q) }
func (q timerQueue) Less(i, j int) bool {
	if !q[i].due.Equal(q[j].due) {
		return q[i].due.Before(q[j].due)
	}
	return q[i].seq < q[j].seq
}
func (q timerQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *timerQueue) Push(x any)   { *q = append(*q, x.(*timer)) }
func (q *timerQueue) Pop() any {
	old := *q
	t := old[len(old)-1]
	*q = old[:len(old)-1]
	return t
}

func (q *timerQueue) remove(id int64) {
	for i, t := range *q {
		if t.id == id {
			heap.Remove(q, i)
			return
		}
	}
}
