package wasm

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
)

// addWasm is (module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1
// i32.add)).
var addWasm = []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
	0x01, 0x07, 0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f,
	0x03, 0x02, 0x01, 0x00,
	0x07, 0x07, 0x01, 0x03, 'a', 'd', 'd', 0x00, 0x00,
	0x0a, 0x09, 0x01, 0x07, 0x00, 0x20, 0x00, 0x20, 0x01, 0x6a, 0x0b}

// TestWazeroFields: what wasm reads from wazero's unexported fields is there. The function
// bodies wazero keeps after compiling are dropped, and the module still instantiates and runs;
// the executable is found, one anonymous read-and-execute mapping of its own. It fails when
// go.mod pins another wazero, until someone checks that the new release still never reads
// bodies after CompileModule (validation and the compiler are the only readers in v1.12.0) and
// never writes or remaps its executable, and moves wazeroRelease.
func TestWazeroFields(t *testing.T) {
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	if want := "github.com/tetratelabs/wazero " + wazeroRelease + "\n"; !strings.Contains(string(mod), want) {
		t.Fatalf("go.mod does not pin %q: check that the new release reads function bodies only while compiling, then update wazeroRelease", strings.TrimSpace(want))
	}
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler())
	defer rt.Close(ctx)
	compiled, err := rt.CompileModule(ctx, addWasm)
	if err != nil {
		t.Fatal(err)
	}
	if freed := releaseBodies(compiled); freed != 6 {
		t.Errorf("released %d bytes of bodies, want the 6 of add's instructions", freed)
	}
	if freed := releaseBodies(compiled); freed != 0 {
		t.Errorf("a second release found %d bytes, want 0: the first did not drop them", freed)
	}
	start, n, ok := executableOf(compiled)
	if !ok || start == 0 || n == 0 || start%uintptr(os.Getpagesize()) != 0 {
		t.Fatalf("executableOf: %#x, %d, %v; want a page-aligned executable", start, n, ok)
	}
	ps := uintptr(os.Getpagesize())
	if ok, err := anonymousMapping(codeRegion{start, start + (uintptr(n)+ps-1)&^(ps-1)}, "r-xp"); err != nil || !ok {
		t.Errorf("the executable is not inside an anonymous read-and-execute mapping: %v, %v", ok, err)
	}
	for i := range 2 { // two instances: the second must not need the bodies either
		mod, err := rt.InstantiateModule(ctx, compiled, wazero.NewModuleConfig().WithName(""))
		if err != nil {
			t.Fatal(err)
		}
		res, err := mod.ExportedFunction("add").Call(ctx, 40, 2)
		if err != nil || res[0] != 42 {
			t.Fatalf("instance %d: add(40, 2) = %v, %v; want 42", i, res, err)
		}
		mod.Close(ctx)
	}
}
