package front

import "testing"

// TestRouteOf: the metrics' route label takes a fixed set of values, whatever the path.
func TestRouteOf(t *testing.T) {
	for path, want := range map[string]string{"/mcp": "mcp", "/api/sessions/x/run": "api", "/librechat/v1/exec": "librechat",
		"/message": "sse", "/gradio_api/mcp/message": "sse", "/anything/../else": "other", "/mcpx": "other"} {
		if got := routeOf(path); got != want {
			t.Errorf("routeOf(%q) = %q, want %q", path, got, want)
		}
	}
}
