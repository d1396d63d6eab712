package main

import (
	"math"
	"testing"
	"time"
)

// TestHistogram_quantile: quantiles from a server's cumulative buckets, interpolated within
// the bucket the rank falls in, as Prometheus' histogram_quantile does.
func TestHistogram_quantile(t *testing.T) {
	before := histogram{0.001: 10, 0.002: 10, 0.005: 10, math.Inf(1): 10}
	after := histogram{0.001: 60, 0.002: 110, 0.005: 110, math.Inf(1): 120}
	d := after.minus(before)
	if d.count() != 110 {
		t.Errorf("count %d, want 110", d.count())
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.25, 550 * time.Microsecond}, {0.5, 1100 * time.Microsecond}, {0.99, 5 * time.Millisecond}} {
		if got := d.quantile(tc.q).Round(time.Microsecond); got != tc.want {
			t.Errorf("q%.2f: %s, want %s", tc.q, got, tc.want)
		}
	}
	if got := (histogram{}).quantile(0.5); got != 0 {
		t.Errorf("empty: %s", got)
	}
}
