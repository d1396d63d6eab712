package mcp

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"wasmbox/front"
	"wasmbox/internal/fronttest"
)

// serveWith serves the MCP front with opts, behind a trusted proxy at 127.0.0.1 so tests
// speak for several clients through X-Forwarded-For.
func serveWith(t *testing.T, opts ...Option) (*fronttest.Fixture, *Server) {
	t.Helper()
	var srv *Server
	fx := fronttest.Serve(t, front.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}},
		func(f *front.Front) []front.Mount {
			srv = New(f, opts...)
			return []front.Mount{srv.Mount}
		})
	return fx, srv
}

// openStream opens an SSE stream as client; it returns the status and, when open, the stream
// (its first event read) and its session id.
func openStream(t *testing.T, base, path, client string) (int, io.ReadCloser, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	req.Header.Set("X-Forwarded-For", client)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return resp.StatusCode, nil, ""
	}
	br := bufio.NewReader(resp.Body)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		if i := strings.Index(line, "sessionId="); i >= 0 {
			return resp.StatusCode, struct {
				io.Reader
				io.Closer
			}{br, resp.Body}, strings.TrimSpace(line[i+len("sessionId="):])
		}
	}
}

// TestServer_streamLimits: open SSE streams (both paths) are capped per client (429) and in
// total (503), at once; a closed stream frees its place.
func TestServer_streamLimits(t *testing.T) {
	fx, srv := serveWith(t, WithStreamLimits(3, 2, time.Hour))
	base := fx.HTTP.URL
	var open []io.ReadCloser
	defer func() {
		for _, s := range open {
			s.Close()
		}
	}()
	must := func(path, client string, want int) {
		t.Helper()
		code, s, _ := openStream(t, base, path, client)
		if s != nil {
			open = append(open, s)
		}
		if code != want {
			t.Errorf("%s from %s: got %d, want %d", path, client, code, want)
		}
	}
	must(PathSSE, "198.51.100.1", http.StatusOK)
	must(PathGradio+"/sse", "198.51.100.1", http.StatusOK)
	must(PathSSE, "198.51.100.1", http.StatusTooManyRequests)
	must(PathSSE, "198.51.100.2", http.StatusOK)
	must(PathSSE, "198.51.100.3", http.StatusServiceUnavailable)
	// Streamable HTTP's listening stream counts too.
	req, _ := http.NewRequest(http.MethodGet, base+PathStreamable, nil)
	req.Header.Set("X-Forwarded-For", "198.51.100.4")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("streamable GET past the total: got %v %v, want 503", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	open[0].Close()
	open = open[1:]
	deadline := time.Now().Add(20 * time.Second)
	for total, _ := srv.streams.stats(""); total > 2 && time.Now().Before(deadline); total, _ = srv.streams.stats("") {
		time.Sleep(10 * time.Millisecond)
	}
	must(PathSSE, "198.51.100.3", http.StatusOK)
}

// TestServer_streamIdle: a stream no message uses for the idle time is closed; one in use is
// kept.
func TestServer_streamIdle(t *testing.T) {
	const idle = 3 * time.Second
	fx, _ := serveWith(t, WithStreamLimits(0, 0, idle))
	base := fx.HTTP.URL
	_, quiet, _ := openStream(t, base, PathSSE, "198.51.100.1")
	defer quiet.Close()
	_, busy, busyID := openStream(t, base, PathSSE, "198.51.100.2")
	defer busy.Close()
	busyDone := make(chan error, 1)
	go func() { _, err := io.Copy(io.Discard, busy); busyDone <- err }()
	quietDone := make(chan error, 1)
	go func() { _, err := io.Copy(io.Discard, quiet); quietDone <- err }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // the busy stream's client pings every 100 ms
		for ctx.Err() == nil {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+PathMessage+"?sessionId="+busyID,
				strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Forwarded-For", "198.51.100.2")
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	select {
	case <-quietDone:
	case <-time.After(30 * time.Second):
		t.Fatal("an idle stream was not closed")
	}
	select {
	case err := <-busyDone:
		t.Errorf("a stream in use was closed: %v", err)
	default:
	}
}

// TestServer_mcpSessionLimits: streamable HTTP sessions are capped per client (its oldest is
// forgotten: 404, and the client initializes again) and in total (503, before one is made);
// ending one frees its place; idle ones are forgotten.
func TestServer_mcpSessionLimits(t *testing.T) {
	fx, srv := serveWith(t, WithMCPSessionLimits(3, 2, time.Hour))
	base := fx.HTTP.URL
	send := func(method, client, id, body string) (int, string) {
		req, _ := http.NewRequest(method, base+PathStreamable, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("X-Forwarded-For", client)
		if id != "" {
			req.Header.Set("Mcp-Session-Id", id)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Mcp-Session-Id")
	}
	initialize := func(client string) (int, string) {
		return send(http.MethodPost, client, "", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`)
	}
	ping := func(client, id string) int {
		code, _ := send(http.MethodPost, client, id, `{"jsonrpc":"2.0","id":2,"method":"ping"}`)
		return code
	}
	_, first := initialize("198.51.100.1")
	_, second := initialize("198.51.100.1")
	code, third := initialize("198.51.100.1")
	if code != http.StatusOK {
		t.Errorf("a third session of a client at its cap of 2: got %d, want 200", code)
	}
	if got := ping("198.51.100.1", first); got != http.StatusNotFound {
		t.Errorf("the client's oldest session: got %d, want 404", got)
	}
	for _, id := range []string{second, third} {
		if got := ping("198.51.100.1", id); got != http.StatusOK {
			t.Errorf("a kept session: got %d, want 200", got)
		}
	}
	if code, _ := initialize("198.51.100.2"); code != http.StatusOK {
		t.Errorf("another client: got %d, want 200", code)
	}
	if code, _ := initialize("198.51.100.3"); code != http.StatusServiceUnavailable {
		t.Errorf("past the total of 3: got %d, want 503", code)
	}
	send(http.MethodDelete, "198.51.100.1", second, "")
	if code, _ := initialize("198.51.100.3"); code != http.StatusOK {
		t.Errorf("after one ended: got %d, want 200", code)
	}
	// Idle sessions are forgotten (the clock moved past the idle time).
	now := time.Now()
	srv.sessions.mu.Lock()
	srv.sessions.now = func() time.Time { return now.Add(2 * time.Hour) }
	srv.sessions.mu.Unlock()
	if code, _ := initialize("198.51.100.4"); code != http.StatusOK {
		t.Errorf("after the others idled out: got %d, want 200", code)
	}
	if total, _ := srv.sessions.count(""); total != 1 {
		t.Errorf("got %d sessions after the idle ones went, want 1", total)
	}
}
