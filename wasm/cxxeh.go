package wasm

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental/table"
)

// C++ exceptions in the guest, the host's half (the guest's half is cpython/reactor/cxxeh.cpp).
//
// The packages' C++ code is compiled so that a call that may throw while a catch or a
// destructor is pending goes through an imported env.invoke_<signature>(function, args...).
// invoke calls the function through the guest's table in a nested call. A throw in the guest
// records the exception and calls wasmbox.cxx_throw, which panics with errCxxThrow: wazero
// unwinds the nested call's wasm frames and returns the panic as the nested call's error, so
// the innermost invoke sees it, restores the shadow stack pointer and tells the guest through
// wasmbox_cxx_threw; the guest's landing pad does the rest. wazero's own exception handling
// is not used: its compiler loses locals across a caught exception in v1.12.0 and copies the
// wasm stack on every entry into a try block, where this costs one host round trip per call.

// errCxxThrow is the panic of a guest's throw; the nested call it unwinds returns it (wrapped).
var errCxxThrow = errors.New("wasm: a C++ exception no handler caught")

// The exports of the guest's half (and the linker's) that the host uses.
const (
	cxxThrewExport = "wasmbox_cxx_threw"
	stackPtrExport = "__stack_pointer"
)

// maxInvokeDepth bounds guarded calls nested in one another. Each nesting costs a wasm stack and
// Go stack of the worker's, outside the guest's memory limit; a guest recursing through guarded
// calls without end would otherwise end the worker with Go's fatal stack overflow, where it now
// traps. C++ that recurses this deep through frames with pending destructors is not ordinary:
// pybind11 and contourpy nest a few.
const maxInvokeDepth = 1000

// maxFreeCalls bounds the handles kept per table index once a recursion has returned.
const maxFreeCalls = 4

// errInvokeDepth is the trap past maxInvokeDepth.
var errInvokeDepth = fmt.Errorf("wasm: C++ calls nested more than %d deep (guarded calls in a recursion)", maxInvokeDepth)

// cxxCalls is an instance's cache of nested-call handles, by table index: making one allocates
// a wasm stack. A handle serves one call at a time; a recursion through the same function takes
// a second one.
type cxxCalls struct {
	free  map[uint32][]api.Function
	depth int // guarded calls now running
	sp    api.MutableGlobal
	threw api.Function
}

// instantiateCxx instantiates the env module with an invoke function for each invoke_* that
// compiled imports; nothing when it imports none.
func instantiateCxx(ctx context.Context, rt wazero.Runtime, compiled wazero.CompiledModule) error {
	b := rt.NewHostModuleBuilder("env")
	n := 0
	for _, def := range compiled.ImportedFunctions() {
		mod, name, _ := def.Import()
		if mod != "env" {
			continue
		}
		if !strings.HasPrefix(name, "invoke_") || len(def.ParamTypes()) == 0 || def.ParamTypes()[0] != api.ValueTypeI32 {
			return fmt.Errorf("wasm: the guest imports env.%s, which the host does not provide", name)
		}
		params, results := def.ParamTypes(), def.ResultTypes()
		b.NewFunctionBuilder().WithGoModuleFunction(invoker(params[1:], results), params, results).Export(name)
		n++
	}
	if n == 0 {
		return nil
	}
	_, err := b.Instantiate(ctx)
	return err
}

// invoker returns the invoke_* function for one signature.
func invoker(params, results []api.ValueType) api.GoModuleFunction {
	return api.GoModuleFunc(func(ctx context.Context, m api.Module, stack []uint64) {
		index := uint32(stack[0])
		calls := cxxCallsOf(ctx)
		if calls.depth >= maxInvokeDepth {
			panic(errInvokeDepth)
		}
		calls.depth++
		defer func() { calls.depth-- }()
		fn := calls.take(m, index, params, results)
		sp := calls.stackPointer(m)
		saved := sp.Get()
		// The nested call's parameters and results share a slice, as the caller's do.
		args := stack[1:]
		if len(args) < len(results) {
			args = make([]uint64, len(results))
			copy(args, stack[1:])
		}
		err := fn.CallWithStack(ctx, args)
		calls.put(index, fn)
		if err == nil {
			// The guest stores a 32-bit result into its 64-bit slot and leaves the upper half as
			// it was (a parameter's, or old stack contents); the caller expects it zero-extended
			// and uses it as such (an address whose upper half is garbage faults).
			for i, t := range results {
				if t == api.ValueTypeI32 || t == api.ValueTypeF32 {
					stack[i] = uint64(uint32(args[i]))
				} else {
					stack[i] = args[i]
				}
			}
			return
		}
		if !errors.Is(err, errCxxThrow) {
			panic(err) // a trap or an exit: on to the caller's caller
		}
		sp.Set(saved)
		clear(stack[:len(results)])
		if _, err := calls.threwFunc(m).Call(ctx); err != nil {
			panic(err)
		}
	})
}

// cxxCallsOf returns the cache of the instance a call runs in; a fresh one for calls outside an
// Instance's (the module's start).
func cxxCallsOf(ctx context.Context) *cxxCalls {
	if in, _ := ctx.Value(instanceKey{}).(*Instance); in != nil {
		return &in.cxx
	}
	return &cxxCalls{}
}

func (c *cxxCalls) take(m api.Module, index uint32, params, results []api.ValueType) api.Function {
	if fns := c.free[index]; len(fns) > 0 {
		fn := fns[len(fns)-1]
		c.free[index] = fns[:len(fns)-1]
		return fn
	}
	// Panics as call_indirect traps: an index outside the table, a null entry, another type.
	return table.LookupFunction(m, 0, index, params, results)
}

func (c *cxxCalls) put(index uint32, fn api.Function) {
	if c.free == nil {
		c.free = map[uint32][]api.Function{}
	}
	if len(c.free[index]) < maxFreeCalls {
		c.free[index] = append(c.free[index], fn)
	}
}

func (c *cxxCalls) stackPointer(m api.Module) api.MutableGlobal {
	if c.sp == nil {
		sp, ok := m.ExportedGlobal(stackPtrExport).(api.MutableGlobal)
		if !ok {
			panic(fmt.Errorf("wasm: the guest imports invoke functions but does not export %s", stackPtrExport))
		}
		c.sp = sp
	}
	return c.sp
}

func (c *cxxCalls) threwFunc(m api.Module) api.Function {
	if c.threw == nil {
		c.threw = m.ExportedFunction(cxxThrewExport)
		if c.threw == nil {
			panic(fmt.Errorf("wasm: the guest imports invoke functions but does not export %s", cxxThrewExport))
		}
	}
	return c.threw
}
