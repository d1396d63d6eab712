package wasm

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
)

// loadThroughCodeCache loads addWasm from the compilation cache in dir through a codeCache
// mapping from code, checks that it runs, and returns the file its code was mapped from ("" if
// it was read) with the process's mapping of it.
func loadThroughCodeCache(t *testing.T, dir, code string) (string, string) {
	t.Helper()
	ctx := context.Background()
	cache, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer cache.Close(ctx)
	c := mapCodeFrom(cache, code)
	if c == nil {
		t.Fatal("mapCodeFrom: wazero's compilation cache is not what this build knows")
	}
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler().WithCompilationCache(cache))
	defer rt.Close(ctx)
	compiled, err := c.compile(ctx, rt, addWasm)
	if err != nil {
		t.Fatal(err)
	}
	mod, err := rt.InstantiateModule(ctx, compiled, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		t.Fatal(err)
	}
	if res, err := mod.ExportedFunction("add").Call(ctx, 40, 2); err != nil || res[0] != 42 {
		t.Fatalf("add(40, 2) = %v, %v; want 42", res, err)
	}
	start, _, _ := executableOf(compiled)
	return c.mappedFrom(compiled), mapsLine(t, start)
}

// mapsOf returns the address ranges at which the process maps file.
func mapsOf(file string) []string {
	maps, _ := os.ReadFile("/proc/self/maps")
	var out []string
	for _, line := range strings.Split(string(maps), "\n") {
		if f := strings.Fields(line); len(f) >= 6 && f[5] == file {
			out = append(out, f[0])
		}
	}
	return out
}

// TestCodeCache: machine code loaded from the compilation cache is mapped from its shared code
// file, read and execute only, when the file holds exactly the entry's code; a file that is
// missing, of another length, or of other bytes under the same name is not used, and the code
// is read from the entry as wazero would (and runs either way).
func TestCodeCache(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	code := filepath.Join(dir, codeDir)
	// What the server does first: compile into the cache and publish the code.
	cache, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler().WithCompilationCache(cache))
	compiled, err := rt.CompileModule(ctx, addWasm)
	if err != nil {
		t.Fatal(err)
	}
	name, err := publishCode(compiled, code)
	if err != nil {
		t.Fatal(err)
	}
	rt.Close(ctx)
	cache.Close(ctx)
	file := filepath.Join(code, name)
	good, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}

	mapped, line := loadThroughCodeCache(t, dir, code)
	if mapped != name || !strings.Contains(line, " r-xp ") || !strings.HasSuffix(line, file) {
		t.Fatalf("loaded with the code file there: mapped from %q (%q), want %s read and execute", mapped, line, name)
	}

	put := func(b []byte) {
		t.Helper()
		os.Remove(file)
		if b != nil {
			if err := os.WriteFile(file, b, 0o400); err != nil {
				t.Fatal(err)
			}
		}
	}
	other := append([]byte(nil), good...)
	other[0] ^= 0xff // in the code: wazero's CRC fails, and the code is read again
	tail := append([]byte(nil), good...)
	tail[len(tail)-1] = 1 // after the code, where its pages hold zeros
	for _, c := range []struct {
		name string
		file []byte
	}{
		{"missing", nil},
		{"shorter", good[:len(good)-1]},
		{"other bytes", other},
		{"no zeros after the code", tail},
	} {
		put(c.file)
		before := mapsOf(file)
		mapped, line := loadThroughCodeCache(t, dir, code)
		if mapped != "" || strings.Contains(line, code) {
			t.Errorf("%s: code mapped from %q (%q), want it read from the entry", c.name, mapped, line)
		}
		// Nothing new stays mapped from the file (a load that failed is unmapped; the first
		// load's code stays mapped until wazero's finalizer unmaps it).
		for _, m := range mapsOf(file) {
			if !slices.Contains(before, m) {
				t.Errorf("%s: the process maps %s at %s", c.name, file, m)
			}
		}
	}
	put(good)
	if mapped, _ := loadThroughCodeCache(t, dir, code); mapped != name {
		t.Errorf("the file put back: mapped from %q, want %s", mapped, name)
	}
}

// TestCodeIn: the machine code's place in an entry, from wazero's layout; anything else is
// read, not mapped.
func TestCodeIn(t *testing.T) {
	dir := t.TempDir()
	write := func(b []byte) *os.File {
		t.Helper()
		p := filepath.Join(dir, "entry")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	le := func(v uint64, n int) []byte {
		b := make([]byte, n)
		for i := range n {
			b[i] = byte(v >> (8 * i))
		}
		return b
	}
	entry := func(version string, funcs int, code []byte, tail int) []byte {
		b := append([]byte("WAZEVO"), byte(len(version)))
		b = append(b, version...)
		b = append(b, le(uint64(funcs), 4)...)
		for i := range funcs {
			b = append(b, le(uint64(i*16), 8)...)
		}
		b = append(b, le(uint64(len(code)), 8)...)
		b = append(b, code...)
		return append(b, make([]byte, tail)...)
	}
	code := []byte("0123456789abcdef0123456789abcdef")
	at := int64(6 + 1 + len("v1.12.0") + 4 + 3*8 + 8)
	for _, c := range []struct {
		name    string
		b       []byte
		at, len int64
	}{
		{"wazero's layout", entry("v1.12.0", 3, code, 5), at, int64(len(code))},
		{"no room for the CRC", entry("v1.12.0", 3, code, 3), 0, 0},
		{"no code", entry("v1.12.0", 3, nil, 5), 0, 0},
		{"another magic", append([]byte("WAZERO"), entry("v1.12.0", 3, code, 5)[6:]...), 0, 0},
		{"cut short", entry("v1.12.0", 3, code, 5)[:20], 0, 0},
		{"empty", nil, 0, 0},
	} {
		if at, n := codeIn(write(c.b)); at != c.at || n != c.len {
			t.Errorf("%s: code at %d, %d bytes; want %d, %d", c.name, at, n, c.at, c.len)
		}
	}
}
