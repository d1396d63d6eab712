package wasm

import (
	"reflect"
	"unsafe"

	"github.com/tetratelabs/wazero"
)

// wazero keeps a copy of every function's body on the Go heap for as long as a compiled module
// lives: 30 MB for python.wasm with numpy, pandas and matplotlib, in every worker. The bodies
// are read only to validate and compile the module, both done by the time CompileModule returns
// (machine code of a later instance comes from the compiled module, never from the bodies
// again), so a host drops them. wazero has no API for it: releaseBodies reaches the bodies
// through the compiled module's fields, which it checks by name and type (finding anything else
// it does nothing). That nothing reads the bodies later was checked in wazero's code of the
// release go.mod pins ([bodiesRelease]); TestReleaseBodies fails when go.mod pins another, so
// that an upgrade checks it again.

// bodiesRelease is the wazero release whose code was read for releaseBodies: go.mod must pin
// it (TestReleaseBodies checks).
const bodiesRelease = "v1.12.0"

// releaseBodies drops the function bodies wazero keeps for compiled and returns how many bytes
// they held (0 when wazero's types are not the ones it knows).
func releaseBodies(compiled wazero.CompiledModule) int64 {
	// compiled is a *wazero.compiledModule{module *wasm.Module, ...}; the module's CodeSection is
	// a []wasm.Code, each with Body []byte.
	v := reflect.ValueOf(compiled)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return 0
	}
	mod := field(v.Elem(), "module")
	if !mod.IsValid() || mod.Kind() != reflect.Pointer || mod.IsNil() || mod.Elem().Kind() != reflect.Struct {
		return 0
	}
	code := field(mod.Elem(), "CodeSection")
	if !code.IsValid() || code.Kind() != reflect.Slice || code.Type().Elem().Kind() != reflect.Struct {
		return 0
	}
	var freed int64
	for i := range code.Len() {
		body := code.Index(i).FieldByName("Body")
		if !body.IsValid() || body.Type() != reflect.TypeFor[[]byte]() || !body.CanSet() {
			return freed
		}
		freed += int64(body.Len())
		body.SetZero()
	}
	return freed
}

// field returns s's field name, settable even when unexported (s must be addressable).
func field(s reflect.Value, name string) reflect.Value {
	f := s.FieldByName(name)
	if !f.IsValid() || !f.CanAddr() {
		return reflect.Value{}
	}
	return reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
}
