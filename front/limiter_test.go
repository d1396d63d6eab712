package front

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"wasmbox/sessions"
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

// fakeRates is a shared rate limit that answers with its fields.
type fakeRates struct {
	ok   bool
	err  error
	keys []string
}

func (f *fakeRates) Take(_ context.Context, key string, perMinute int) (bool, error) {
	f.keys = append(f.keys, key)
	return f.ok, f.err
}

// TestFront_sharedRates: with a shared rate limit, its answer decides, the caller's key reaches
// it only as a digest, and while it fails this replica's own limiter decides.
func TestFront_sharedRates(t *testing.T) {
	mgr, _ := sessions.New(sessions.WithDataDir(t.TempDir()), sessions.WithReapInterval(0))
	defer mgr.Close()
	shared := &fakeRates{ok: false}
	f, err := New(Config{Sessions: mgr, RatePerMinute: 2, SharedRates: shared})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if f.allow(ctx, "key:secret-api-key") {
		t.Fatal("allowed although the shared limit said no")
	}
	shared.ok = true
	if !f.allow(ctx, "key:secret-api-key") {
		t.Fatal("refused although the shared limit said yes")
	}
	for _, k := range shared.keys {
		if strings.Contains(k, "secret") || len(k) != 32 {
			t.Fatalf("the shared limit saw key %q, want a 32-digit digest", k)
		}
	}
	shared.err = errors.New("redis: connection refused")
	got := []bool{f.allow(ctx, "ip:1.2.3.4"), f.allow(ctx, "ip:1.2.3.4"), f.allow(ctx, "ip:1.2.3.4")}
	if !got[0] || !got[1] || got[2] {
		t.Fatalf("with the shared limit failing, 3 requests at 2 a minute: %v, want the local limiter's true true false", got)
	}
}
