package front

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// Connection limits of [Front.Listen]. Before a request's headers are read nobody is
// authenticated, so what a connection may cost then is bounded per client address and in
// total: its header bytes (MaxHeaderBytes, set on the http.Server), its count, and how long it
// may idle.
const (
	// MaxHeaderBytes bounds a request's header block (http.Server.MaxHeaderBytes): 32 KiB,
	// the most nginx accepts by default (4 buffers of 8 KiB). Past it the client gets 431.
	MaxHeaderBytes = 32 << 10
	// DefaultMaxConns is how many connections the server holds at once (WASMBOX_MAX_CONNECTIONS).
	DefaultMaxConns = 1024
	// DefaultMaxConnsPerClient is how many of them one client address (an IPv6 /64) may hold
	// (WASMBOX_MAX_CONNECTIONS_PER_CLIENT); trusted proxies, which carry many clients, are
	// held only to the total.
	DefaultMaxConnsPerClient = 64
)

// ConnLimiter is a net.Listener that holds at most a total number of connections, and at most
// a number per client address. A connection over a cap is answered at once (429 for a client
// at its cap, 503 when the server is full) and closed, unless another can be closed to make
// room: an idle keep-alive connection of the same client (for the total, of anyone), or, when
// the server is full, one still sending a request's headers (no handler has it yet) of the
// client holding the most connections, if that is more than the newcomer holds. So clients with many
// addresses that fill the server with unfinished headers cannot shut a new client out; only
// requests in progress and idle-free streams are never cut. Set its ConnState as the
// http.Server's ConnState. It is safe for concurrent use.
type ConnLimiter struct {
	net.Listener
	total, perClient int
	exempt           func(netip.Addr) bool
	onRefuse         func(reason string)

	mu       sync.Mutex
	open     int
	byClient map[netip.Addr]int
	idle     map[*limitedConn]struct{}
	fresh    map[*limitedConn]struct{} // reading a request's headers: no handler has it yet
}

// Listen wraps ln in a [ConnLimiter] with caps total and perClient (0: the defaults); the
// front's trusted proxies count only against the total, refusals are counted in
// wasmbox_rejected_requests_total.
func (f *Front) Listen(ln net.Listener, total, perClient int) *ConnLimiter {
	if total <= 0 {
		total = DefaultMaxConns
	}
	if perClient <= 0 {
		perClient = DefaultMaxConnsPerClient
	}
	return &ConnLimiter{Listener: ln, total: total, perClient: perClient, exempt: f.trusted, onRefuse: f.Reject,
		byClient: map[netip.Addr]int{}, idle: map[*limitedConn]struct{}{}, fresh: map[*limitedConn]struct{}{}}
}

// Accept returns the next connection within the caps; connections over them are answered
// and closed here.
func (l *ConnLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		client := clientKey(c.RemoteAddr())
		exempt := l.exempt != nil && l.exempt(remoteIP(c.RemoteAddr().String()))
		lc, status := l.admit(c, client, exempt)
		if lc != nil {
			return lc, nil
		}
		l.refuse(c, status)
	}
}

// admit counts c in, closing an idle connection to make room where one is over a cap; it
// returns nil and the status to answer when there is no room.
func (l *ConnLimiter) admit(c net.Conn, client netip.Addr, exempt bool) (*limitedConn, int) {
	l.mu.Lock()
	var victim *limitedConn
	switch {
	case !exempt && l.byClient[client] >= l.perClient:
		victim = l.idleOfLocked(func(v *limitedConn) bool { return v.client == client })
		if victim == nil {
			l.mu.Unlock()
			return nil, http.StatusTooManyRequests
		}
	case l.open >= l.total:
		victim = l.idleOfLocked(func(*limitedConn) bool { return true })
		if victim == nil {
			victim = l.freshOfLargestLocked(client)
		}
		if victim == nil {
			l.mu.Unlock()
			return nil, http.StatusServiceUnavailable
		}
	}
	if victim != nil {
		l.releaseLocked(victim)
	}
	l.open++
	l.byClient[client]++
	lc := &limitedConn{Conn: c, l: l, client: client}
	l.fresh[lc] = struct{}{} // it reads its first request's headers from now on
	l.mu.Unlock()
	if victim != nil {
		victim.Conn.Close()
	}
	return lc, 0
}

