package wasm

import (
	"reflect"
	"sync"
	"unsafe"

	"github.com/tetratelabs/wazero"
)

// Three things a host needs from wazero that it has no API for, reached through its
// unexported fields, checked by name and type (finding anything else, each does nothing):
//
//   - releaseBodies: wazero keeps a copy of every function's body on the Go heap for as long as
//     a compiled module lives (30 MB for python.wasm with numpy, pandas and matplotlib, in every
//     worker). They are read only to validate and compile the module, both done by the time
//     CompileModule returns; a later instance's machine code comes from the compiled module.
//   - executableOf: where the module's machine code is mapped, exactly, so that it can be shared
//     between processes (see shareCode). /proc/self/maps cannot say: the kernel merges the
//     mapping with neighbouring code (wazero's entry preambles, other modules') into one area.
//   - fileCacheOf: the file cache behind a compilation cache, which codeCache wraps so that
//     machine code is mapped from its shared file as it loads (see codecache.go).
//
// What each relies on (nothing reads a body after CompileModule; the executable is one mapping
// of its own, never written after it is made read-and-execute; the file cache is read only
// through its Get, Add and Delete, by the engine the first runtime of the cache makes; an
// entry's layout, see codeIn) was checked in wazero's code of
// the release go.mod pins ([wazeroRelease]); TestWazeroFields fails when go.mod pins another,
// so that an upgrade checks it again.

// wazeroRelease is the wazero release whose code was read for this file: go.mod must pin it.
const wazeroRelease = "v1.12.0"

// moduleOf returns the *wasm.Module of compiled (a *wazero.compiledModule{module, ...}), or an
// invalid Value.
func moduleOf(compiled wazero.CompiledModule) reflect.Value {
	v := reflect.ValueOf(compiled)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return reflect.Value{}
	}
	mod := field(v.Elem(), "module")
	if !mod.IsValid() || mod.Kind() != reflect.Pointer || mod.IsNil() || mod.Elem().Kind() != reflect.Struct {
		return reflect.Value{}
	}
	return mod
}

// releaseBodies drops the function bodies wazero keeps for compiled and returns how many bytes
// they held (0 when wazero's types are not the ones it knows).
func releaseBodies(compiled wazero.CompiledModule) int64 {
	mod := moduleOf(compiled)
	if !mod.IsValid() {
		return 0
	}
	// The module's CodeSection is a []wasm.Code, each with Body []byte.
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

// executableOf returns the machine code of compiled as wazero mapped it: the start of its own
// mapping and the code's length (the mapping is that, rounded up to whole pages). ok is false
// when wazero's types are not the ones it knows or the module has no code.
func executableOf(compiled wazero.CompiledModule) (start uintptr, n int, ok bool) {
	mod := moduleOf(compiled)
	if !mod.IsValid() {
		return 0, 0, false
	}
	id := mod.Elem().FieldByName("ID")
	// compiled.compiledEngine is the wasm.Engine (wazevo's *engine) that compiled it; its
	// compiledModules map[wasm.ModuleID]*compiledModuleWithCount holds the executable:
	// compiledModuleWithCount embeds *compiledModule, which embeds *executables{executable []byte}.
	eng := field(reflect.ValueOf(compiled).Elem(), "compiledEngine")
	if !id.IsValid() || !eng.IsValid() || eng.Kind() != reflect.Interface || eng.IsNil() {
		return 0, 0, false
	}
	e := eng.Elem()
	if e.Kind() != reflect.Pointer || e.IsNil() || e.Elem().Kind() != reflect.Struct {
		return 0, 0, false
	}
	mux, modules := field(e.Elem(), "mux"), field(e.Elem(), "compiledModules")
	if !mux.IsValid() || mux.Type() != reflect.TypeFor[sync.RWMutex]() || !modules.IsValid() ||
		modules.Kind() != reflect.Map || modules.Type().Key() != id.Type() {
		return 0, 0, false
	}
	lock := mux.Addr().Interface().(*sync.RWMutex)
	lock.RLock()
	defer lock.RUnlock()
	cm := modules.MapIndex(id)
	if !cm.IsValid() || cm.Kind() != reflect.Pointer || cm.IsNil() {
		return 0, 0, false
	}
	exe, ok := promoted(cm.Elem(), "executable")
	if !ok || exe.Type() != reflect.TypeFor[[]byte]() || exe.Len() == 0 {
		return 0, 0, false
	}
	return exe.Pointer(), exe.Len(), true
}

// promoted finds the field name of s, or of the structs s embeds through pointers, as the
// compiler would; it does not follow a nil pointer.
func promoted(s reflect.Value, name string) (reflect.Value, bool) {
	sf, ok := s.Type().FieldByName(name)
	if !ok {
		return reflect.Value{}, false
	}
	v := s
	for i, x := range sf.Index {
		if i > 0 {
			if v.Kind() == reflect.Pointer {
				if v.IsNil() {
					return reflect.Value{}, false
				}
				v = v.Elem()
			}
		}
		v = v.Field(x)
	}
	if !v.CanAddr() {
		return reflect.Value{}, false
	}
	return reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem(), true
}

// field returns s's field name, readable and settable even when unexported (s must be
// addressable).
func field(s reflect.Value, name string) reflect.Value {
	f := s.FieldByName(name)
	if !f.IsValid() || !f.CanAddr() {
		return reflect.Value{}
	}
	return reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
}

// fileCacheOf returns the file cache field of cache (a *wazero.cache{..., fileCache
// filecache.Cache, ...}), settable, or an invalid Value.
func fileCacheOf(cache wazero.CompilationCache) reflect.Value {
	v := reflect.ValueOf(cache)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return reflect.Value{}
	}
	f := field(v.Elem(), "fileCache")
	if !f.IsValid() || f.Kind() != reflect.Interface {
		return reflect.Value{}
	}
	return f
}

// setFileCache puts c in the file cache field f (from fileCacheOf), if c has its methods.
func setFileCache(f reflect.Value, c *codeCache) bool {
	v := reflect.ValueOf(c)
	if !v.Type().Implements(f.Type()) {
		return false
	}
	f.Set(v)
	return true
}
