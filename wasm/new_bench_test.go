package wasm

import (
	"context"
	"testing"
)

// BenchmarkNew_fromCache is what every worker pays before its first interpreter: loading
// python.wasm's machine code from a warm compilation cache, validating python.wasm as wazero
// does on every load ("validated") or through the skeleton's entry ("skeleton", what workers
// do).
func BenchmarkNew_fromCache(b *testing.B) {
	ctx := context.Background()
	p, err := Precompile(ctx, DefaultCacheDir(), false)
	if err != nil {
		b.Fatal(err)
	}
	if p.Skeleton == nil {
		b.Fatal(p.SkeletonErr)
	}
	for _, c := range []struct {
		name string
		skel *Skeleton
	}{{"validated", nil}, {"skeleton", p.Skeleton}} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				h, err := New(ctx, WithInterruptible(false), WithSkeleton(c.skel), WithBuildHash("bench"))
				if err != nil {
					b.Fatal(err)
				}
				if c.skel != nil && h.SkeletonError() != nil {
					b.Fatal(h.SkeletonError())
				}
				b.StopTimer()
				h.Close(ctx)
				b.StartTimer()
			}
		})
	}
}
