package mcp

import (
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"wasmbox/front"
)

// TestServer_proxy: behind a trusted proxy two users get separate keyless owners and rate
// buckets; Hosts and cross-site Origins outside the configuration are refused on every route.
func TestServer_proxy(t *testing.T) {
	f := newFixture(t, front.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		AllowedHosts: []string{"127.0.0.1", "wasmbox.example"}, RatePerMinute: 3, FrameAncestors: "https://huggingface.co"})
	do := func(method, path, xff, host, origin, body string) (int, map[string]any, http.Header) {
		t.Helper()
		req, _ := http.NewRequest(method, f.http.URL+path, strings.NewReader(body))
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		if host != "" {
			req.Host = host
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if body != "" {
			req.Header.Set("Content-Type", "text/plain")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m, resp.Header
	}
	do("POST", "/api/sessions", "198.51.100.1", "", "", "")
	if _, list, _ := do("GET", "/api/sessions", "198.51.100.2", "", "", ""); list["count"].(float64) != 0 {
		t.Errorf("a second user behind the proxy sees the first's sessions: %v", list)
	}
	if _, list, _ := do("GET", "/api/sessions", "198.51.100.1", "", "", ""); list["count"].(float64) != 1 {
		t.Errorf("the first user's own list: %v", list)
	}
	// Separate rate buckets: user 1 has spent 2 of 3; user 3 has all of them.
	do("GET", "/api/sessions", "198.51.100.1", "", "", "")
	if code, _, _ := do("GET", "/api/sessions", "198.51.100.1", "", "", ""); code != http.StatusTooManyRequests {
		t.Errorf("user 1's fourth request: %d, want 429", code)
	}
	if code, _, _ := do("GET", "/api/sessions", "198.51.100.3", "", "", ""); code != 200 {
		t.Errorf("user 3 behind the same proxy: %d, want 200", code)
	}
	for _, path := range []string{"/api/sessions", "/mcp", "/sse", "/librechat/v1/files/x", "/", "/static/app.js"} {
		if code, _, _ := do("GET", path, "198.51.100.9", "rebound.attacker.example", "", ""); code != http.StatusForbidden {
			t.Errorf("GET %s with a foreign Host: %d, want 403", path, code)
		}
	}
	if code, _, _ := do("GET", "/healthz", "198.51.100.9", "wasmbox.example", "", ""); code != 200 {
		t.Errorf("an allowed Host: %d", code)
	}
	// A cross-site page posting text/plain (no preflight) is refused; the site's own page is not.
	if code, _, _ := do("POST", "/librechat/v1/exec", "198.51.100.8", "", "https://evil.example", `{"lang":"py","code":"print(1)"}`); code != http.StatusForbidden {
		t.Errorf("cross-site POST: %d, want 403", code)
	}
	if code, _, _ := do("POST", "/api/sessions", "198.51.100.8", "", strings.Replace(f.http.URL, "localhost", "127.0.0.1", 1), ""); code != http.StatusCreated {
		t.Errorf("same-origin POST: %d, want 201", code)
	}
	// Through the trusted proxy, which passes Host without the browser's port (nginx's $host).
	if code, _, _ := do("POST", "/api/sessions", "198.51.100.8", "wasmbox.example", "http://wasmbox.example:8443", ""); code != http.StatusCreated {
		t.Errorf("same-site POST through the proxy: %d, want 201", code)
	}
	if code, _, _ := do("POST", "/api/sessions", "198.51.100.8", "wasmbox.example", "http://other.example:8443", ""); code != http.StatusForbidden {
		t.Errorf("cross-site POST through the proxy: %d, want 403", code)
	}
	if _, _, h := do("GET", "/", "198.51.100.7", "", "", ""); !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors https://huggingface.co;") {
		t.Errorf("CSP: %q", h.Get("Content-Security-Policy"))
	}
}

