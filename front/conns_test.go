package front

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	goruntime "runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wasmbox/sessions"
)

// serveLimited serves f's handler on a loopback listener behind a [ConnLimiter].
func serveLimited(t *testing.T, cfg Config, total, perClient int) (string, *ConnLimiter) {
	t.Helper()
	mgr, err := sessions.New(sessions.WithDataDir(t.TempDir()), sessions.WithReapInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Sessions = mgr
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lim := f.Listen(ln, total, perClient)
	hs := Server(f.Handler(), lim)
	go hs.Serve(lim)
	t.Cleanup(func() { hs.Close(); mgr.Close() })
	return ln.Addr().String(), lim
}

// dialFrom connects to addr from the loopback address from (127.0.0.0/8 is all loopback).
func dialFrom(from, addr string) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 10 * time.Second}
	return d.Dial("tcp", addr)
}

// get sends one GET of path on c and returns the status.
func get(c net.Conn, path string) (int, error) {
	c.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", path)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// TestConnLimiter_headerFlood: clients that open many connections and send big header blocks
// without ending them cost the server a bounded heap, and a neighbour on another address is
// served throughout. (Before: 1 MiB header lines on thousands of connections took the server
// to gigabytes.)
func TestConnLimiter_headerFlood(t *testing.T) {
	t.Run("few addresses", func(t *testing.T) { headerFlood(t, 6, 48) })
	// Enough addresses to fill the total: newcomers take the place of the largest holders'
	// unfinished headers.
	t.Run("many addresses", func(t *testing.T) { headerFlood(t, 12, 32) })
}

func headerFlood(t *testing.T, clients, perClient int) {
	addr, lim := serveLimited(t, Config{}, 256, 32)
	goruntime.GC()
	var base goruntime.MemStats
	goruntime.ReadMemStats(&base)

	var held sync.WaitGroup
	release := make(chan struct{})
	var refused, cut atomic.Int64
	big := []byte("GET / HTTP/1.1\r\nHost: localhost\r\nX-Pad: " + strings.Repeat("a", 1<<20))
	pad := []byte("GET / HTTP/1.1\r\nHost: localhost\r\nX-Pad: " + strings.Repeat("a", MaxHeaderBytes-1024))
	for i := range clients {
		for j := range perClient {
			held.Add(1)
			go func() {
				defer held.Done()
				c, err := dialFrom(fmt.Sprintf("127.0.0.%d", 10+i), addr)
				if err != nil {
					t.Error(err)
					return
				}
				defer c.Close()
				// Half send a header line of 1 MiB (cut at MaxHeaderBytes: 431), half
				// just under the cap and then idle, as slowly as the header timeout allows.
				msg := pad
				if j%2 == 0 {
					msg = big
				}
				c.SetDeadline(time.Now().Add(20 * time.Second))
				if _, err := c.Write(msg); err != nil {
					cut.Add(1) // the server answered and closed while this was sent
				}
				if j%2 == 0 {
					if b, _ := io.ReadAll(io.LimitReader(c, 4096)); strings.Contains(string(b), " 431 ") {
						cut.Add(1)
					} else if strings.Contains(string(b), " 429 ") {
						refused.Add(1)
					}
					return
				}
				one := make([]byte, 64)
				c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
				if n, _ := c.Read(one); n > 0 && strings.Contains(string(one[:n]), " 429 ") {
					refused.Add(1)
					return
				}
				<-release
			}()
		}
	}
	// While the flood holds its connections: a neighbour is served, the heap stays bounded.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, n := lim.Open(&net.TCPAddr{IP: net.ParseIP("127.0.0.10")}); n >= 24 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	var during goruntime.MemStats
	goruntime.ReadMemStats(&during)
	nb, err := dialFrom("127.0.0.200", addr)
	if err != nil {
		t.Fatal(err)
	}
	if code, err := get(nb, PathHealth); code != http.StatusOK {
		t.Errorf("a neighbour during the flood: got %d %v, want 200", code, err)
	}
	nb.Close()
	total, _ := lim.Open(&net.TCPAddr{IP: net.ParseIP("127.0.0.10")})
	close(release)
	held.Wait()
	grew := int64(during.HeapInuse+during.StackInuse) - int64(base.HeapInuse+base.StackInuse)
	t.Logf("%d connections from %d addresses (%d held, %d refused, %d cut at the header cap): heap+stacks grew %.1f MiB",
		clients*perClient, clients, total, refused.Load(), cut.Load(), float64(grew)/(1<<20))
	if total > min(clients*32, 256)+1 {
		t.Errorf("%d connections held; want at most %d per address and 256 in all", total, 32)
	}
	if refused.Load() == 0 && clients*perClient <= 256 {
		t.Error("no connection was refused at the per-client cap")
	}
	if grew > 64<<20 {
		t.Errorf("the heap grew by %d MiB under the flood; want under 64 MiB", grew>>20)
	}
}

// TestConnLimiter_caps: past the per-client cap a client gets 429, past the total 503, both
// at once; an idle keep-alive connection gives way to a new one; closed connections are
// uncounted; trusted proxies count only against the total.
func TestConnLimiter_caps(t *testing.T) {
	addr, lim := serveLimited(t, Config{TrustedProxies: mustPrefixes("127.0.0.9/32")}, 4, 2)
	// status makes one request from a new connection of from, closes it and waits until the
	// limiter has uncounted it (from holds no more than before), so the next step sees only
	// the connections it holds.
	status := func(from string) int {
		t.Helper()
		at := &net.TCPAddr{IP: net.ParseIP(from)}
		_, before := lim.Open(at)
		c, err := dialFrom(from, addr)
		if err != nil {
			t.Fatal(err)
		}
		code, err := get(c, PathHealth)
		c.Close()
		if err != nil {
			t.Fatalf("from %s: %v", from, err)
		}
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			if _, n := lim.Open(at); n <= before {
				break
			} else if time.Now().After(deadline) {
				t.Fatalf("connections of %s after one closed: got %d, want %d", from, n, before)
			}
		}
		return code
	}
	// Two connections of 127.0.0.2 in the middle of a request (headers not ended).
	var busy []net.Conn
	hold := func(from string) {
		c, err := dialFrom(from, addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("GET / HTTP/1.1\r\n"))
		busy = append(busy, c)
	}
	waitOpen := func(want int) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			if n, _ := lim.Open(&net.TCPAddr{}); n == want {
				return
			} else if time.Now().After(deadline) {
				t.Fatalf("open connections: got %d, want %d", n, want)
			}
		}
	}
	hold("127.0.0.2")
	hold("127.0.0.2")
	waitOpen(2)
	if got := status("127.0.0.2"); got != http.StatusTooManyRequests {
		t.Errorf("a third connection of one client: got %d, want 429", got)
	}
	if got := status("127.0.0.3"); got != http.StatusOK {
		t.Errorf("another client: got %d, want 200", got)
	}
	// A trusted proxy passes the per-client cap, up to the total.
	hold("127.0.0.9")
	hold("127.0.0.9")
	waitOpen(4)
	// The server is full of unfinished headers: a new client takes the place of one of the
	// client holding the most.
	if got := status("127.0.0.3"); got != http.StatusOK {
		t.Errorf("a new client while others hold the server with unfinished headers: got %d, want 200", got)
	}
	for _, c := range busy {
		c.Close()
	}
	busy = nil
	waitOpen(0)
	// Four clients with one connection each: nobody holds more than a newcomer would; 503.
	for _, from := range []string{"127.0.0.2", "127.0.0.5", "127.0.0.6", "127.0.0.9"} {
		hold(from)
	}
	waitOpen(4)
	if got := status("127.0.0.3"); got != http.StatusServiceUnavailable {
		t.Errorf("past the total: got %d, want 503", got)
	}
	for _, c := range busy {
		c.Close()
	}
	busy = nil
	waitOpen(0)
	// Idle keep-alive connections give way.
	var idle []net.Conn
	for range 2 {
		c, _ := dialFrom("127.0.0.4", addr)
		if code, err := get(c, PathHealth); code != http.StatusOK {
			t.Fatalf("keep-alive: %d %v", code, err)
		}
		idle = append(idle, c)
	}
	if got := status("127.0.0.4"); got != http.StatusOK {
		t.Errorf("a client whose other connections idle: got %d, want 200", got)
	}
	for _, c := range idle {
		c.Close()
	}
}

func mustPrefixes(s ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range s {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}
