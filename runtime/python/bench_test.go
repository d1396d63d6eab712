package python

import (
	"context"
	"testing"
	"time"

	"wasmbox/runtime"
)

// BenchmarkWarmRun runs `pass` in an interpreter that already exists.
func BenchmarkWarmRun(b *testing.B) {
	ip, _ := newInterp(b)
	run(b, ip, "pass")
	b.ResetTimer()
	for b.Loop() {
		run(b, ip, "pass")
	}
}

// BenchmarkNewFromPool takes a started interpreter from the warm pool. The pool is refilled
// between iterations, outside the timer, as it is between sessions in a server.
func BenchmarkNewFromPool(b *testing.B) {
	e := engine(b)
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		deadline := time.Now().Add(time.Minute)
		for e.PoolSize() == 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		dir := b.TempDir()
		b.StartTimer()
		ip, err := e.New(ctx, dir)
		if err != nil {
			b.Fatal(err)
		}
		run(b, ip, "pass")
		b.StopTimer()
		ip.Close()
		b.StartTimer()
	}
}

// BenchmarkNewWithoutPool starts CPython for every new interpreter.
func BenchmarkNewWithoutPool(b *testing.B) {
	e, err := New(context.Background(), WithPoolSize(0))
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close(context.Background())
	for b.Loop() {
		ip, err := e.New(context.Background(), b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		run(b, ip, "pass")
		ip.Close()
	}
}

// BenchmarkLoop3M is the 3M-iteration `s += i` loop the README compares with native python3.
func BenchmarkLoop3M(b *testing.B) {
	ip, _ := newInterp(b)
	for b.Loop() {
		res := run(b, ip, "s = 0\nfor i in range(3000000):\n    s += i", runtime.Limits{Timeout: time.Minute})
		if res.Error != nil {
			b.Fatal(res.Error)
		}
	}
}

// BenchmarkImports imports a few heavy stdlib modules in a fresh interpreter.
func BenchmarkImports(b *testing.B) {
	e := engine(b)
	for b.Loop() {
		ip, err := e.New(context.Background(), b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		run(b, ip, "import json, re, datetime, decimal, sqlite3")
		ip.Close()
	}
}

// BenchmarkWarmRun_worker runs `print(1)` as a worker's engine does (no interrupt checks).
func BenchmarkWarmRun_worker(b *testing.B) {
	e, err := New(context.Background(), WithPoolSize(0), WithInterruptible(false))
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close(context.Background())
	ip, err := e.New(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer ip.Close()
	run(b, ip, "print(1)")
	for b.Loop() {
		run(b, ip, "print(1)")
	}
}
