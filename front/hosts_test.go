package front

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"wasmbox/sessions"
)

// TestFront_loopbackHosts: with the loopback names allowed, only they pass (any port, IPv6 in
// brackets); names that merely contain them, or rebind to them, are refused on every route
// but /healthz.
func TestFront_loopbackHosts(t *testing.T) {
	mgr, _ := sessions.New(sessions.WithDataDir(t.TempDir()), sessions.WithReapInterval(0))
	defer mgr.Close()
	f, err := New(Config{Sessions: mgr, AllowedHosts: append([]string(nil), LoopbackHosts...)})
	if err != nil {
		t.Fatal(err)
	}
	h := f.Handler()
	tests := []struct {
		host, path string
		want       int
	}{
		{"localhost", "/nowhere", http.StatusNotFound},
		{"localhost:7860", "/nowhere", http.StatusNotFound},
		{"LOCALHOST:7860", "/nowhere", http.StatusNotFound},
		{"127.0.0.1:7860", "/nowhere", http.StatusNotFound},
		{"[::1]:7860", "/nowhere", http.StatusNotFound},
		{"[::1]", "/nowhere", http.StatusNotFound},
		{"attacker.test", "/nowhere", http.StatusForbidden},
		{"attacker.test:7860", "/mcp", http.StatusForbidden},
		{"localhost.attacker.test", "/nowhere", http.StatusForbidden},
		{"127.0.0.1.nip.io", "/nowhere", http.StatusForbidden},
		{"192.168.1.5:7860", "/nowhere", http.StatusForbidden},
		{"", "/nowhere", http.StatusForbidden},
		{"attacker.test", PathHealth, http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.host+tc.path, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tc.path, nil)
			r.Host = tc.host
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Errorf("got %d, want %d: %s", w.Code, tc.want, w.Body)
			}
		})
	}
}

// TestFront_noOAuth: the paths an MCP client tries for OAuth after a 401 say that wasmbox takes
// an API key instead, and how to send it (mcp-remote otherwise reports only a failed client
// registration); other unknown paths keep the general 404.
func TestFront_noOAuth(t *testing.T) {
	mgr, _ := sessions.New(sessions.WithDataDir(t.TempDir()), sessions.WithReapInterval(0))
	defer mgr.Close()
	f, err := New(Config{Sessions: mgr, AllowedHosts: append([]string(nil), LoopbackHosts...), APIKeys: []string{"k"}})
	if err != nil {
		t.Fatal(err)
	}
	h := f.Handler()
	for _, path := range []string{"/register", "/authorize", "/token", "/.well-known/oauth-authorization-server",
		"/.well-known/oauth-protected-resource/mcp", "/.well-known/openid-configuration", "/registerx"} {
		r := httptest.NewRequest(http.MethodPost, path, nil)
		r.Host = "localhost"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		oauth := strings.Contains(w.Body.String(), "no OAuth") && strings.Contains(w.Body.String(), "--header")
		if w.Code != http.StatusNotFound || oauth != (path != "/registerx") {
			t.Errorf("%s: %d %s", path, w.Code, w.Body)
		}
	}
}
