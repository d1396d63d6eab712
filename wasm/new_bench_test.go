package wasm

import (
	"context"
	"testing"
)

// BenchmarkNew_fromCache is what every worker pays before its first interpreter: loading
// python.wasm's machine code from a warm compilation cache.
func BenchmarkNew_fromCache(b *testing.B) {
	ctx := context.Background()
	if _, err := Precompile(ctx, DefaultCacheDir(), false); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		h, err := New(ctx, WithInterruptible(false))
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		h.Close(ctx)
		b.StartTimer()
	}
}