// TestServer_authFailures: wrong keys are limited per client address before keys are
// compared; the right key from that address waits too, while another address is unaffected.
func TestServer_authFailures(t *testing.T) {
	f := newFixture(t, front.Config{APIKeys: []string{"right"}, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	get := func(key, xff string) int {
		req, _ := http.NewRequest("GET", f.http.URL+"/api/sessions", nil)
		req.Header.Set("X-API-Key", key)
		req.Header.Set("X-Forwarded-For", xff)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	codes := map[int]int{}
	for i := range 600 {
		codes[get("guess-"+strconv.Itoa(i), "203.0.113.66")]++
	}
	if codes[401] != front.AuthFailuresPerMinute || codes[429] != 600-front.AuthFailuresPerMinute {
		t.Errorf("600 guesses: %v, want %d unauthorized and the rest rate limited", codes, front.AuthFailuresPerMinute)
	}
	if code := get("right", "203.0.113.66"); code != http.StatusTooManyRequests {
		t.Errorf("the right key from the guessing address: %d, want 429 for the rest of the minute", code)
	}
	if code := get("right", "203.0.113.67"); code != 200 {
		t.Errorf("the right key from another address: %d", code)
	}
}

// TestServer_mcpSessionIDs: an Mcp-Session-Id the server never issued, or one deleted, gets
// 404, as the MCP spec says.
func TestServer_mcpSessionIDs(t *testing.T) {
	f := newFixture(t, front.Config{})
	post := func(sid, body string) (int, string) {
		req, _ := http.NewRequest("POST", f.http.URL+"/mcp", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if sid != "" {
			req.Header.Set("Mcp-Session-Id", sid)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Mcp-Session-Id")
	}
	_, sid := post("", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`)
	list := `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`
	if code, _ := post(sid, list); code != 200 {
		t.Fatalf("issued id: %d", code)
	}
	for _, bogus := range []string{"mcp-session-00000000000000000000000000000000", "mcp-session-6f1c2a4e-1d2b-4c3d-8e9f-0a1b2c3d4e5f", "x"} {
		if code, _ := post(bogus, list); code != http.StatusNotFound {
			t.Errorf("unknown id %q: %d, want 404", bogus, code)
		}
	}
	req, _ := http.NewRequest("DELETE", f.http.URL+"/mcp", nil)
	req.Header.Set("Mcp-Session-Id", sid)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	if code, _ := post(sid, list); code != http.StatusNotFound {
		t.Errorf("deleted id: %d, want 404", code)
	}
}

// TestServer_prefix: under a path prefix, from X-Forwarded-Prefix (trusted proxies only) or
// BasePath, the SSE endpoint event names the prefixed message path, and prefixed paths work.
func TestServer_prefix(t *testing.T) {
	endpoint := func(f *fixture, path, prefix string) string {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel() // ends the stream
		req, _ := http.NewRequestWithContext(ctx, "GET", f.http.URL+path, nil)
		if prefix != "" {
			req.Header.Set("X-Forwarded-Prefix", prefix)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		buf := make([]byte, 4096)
		got := ""
		for !strings.Contains(got, "data: ") || !strings.Contains(got[strings.Index(got, "data: "):], "\n") {
			n, err := resp.Body.Read(buf)
			got += string(buf[:n])
			if err != nil {
				break
			}
		}
		for _, line := range strings.Split(got, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "data: "); ok {
				return strings.SplitN(v, "?", 2)[0]
			}
		}
		t.Fatalf("no endpoint event in %q", got)
		return ""
	}
	trusting := newFixture(t, front.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	for _, tc := range []struct{ path, prefix, want string }{
		{"/sse", "", "/message"},
		{"/sse", "/pre", "/pre/message"},
		{"/sse", "/a/b/", "/a/b/message"},
		{"/sse", "/../evil", "/message"}, // refused: no prefix
		{"/gradio_api/mcp/sse", "/pre", "/pre/gradio_api/mcp/message"},
	} {
		if got := endpoint(trusting, tc.path, tc.prefix); got != tc.want {
			t.Errorf("%s with prefix %q: endpoint %s, want %s", tc.path, tc.prefix, got, tc.want)
		}
	}
	untrusting := newFixture(t, front.Config{})
	if got := endpoint(untrusting, "/sse", "/pre"); got != "/message" {
		t.Errorf("an untrusted peer's prefix was used: %s", got)
	}
	based := newFixture(t, front.Config{BasePath: "/wasmbox/"})
	if got := endpoint(based, "/wasmbox/sse", ""); got != "/wasmbox/message" {
		t.Errorf("base path: endpoint %s", got)
	}
	for _, path := range []string{"/wasmbox/healthz", "/healthz", "/wasmbox/", "/wasmbox/static/app.js"} {
		resp, err := http.Get(based.http.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s under the base path: %d", path, resp.StatusCode)
		}
	}
	if _, err := front.New(front.Config{BasePath: "/a b", Sessions: based.mgr}); err == nil {
		t.Error("a base path with a space was accepted")
	}
}
