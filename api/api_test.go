package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"wasmbox/front"
	"wasmbox/sessions"
)

func TestServer_jsonAPI(t *testing.T) {
	f := newFixture(t, front.Config{APIKeys: []string{"key-1", "key-2"}})
	do := func(method, path, key, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, f.http.URL+path, strings.NewReader(body))
		if key != "" {
			req.Header.Set("X-API-Key", key)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var m map[string]any
		json.NewDecoder(bytes.NewReader(b)).Decode(&m)
		return resp.StatusCode, m
	}
	if code, _ := do("GET", "/api/sessions", "", ""); code != http.StatusUnauthorized {
		t.Errorf("without a key: %d", code)
	}
	code, created := do("POST", "/api/sessions", "key-1", "")
	sid, _ := created["session_id"].(string)
	if code != http.StatusCreated || len(sid) != 32 {
		t.Fatalf("create: %d %v", code, created)
	}
	code, res := do("POST", "/api/sessions/"+sid+"/run", "key-1", `{"language": "python", "code": "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()\nprint('hi')"}`)
	if code != 200 || res["stdout"] != "hi\n" || res["success"] != true {
		t.Fatalf("run: %d %v", code, res)
	}
	if images, _ := res["images"].([]any); len(images) != 1 || !strings.HasPrefix(images[0].(map[string]any)["data"].(string), "iVBOR") {
		t.Errorf("images: %v", res["images"])
	}
	if code, res := do("POST", "/api/sessions/"+sid+"/run", "key-1", `{"language": "cobol", "code": "x"}`); code != 400 || !strings.Contains(res["error"].(string), "not available") {
		t.Errorf("bad language: %d %v", code, res)
	}
	if code, _ := do("POST", "/api/sessions/"+sid+"/run", "key-1", `not json`); code != 400 {
		t.Errorf("bad body: %d", code)
	}
	if code, res := do("GET", "/api/sessions", "key-2", ""); code != 200 || res["count"].(float64) != 0 {
		t.Errorf("another key lists: %d %v", code, res)
	}
	if code, res := do("GET", "/api/sessions", "key-1", ""); code != 200 || res["count"].(float64) != 1 {
		t.Errorf("own list: %d %v", code, res)
	}
	if code, res := do("GET", "/api/sessions/"+sid+"/history", "key-1", ""); code != 200 || len(res["history"].([]any)) != 1 {
		t.Errorf("history: %d %v", code, res)
	}
	if code, res := do("GET", "/api/info", "key-1", ""); code != 200 || res["version"] != "test" {
		t.Errorf("info: %d %v", code, res)
	}
	// Runs through the JSON API are counted like MCP runs.
	req, _ := http.NewRequest("GET", f.http.URL+front.PathMetrics, nil)
	req.Header.Set("X-API-Key", "key-1")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), `wasmbox_runs_total{language="python",outcome="success"} 1`) ||
			!strings.Contains(string(b), `wasmbox_run_duration_seconds_count{language="python"} 1`) {
			t.Errorf("metrics do not count the API run")
		}
	}
	if code, _ := do("DELETE", "/api/sessions/"+sid, "key-1", ""); code != 200 {
		t.Errorf("delete: %d", code)
	}
	if code, res := do("POST", "/api/sessions/"+sid+"/run", "key-1", `{"language": "python", "code": "1"}`); code != 404 || !strings.Contains(res["error"].(string), "deleted") {
		t.Errorf("run in deleted session: %d %v", code, res)
	}
	// The playground page and its assets are served with a strict CSP.
	resp, err := http.Get(f.http.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "wasmbox") || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Errorf("playground: %d %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
	for _, p := range []string{"/static/app.js", "/static/style.css", "/static/dist/editor.js"} {
		resp, err := http.Get(f.http.URL + p)
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("%s: %v %v", p, err, resp.StatusCode)
		}
		resp.Body.Close()
	}
}

// TestServer_tenants: 100 session creations with one key leave another key's session and its
// files alone.
func TestServer_tenants(t *testing.T) {
	f := newFixture(t, front.Config{APIKeys: []string{"k1", "k2"}}, sessions.WithMaxSessions(10), sessions.WithMaxSessionsPerOwner(5))
	post := func(key, path, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest("POST", f.http.URL+path, strings.NewReader(body))
		req.Header.Set("X-API-Key", key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	_, created := post("k2", "/api/sessions", "")
	sid, _ := created["session_id"].(string)
	if code, res := post("k2", "/api/sessions/"+sid+"/run", `{"language": "python", "code": "open('keep.txt', 'w').write('mine')"}`); code != 200 {
		t.Fatalf("k2 run: %d %v", code, res)
	}
	for i := range 100 {
		if code, res := post("k1", "/api/sessions", ""); code != http.StatusCreated {
			t.Fatalf("k1 create %d: %d %v", i, code, res)
		}
	}
	code, res := post("k2", "/api/sessions/"+sid+"/run", `{"language": "python", "code": "print(open('keep.txt').read())"}`)
	if code != 200 || res["stdout"] != "mine\n" {
		t.Errorf("k2's session after k1's burst: %d %v", code, res)
	}
	if n := len(f.mgr.List(front.Caller{Key: "k1"}.Owner())); n != 5 {
		t.Errorf("k1 holds %d sessions, want its cap of 5", n)
	}
}

// TestServer_bodyDeadline: a client that announces a body and never sends it loses its
// connection after BodyTimeout, on any route; one that sends it keeps a long request.
func TestServer_bodyDeadline(t *testing.T) {
	f := newFixture(t, front.Config{BodyTimeout: 500 * time.Millisecond})
	for _, path := range []string{"/healthz", "/api/sessions", "/mcp"} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(f.http.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", path)
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		start := time.Now()
		io.Copy(io.Discard, conn) // whatever the answer, the server must close the connection
		if took := time.Since(start); took > 20*time.Second {
			t.Errorf("%s: connection held %s", path, took)
		}
		conn.Close()
	}
	// A run longer than BodyTimeout, whose body arrived at once, completes.
	_, created := postJSON(t, f, "/api/sessions", "")
	sid, _ := created["session_id"].(string)
	code, res := postJSON(t, f, "/api/sessions/"+sid+"/run", `{"language": "python", "code": "import time; time.sleep(1.5); print('done')"}`)
	if code != 200 || res["stdout"] != "done\n" {
		t.Errorf("long run: %d %v", code, res)
	}
}

func postJSON(t *testing.T, f *fixture, path, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(f.http.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}
