package wasm

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// buildCxxTest compiles testdata/cxxeh.cpp as the packages' C++ is compiled, with the guest's
// half of the runtime, into a reactor, and returns the module's bytes.
func buildCxxTest(t testing.TB) []byte {
	t.Helper()
	dir := t.TempDir()
	// A private sysroot of Debian's wasm32-wasi libc and libc++, as core.sh makes.
	sysroot := filepath.Join(dir, "sysroot")
	for _, l := range [][2]string{{"/usr/include/wasm32-wasi", "include/wasm32-wasi"}, {"/usr/lib/wasm32-wasi", "lib/wasm32-wasi"}} {
		os.MkdirAll(filepath.Dir(filepath.Join(sysroot, l[1])), 0o755)
		if err := os.Symlink(l[0], filepath.Join(sysroot, l[1])); err != nil {
			t.Fatal(err)
		}
	}
	cxx := []string{"--target=wasm32-wasi", "--sysroot=" + sysroot, "-isystem", sysroot + "/include/wasm32-wasi/c++/v1", "-O2"}
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("clang++-16", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("clang++-16 %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	test, rt := filepath.Join(dir, "test.o"), filepath.Join(dir, "rt.o")
	run(append(cxx, "-fexceptions", "-mllvm", "-enable-emscripten-cxx-exceptions", "-mllvm", "-enable-emscripten-sjlj",
		"-isystem", "cpython/cxx/sjlj", "-c", "testdata/cxxeh.cpp", "-o", test)...)
	run(append(cxx, "-fno-exceptions", "-Wall", "-Wextra", "-Werror", "-c", "cpython/reactor/cxxeh.cpp", "-o", rt)...)
	// The invoke functions the objects need are imports (build.sh does the same).
	nm, err := exec.Command("llvm-nm-16", "-u", test, rt).Output()
	if err != nil {
		t.Fatalf("llvm-nm-16: %v", err)
	}
	invokes := regexp.MustCompile(`(?m)\binvoke_[a-z]+$`).FindAllString(string(nm), -1)
	sort.Strings(invokes)
	undefined := filepath.Join(dir, "undefined.txt")
	os.WriteFile(undefined, []byte(strings.Join(invokes, "\n")+"\n"), 0o644)
	wasm := filepath.Join(dir, "test.wasm")
	run(append(cxx, "-mexec-model=reactor", "-o", wasm, test, rt, "-Wl,--allow-undefined-file="+undefined,
		"-Wl,--export="+stackPtrExport, "-Wl,--strip-debug", "-lc++", "-lc++abi")...) // stripped as python.wasm is
	b, err := os.ReadFile(wasm)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// cxxTestModule instantiates the test module as New does python.wasm, and returns it with the
// context its calls need (an Instance carries the nested calls' cache).
func cxxTestModule(t testing.TB, bin []byte) (context.Context, api.Module) {
	t.Helper()
	cctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ctx := context.WithValue(cctx, instanceKey{}, &Instance{})
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(true))
	t.Cleanup(func() { rt.Close(context.Background()) })
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	if err := instantiateServices(ctx, rt); err != nil {
		t.Fatal(err)
	}
	compiled, err := rt.CompileModule(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := instantiateCxx(ctx, rt, compiled); err != nil {
		t.Fatal(err)
	}
	mod, err := rt.InstantiateModule(ctx, compiled, wazero.NewModuleConfig().WithStartFunctions("_initialize"))
	if err != nil {
		t.Fatal(err)
	}
	return ctx, mod
}

func TestCxxExceptions(t *testing.T) {
	ctx, mod := cxxTestModule(t, buildCxxTest(t))
	call := func(name string, args ...uint64) (int32, error) {
		res, err := mod.ExportedFunction(name).Call(ctx, args...)
		if err != nil || len(res) == 0 {
			return 0, err
		}
		return int32(uint32(res[0])), nil
	}
	cases := []struct {
		name string
		args []uint64
		want int32
	}{
		{"by_type", []uint64{2}, 20},   // nothing thrown
		{"by_type", []uint64{5}, -1},   // caught as std::exception, message intact
		{"second_base", nil, 4222},     // adjusted to the second base, by reference and by pointer; int not caught as long
		{"cleanups", []uint64{0}, 1},   // the frame's object (the exception object after the handler)
		{"cleanups", []uint64{50}, 51}, // fifty frames more, each destroyed once
		{"rethrow", nil, 1},            // the same object caught again, destroyed once
		{"exception_ptr", nil, 2},      // rethrown twice from a std::exception_ptr
		{"nested", nil, 1},             // a throw inside a handler, caught there
		{"uncaught", nil, 1},           // std::uncaught_exceptions in a destructor while unwinding
		{"guarded_calls", []uint64{1000}, 500500},
		{"throws", []uint64{1000}, 1000},
		{"sjlj_basic", []uint64{0}, 42},
		{"sjlj_basic", []uint64{30}, 42}, // thirty frames down
		{"sjlj_zero", nil, 1},
		{"sjlj_through", nil, 7}, // past a function with its own setjmp
		{"sjlj_loop", []uint64{100}, 100},
		{"bad_alloc", nil, 1}, // new throws std::bad_alloc; new (std::nothrow) returns null
	}
	for _, tc := range cases {
		got, err := call(tc.name, tc.args...)
		if err != nil || got != tc.want {
			t.Errorf("%s%v = %d, %v; want %d", tc.name, tc.args, got, err, tc.want)
		}
	}
	if live, _ := call("live"); live != 0 {
		t.Errorf("%d objects still alive after every handler ended", live)
	}

	// An exception nothing catches ends the call with errCxxThrow; a trap inside a guarded call
	// is a trap, not an exception a catch (...) could take.
	if _, err := call("escape"); !errors.Is(err, errCxxThrow) {
		t.Errorf("escape: %v, want %v", err, errCxxThrow)
	}
	// A recursion through guarded calls past the bound traps (instead of growing the worker's Go
	// stack until Go ends the process), and the instance still serves calls after it.
	if got, err := call("cleanups", maxInvokeDepth+10); !errors.Is(err, errInvokeDepth) {
		t.Errorf("cleanups(%d) = %d, %v; want %v", maxInvokeDepth+10, got, err, errInvokeDepth)
	}
	if got, err := call("cleanups", maxInvokeDepth-10); err != nil || got != maxInvokeDepth-9 {
		t.Errorf("cleanups(%d) = %d, %v after the depth trap; want %d", maxInvokeDepth-10, got, err, maxInvokeDepth-9)
	}
	if got, err := call("trap"); err == nil || errors.Is(err, errCxxThrow) || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("trap = %d, %v; want the unreachable trap", got, err)
	}
}

// An invoke's 32-bit result reaches the caller zero-extended, whatever the upper half of the
// slot it is returned in held (the guest stores only the lower half; a caller using the result
// as an address faulted on a garbage upper half).
func TestCxxExceptions_invokeResult(t *testing.T) {
	ctx, mod := cxxTestModule(t, buildCxxTest(t))
	index, err := mod.ExportedFunction("next_cell_index").Call(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cells, err := mod.ExportedFunction("cells").Call(ctx)
	if err != nil {
		t.Fatal(err)
	}
	i32 := []api.ValueType{api.ValueTypeI32}
	stack := []uint64{index[0], 0xdeadbeef<<32 | cells[0]}
	invoker(i32, i32).Call(ctx, mod, stack)
	if want := cells[0] + 4; stack[0] != want {
		t.Errorf("invoke returned %#x, want %#x", stack[0], want)
	}
}

func BenchmarkCxxExceptions(b *testing.B) {
	ctx, mod := cxxTestModule(b, buildCxxTest(b))
	for _, name := range []string{"guarded_calls", "throws"} {
		fn := mod.ExportedFunction(name)
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := fn.Call(ctx, 1000); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/op-per-call")
		})
	}
}
