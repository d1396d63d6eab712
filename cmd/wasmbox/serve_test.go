package main

import (
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"wasmbox/runtime"
)

// TestServiceConfig_allowedHosts: without WASMBOX_ALLOWED_HOSTS, a server no API key protects
// serves only loopback names, whatever address it listens on (a page whose name rebinds to the
// laptop cannot drive it); a Space also serves its own names; keys beyond loopback serve any.
func TestServiceConfig_allowedHosts(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		loop bool
		want []string
	}{
		{"keyless on all addresses", nil, false, []string{"localhost", "127.0.0.1", "::1"}},
		{"keyless on loopback", nil, true, []string{"localhost", "127.0.0.1", "::1"}},
		{"keys on all addresses", map[string]string{"WASMBOX_API_KEYS": "k"}, false, nil},
		{"keys on loopback", map[string]string{"WASMBOX_API_KEYS": "k"}, true, []string{"localhost", "127.0.0.1", "::1"}},
		{"set explicitly", map[string]string{"WASMBOX_ALLOWED_HOSTS": "a.test, *.b.test"}, false, []string{"a.test", "*.b.test"}},
		{"any, explicitly", map[string]string{"WASMBOX_ALLOWED_HOSTS": "*"}, false, []string{"*"}},
		{"keyless Space", map[string]string{"SPACE_ID": "me/box", "SPACE_HOST": "me-box.hf.space"}, false,
			[]string{"localhost", "127.0.0.1", "::1", "*.hf.space", "me-box.hf.space"}},
		{"Space with keys", map[string]string{"SPACE_ID": "me/box", "WASMBOX_API_KEYS": "k"}, false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseServiceFlags("serve", nil, func(k string) string { return tc.env[k] }, os.Stderr)
			if err != nil {
				t.Fatal(err)
			}
			c.loopback = tc.loop
			if got := c.allowedHosts(); !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestParseServiceFlags_connections: the connection caps default, read their variables, and
// refuse bad values by name.
func TestParseServiceFlags_connections(t *testing.T) {
	c, err := parseServiceFlags("serve", nil, func(string) string { return "" }, os.Stderr)
	if err != nil || c.maxConns != 1024 || c.maxConnsPer != 64 {
		t.Errorf("defaults: got %d and %d (%v), want 1024 and 64", c.maxConns, c.maxConnsPer, err)
	}
	env := map[string]string{"WASMBOX_MAX_CONNECTIONS": "10", "WASMBOX_MAX_CONNECTIONS_PER_CLIENT": "3"}
	c, err = parseServiceFlags("serve", nil, func(k string) string { return env[k] }, os.Stderr)
	if err != nil || c.maxConns != 10 || c.maxConnsPer != 3 {
		t.Errorf("set: got %d and %d (%v), want 10 and 3", c.maxConns, c.maxConnsPer, err)
	}
	for _, bad := range []string{"0", "-1", "x", "1e308", ""} {
		for _, name := range []string{"WASMBOX_MAX_CONNECTIONS", "WASMBOX_MAX_CONNECTIONS_PER_CLIENT"} {
			if bad == "" {
				continue
			}
			_, err := parseServiceFlags("serve", nil, func(k string) string {
				if k == name {
					return bad
				}
				return ""
			}, os.Stderr)
			if err == nil {
				t.Errorf("%s=%q accepted", name, bad)
			}
		}
	}
}

// TestUnavailable: bash refused by the probe is reported with one sentence; served, nothing.
func TestUnavailable(t *testing.T) {
	if got := unavailable([]runtime.Language{runtime.Python, runtime.Bash}); got != nil {
		t.Errorf("bash served: got %v, want nothing", got)
	}
	got := unavailable([]runtime.Language{runtime.Python, runtime.JavaScript})
	if why := got[runtime.Bash]; !strings.HasPrefix(why, "bash is not available on this server: ") || strings.Count(why, ". ") > 0 {
		t.Errorf("bash refused: got %q, want one sentence saying why", why)
	}
}

// TestServe_workersLoadSkeleton: a server's workers load python.wasm's machine code through the
// skeleton's cache entry the server stored, without validating python.wasm again (0.4 s of
// every worker's start); none validates it.
func TestServe_workersLoadSkeleton(t *testing.T) {
	s := startHostileServer(t)
	for range 2 {
		s.warmSession()
	}
	resp, err := http.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	loads := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, `wasmbox_worker_python_loads_total{how="`); ok {
			how, n, _ := strings.Cut(rest, `"} `)
			loads[how], _ = strconv.ParseFloat(n, 64)
		}
	}
	if loads["skeleton"] < 2 || loads["validated"] != 0 {
		t.Errorf("worker starts by how they loaded python.wasm: %v, want 2 or more through the skeleton and none validated\n%s", loads, s.logs)
	}
}
