package wasm

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
)

// TestReleaseBodies: the function bodies wazero keeps after compiling are dropped, and the
// module still instantiates and runs. It fails when go.mod pins another wazero, until someone
// checks that the new release still never reads bodies after CompileModule (validation and the
// compiler are the only readers in v1.12.0) and moves bodiesRelease.
func TestReleaseBodies(t *testing.T) {
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	if want := "github.com/tetratelabs/wazero " + bodiesRelease + "\n"; !strings.Contains(string(mod), want) {
		t.Fatalf("go.mod does not pin %q: check that the new release reads function bodies only while compiling, then update bodiesRelease", strings.TrimSpace(want))
	}
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	// (module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))
	bin := []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
		0x01, 0x07, 0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f,
		0x03, 0x02, 0x01, 0x00,
		0x07, 0x07, 0x01, 0x03, 'a', 'd', 'd', 0x00, 0x00,
		0x0a, 0x09, 0x01, 0x07, 0x00, 0x20, 0x00, 0x20, 0x01, 0x6a, 0x0b}
	compiled, err := rt.CompileModule(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	if freed := releaseBodies(compiled); freed != 6 {
		t.Errorf("released %d bytes of bodies, want the 6 of add's instructions", freed)
	}
	if freed := releaseBodies(compiled); freed != 0 {
		t.Errorf("a second release found %d bytes, want 0: the first did not drop them", freed)
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
