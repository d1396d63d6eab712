package front

import (
	"fmt"
	"testing"
	"time"
)

// TestLimiter_bounded: a million distinct callers leave the limiter holding about maxBuckets,
// as long as they come at least a minute apart from the ones forgotten.
func TestLimiter_bounded(t *testing.T) {
	at := time.Unix(0, 0)
	l := newLimiter(60)
	l.now, l.sweep = func() time.Time { return at }, at
	for i := range 1_000_000 {
		if i%50_000 == 0 {
			at = at.Add(61 * time.Second)
		}
		l.allow(fmt.Sprint("ip:", i))
	}
	if n := len(l.buckets); n > maxBuckets+50_000 {
		t.Errorf("got %d buckets after a million callers, want at most %d", n, maxBuckets+50_000)
	}
	// A caller seen recently keeps its bucket (and its spent tokens).
	l.allow("ip:me")
	for range 59 {
		l.allow("ip:me")
	}
	if l.allow("ip:me") {
		t.Error("the 61st request in a minute of a remembered caller was allowed")
	}
}

// TestCaller_RateKey: keyless callers are counted by address, IPv6 ones by their /64.
func TestCaller_RateKey(t *testing.T) {
	tests := []struct{ addr, want string }{
		{"192.0.2.7", "ip:192.0.2.7"},
		{"2001:db8:1:2:3:4:5:6", "ip:2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::1", "ip:2001:db8:1:2::/64"},
		{"garbage", "ip:garbage"},
	}
	for _, tc := range tests {
		if got := (Caller{Addr: tc.addr}).RateKey(); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.addr, got, tc.want)
		}
	}
	if got := (Caller{Key: "k", Addr: "192.0.2.7"}).RateKey(); got != "key:k" {
		t.Errorf("with a key: got %q", got)
	}
}
