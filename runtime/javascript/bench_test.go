package javascript

import (
	"context"
	"testing"

	"wasmbox/runtime"
)

// BenchmarkWarmRun runs a one-line cell in an existing interpreter.
func BenchmarkWarmRun(b *testing.B) {
	e, _ := New(runtime.JavaScript)
	ip, _ := e.New(context.Background(), b.TempDir())
	defer ip.Close()
	for b.Loop() {
		if res, _ := ip.Run(context.Background(), runtime.Request{Code: "1 + 1"}); res.Error != nil {
			b.Fatal(res.Error)
		}
	}
}

// BenchmarkNewSessionFirstRun makes an interpreter and runs its first cell.
func BenchmarkNewSessionFirstRun(b *testing.B) {
	e, _ := New(runtime.JavaScript)
	dir := b.TempDir()
	for b.Loop() {
		ip, _ := e.New(context.Background(), dir)
		if res, _ := ip.Run(context.Background(), runtime.Request{Code: "console.log('hi')"}); res.Error != nil {
			b.Fatal(res.Error)
		}
		ip.Close()
	}
}

// BenchmarkFib27 is recursive fib(27), compared in the README with `node -e`.
func BenchmarkFib27(b *testing.B) {
	e, _ := New(runtime.JavaScript)
	ip, _ := e.New(context.Background(), b.TempDir())
	defer ip.Close()
	ip.Run(context.Background(), runtime.Request{Code: "function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2) }"})
	for b.Loop() {
		res, _ := ip.Run(context.Background(), runtime.Request{Code: "fib(27)"})
		if res.Stdout != "196418\n" {
			b.Fatalf("fib(27) = %q %v", res.Stdout, res.Error)
		}
	}
}

// BenchmarkTypeScriptFirstRun includes transpiling with esbuild.
func BenchmarkTypeScriptFirstRun(b *testing.B) {
	e, _ := New(runtime.TypeScript)
	dir := b.TempDir()
	for b.Loop() {
		ip, _ := e.New(context.Background(), dir)
		if res, _ := ip.Run(context.Background(), runtime.Request{Code: "const n: number = 1; n + 1"}); res.Error != nil {
			b.Fatal(res.Error)
		}
		ip.Close()
	}
}
