package mcp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"sync"
	"time"

	"wasmbox/front"
)

// Limits of the long-lived streams of the HTTP transports (SSE at /sse and at the Gradio
// path, the listening GET of streamable HTTP): each holds a connection, a goroutine or three
// and an event queue for as long as the client keeps it, so they are capped per client and in
// total, and one no message has used for StreamIdle is closed (clients reconnect).
const (
	DefaultMaxStreams          = 256
	DefaultMaxStreamsPerClient = 16
	DefaultStreamIdle          = 30 * time.Minute
)

// Option configures a [Server].
type Option func(*Server)

// WithStreamLimits sets the caps on open streams, in total and per client address, and how long
// a stream may go without a message before it is closed (zero values keep the defaults).
func WithStreamLimits(total, perClient int, idle time.Duration) Option {
	return func(s *Server) {
		if total > 0 {
			s.streams.max = total
		}
		if perClient > 0 {
			s.streams.per = perClient
		}
		if idle > 0 {
			s.streams.idle = idle
		}
	}
}

// streamGate counts open streams per client and in total and closes idle ones. It is safe
// for concurrent use.
type streamGate struct {
	front    *front.Front
	max, per int
	idle     time.Duration

	mu       sync.Mutex
	open     int
	byClient map[string]int
	byID     map[string]map[*stream]bool // a session may have more than one stream
}

type stream struct {
	client string
	last   time.Time
	cancel context.CancelFunc
	timer  *time.Timer
}

func newStreamGate(f *front.Front) *streamGate {
	return &streamGate{front: f, max: DefaultMaxStreams, per: DefaultMaxStreamsPerClient, idle: DefaultStreamIdle,
		byClient: map[string]int{}, byID: map[string]map[*stream]bool{}}
}

type streamIDKey struct{}

// newStreamID is an SSE session id, made before the stream starts so the gate knows it.
func newStreamID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// sseSessionID is the SSE transports' session id generator: the id the gate made.
func sseSessionID(ctx context.Context, _ *http.Request) (string, error) {
	if id, ok := ctx.Value(streamIDKey{}).(string); ok {
		return id, nil
	}
	return newStreamID(), nil
}

// wrap admits a stream of h (GET requests; others pass) within the caps, or answers 429 (the
// client holds its most streams) or 503 (the server does). idOf names the stream for
// [streamGate.touch]; "" makes a new id, which h's session id generator takes from the
// context ([sseSessionID]).
func (g *streamGate) wrap(h http.Handler, idOf func(*http.Request) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			h.ServeHTTP(w, r)
			return
		}
		client := g.front.ClientKey(r)
		id := idOf(r)
		if id == "" {
			id = newStreamID()
		}
		ctx, cancel := context.WithCancel(context.WithValue(r.Context(), streamIDKey{}, id))
		defer cancel()
		st, status := g.admit(id, client, cancel)
		if st == nil {
			g.refuse(w, status)
			return
		}
		defer g.release(id, st)
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

func (g *streamGate) admit(id, client string, cancel context.CancelFunc) (*stream, int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.byClient[client] >= g.per:
		return nil, http.StatusTooManyRequests
	case g.open >= g.max:
		return nil, http.StatusServiceUnavailable
	}
	g.open++
	g.byClient[client]++
	st := &stream{client: client, last: time.Now(), cancel: cancel}
	if g.byID[id] == nil {
		g.byID[id] = map[*stream]bool{}
	}
	g.byID[id][st] = true
	st.timer = time.AfterFunc(g.idle, func() { g.check(id, st) })
	return st, 0
}

// check closes st if no message used it for the idle time, or looks again when one may.
func (g *streamGate) check(id string, st *stream) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if left := g.idle - time.Since(st.last); left > 0 {
		st.timer.Reset(left)
		return
	}
	st.cancel()
}

func (g *streamGate) release(id string, st *stream) {
	st.timer.Stop()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.open--
	if g.byClient[st.client]--; g.byClient[st.client] <= 0 {
		delete(g.byClient, st.client)
	}
	delete(g.byID[id], st)
	if len(g.byID[id]) == 0 {
		delete(g.byID, id)
	}
}

// touch marks stream id as used now.
func (g *streamGate) touch(id string) {
	if id == "" {
		return
	}
	g.mu.Lock()
	for st := range g.byID[id] {
		st.last = time.Now()
	}
	g.mu.Unlock()
}

// touching wraps a handler whose requests use the stream idOf names.
func (g *streamGate) touching(h http.Handler, idOf func(*http.Request) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.touch(idOf(r))
		h.ServeHTTP(w, r)
	})
}

func (g *streamGate) refuse(w http.ResponseWriter, status int) {
	if status == http.StatusTooManyRequests {
		g.front.Reject("streams_per_client")
		front.TooMany(w, 10, fmt.Sprintf("your address holds %d open MCP streams, the most one client may; close one (or reuse it) and retry", g.per))
		return
	}
	g.front.Reject("streams")
	w.Header().Set("Retry-After", "10")
	front.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"error": fmt.Sprintf("the server holds %d open MCP streams, its most; retry in a few seconds", g.max)})
}

// stats reports the open streams, in total and of client.
func (g *streamGate) stats(client string) (total, ofClient int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.open, g.byClient[client]
}