func (l *ConnLimiter) idleOfLocked(match func(*limitedConn) bool) *limitedConn {
	for c := range l.idle {
		if match(c) {
			return c
		}
	}
	return nil
}

// freshOfLargestLocked returns a connection still reading a request's headers of the client
// that, among those with such a connection, holds the most connections, if it holds more than
// client (plus the one it asks for).
func (l *ConnLimiter) freshOfLargestLocked(client netip.Addr) *limitedConn {
	var victim *limitedConn
	most := l.byClient[client] + 1
	for c := range l.fresh {
		if n := l.byClient[c.client]; n > most {
			victim, most = c, n
		}
	}
	return victim
}

// releaseLocked uncounts c, once.
func (l *ConnLimiter) releaseLocked(c *limitedConn) {
	if c.released {
		return
	}
	c.released = true
	delete(l.idle, c)
	delete(l.fresh, c)
	l.open--
	if l.byClient[c.client]--; l.byClient[c.client] <= 0 {
		delete(l.byClient, c.client)
	}
}

// refuse answers a connection over a cap with a complete HTTP response and closes it. The
// response is a few hundred bytes written to a fresh socket, which its send buffer takes
// whole, so a client that never reads cannot hold Accept; the deadline is a backstop.
func (l *ConnLimiter) refuse(c net.Conn, status int) {
	reason, msg := "connections", "the server holds its most connections; retry in a few seconds"
	if status == http.StatusTooManyRequests {
		reason, msg = "connections_per_client", fmt.Sprintf("your address holds %d connections, the most one client may; close some or reuse them", l.perClient)
	}
	if l.onRefuse != nil {
		l.onRefuse(reason)
	}
	body := `{"error":"` + msg + `"}` + "\n"
	c.SetWriteDeadline(time.Now().Add(time.Second))
	fmt.Fprintf(c, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nRetry-After: 5\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s",
		status, http.StatusText(status), len(body), body)
	c.Close()
}

// ConnState tracks which connections are idle between requests; set it as the
// http.Server's ConnState.
func (l *ConnLimiter) ConnState(c net.Conn, state http.ConnState) {
	lc, ok := c.(*limitedConn)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch state {
	case http.StateIdle:
		delete(l.fresh, lc)
		if !lc.released {
			l.idle[lc] = struct{}{}
		}
	case http.StateNew, http.StateActive: // headers are being read
		delete(l.idle, lc)
		if !lc.released {
			l.fresh[lc] = struct{}{}
		}
	case http.StateHijacked:
		delete(l.idle, lc)
		delete(l.fresh, lc)
	case http.StateClosed:
		l.releaseLocked(lc)
	}
}

// serving notes that a handler has c's request: its headers are all read.
func (l *ConnLimiter) serving(c *limitedConn) {
	l.mu.Lock()
	delete(l.fresh, c)
	l.mu.Unlock()
}

type connKey struct{}

// Open reports the connections held, in total and of the client at addr.
func (l *ConnLimiter) Open(addr net.Addr) (total, client int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open, l.byClient[clientKey(addr)]
}

// clientKey is what connections are counted by: the peer's address, or its /64 for IPv6,
// where one host holds a whole prefix.
func clientKey(a net.Addr) netip.Addr {
	ip := remoteIP(a.String())
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.Addr()
	}
	return ip
}

// limitedConn is a connection counted by its [ConnLimiter] until closed.
type limitedConn struct {
	net.Conn
	l        *ConnLimiter
	client   netip.Addr
	released bool // guarded by l.mu
}

func (c *limitedConn) Close() error {
	c.l.mu.Lock()
	c.l.releaseLocked(c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}

// Server is the http.Server the fronts are served with on l: headers within MaxHeaderBytes
// and 10 s, idle keep-alive connections closed after 2 minutes (or sooner, when l needs
// their room), l's connection states tracked. Bodies have their own deadline
// (Config.BodyTimeout) and caps per route.
func Server(h http.Handler, l *ConnLimiter) *http.Server {
	marked := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := r.Context().Value(connKey{}).(*limitedConn); ok {
			l.serving(c)
		}
		h.ServeHTTP(w, r)
	})
	return &http.Server{Handler: marked, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		MaxHeaderBytes: MaxHeaderBytes, ConnState: l.ConnState,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context { return context.WithValue(ctx, connKey{}, c) }}
}
