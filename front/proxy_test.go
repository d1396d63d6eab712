package front

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestFront_ClientIP(t *testing.T) {
	s := &Front{cfg: Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32")}}}
	cases := []struct {
		remote, xff, want string
	}{
		{"203.0.113.5:1234", "", "203.0.113.5"},
		{"203.0.113.5:1234", "1.2.3.4", "203.0.113.5"}, // an untrusted peer's header is ignored
		{"127.0.0.1:80", "1.2.3.4", "1.2.3.4"},
		{"127.0.0.1:80", "6.6.6.6, 1.2.3.4", "1.2.3.4"},        // the client wrote 6.6.6.6 itself
		{"127.0.0.1:80", "1.2.3.4, 10.1.1.1", "1.2.3.4"},       // through two trusted hops
		{"127.0.0.1:80", "10.2.2.2, 10.1.1.1", "10.2.2.2"},     // every hop trusted: the first
		{"127.0.0.1:80", "garbage, 1.2.3.4", "1.2.3.4"},        // malformed left of the client
		{"127.0.0.1:80", "1.2.3.4, garbage", "127.0.0.1"},      // malformed hop: stop at the proxy
		{"[::ffff:10.0.0.1]:80", "2001:db8::1", "2001:db8::1"}, // mapped IPv4 proxy, IPv6 client
	}
	for _, tc := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := s.ClientIP(r); got != tc.want {
			t.Errorf("peer %s, X-Forwarded-For %q: got %s, want %s", tc.remote, tc.xff, got, tc.want)
		}
	}
}

func TestGuessKey(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.5":          "203.0.113.5",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2::ffff":   "2001:db8:1:2::/64",
		"not an address":       "not an address",
	} {
		if got := guessKey(in); got != want {
			t.Errorf("guessKey(%q) = %q, want %q", in, got, want)
		}
	}
	// Parallel requests cannot all pass one check: each reserves before comparing.
	f := newFailures(3)
	var got int
	for range 10 {
		if _, ok := f.reserve("x"); ok {
			got++
		}
	}
	refund, _ := newFailures(1).reserve("y")
	if got != 3 || refund == nil {
		t.Errorf("10 reservations against 3 failures a minute: %d passed, want 3", got)
	}
}
