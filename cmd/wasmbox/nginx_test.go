package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	mcplib "github.com/mark3labs/mcp-go/mcp"
)

// TestNginx puts Debian's nginx in front of wasmbox under /prefix/, as a Hugging Face Space or
// a self-hosted proxy would: two users behind it get separate rate buckets and keyless owners,
// MCP over SSE works under the prefix, the playground's links resolve under it, and a Host the
// server was configured for is accepted while another is refused.
func TestNginx(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nginx and a server")
	}
	s := startHostileServer(t, "WASMBOX_TRUSTED_PROXIES=127.0.0.1/32", "RATE_LIMIT_PER_MINUTE=5",
		"WASMBOX_ALLOWED_HOSTS=wasmbox.test,127.0.0.2") // the name clients call the proxy by
	upstream := strings.TrimPrefix(s.url, "http://")

	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.2: %v", err)
	}
	front := ln.Addr().String()
	ln.Close()
	startNginx(t, fmt.Sprintf(`
  server {
    listen %[1]s;
    location /prefix/ {
      proxy_pass http://%[2]s/;
      proxy_http_version 1.1;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Prefix /prefix;
      proxy_buffering off;
      proxy_read_timeout 120s;
    }
  }
`, front, upstream), "http://"+front+"/prefix/api/info")
	base := "http://" + front + "/prefix"

	// Two users, each from its own address, both through nginx.
	user := func(ip string) *http.Client {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
		return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	}
	alice, bob := user("127.0.0.3"), user("127.0.0.4")
	do := func(c *http.Client, method, path, host string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, nil)
		if host != "" {
			req.Host = host
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	if code, _ := do(alice, "POST", "/api/sessions", "wasmbox.test"); code != http.StatusCreated {
		t.Fatalf("alice creates a session: %d", code)
	}
	if _, list := do(bob, "GET", "/api/sessions", "wasmbox.test"); list["count"] != float64(0) {
		t.Errorf("bob sees alice's sessions: %v", list)
	}
	if _, list := do(alice, "GET", "/api/sessions", "wasmbox.test"); list["count"] != float64(1) {
		t.Errorf("alice's own list: %v", list)
	}
	// Rate limit 5 a minute: alice has spent 2.
	for range 3 {
		do(alice, "GET", "/api/sessions", "wasmbox.test")
	}
	if code, _ := do(alice, "GET", "/api/sessions", "wasmbox.test"); code != http.StatusTooManyRequests {
		t.Errorf("alice's 6th request: %d, want 429", code)
	}
	if code, _ := do(bob, "GET", "/api/sessions", "wasmbox.test"); code != 200 {
		t.Errorf("bob after alice was limited: %d, want 200 (a bucket of his own)", code)
	}
	// A Host the server was configured for passes; another is refused.
	if code, _ := do(user("127.0.0.5"), "GET", "/api/info", "evil.test"); code != http.StatusForbidden {
		t.Errorf("Host evil.test: %d, want 403", code)
	}

	// The playground under the prefix: its links are relative, so they resolve under it.
	resp, err := user("127.0.0.6").Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), `src="static/app.js"`) {
		t.Errorf("playground page under the prefix: %d %.200s", resp.StatusCode, page)
	}
	for _, asset := range []string{"/static/app.js", "/static/style.css", "/static/dist/editor.js"} {
		r, err := user("127.0.0.6").Get(base + asset)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != 200 {
			t.Errorf("%s under the prefix: %d", asset, r.StatusCode)
		}
	}

	// MCP over SSE through nginx under the prefix: the endpoint event must carry it.
	c, err := client.NewSSEMCPClient(base + "/sse")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcplib.InitializeRequest{}
	init.Params.ProtocolVersion = mcplib.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcplib.Implementation{Name: "nginx-test", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatalf("initialize over SSE under /prefix/: %v", err)
	}
	req := mcplib.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = "execute_python_code", map[string]any{"code": "print(6*7)"}
	res, err := c.CallTool(ctx, req)
	if err != nil || res.IsError {
		t.Fatalf("run over SSE under /prefix/: %v %v", err, res)
	}
	if out, _ := res.StructuredContent.(map[string]any); out["stdout"] != "42\n" {
		t.Errorf("stdout %v", out)
	}
}

// startNginx runs Debian's nginx, stopped at the test's end, with servers (the body of its
// http block: upstreams and servers), and waits until probe answers 200.
func startNginx(t *testing.T, servers, probe string) {
	t.Helper()
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		if _, err = os.Stat("/usr/sbin/nginx"); err != nil {
			// A missing tool fails: a silent skip would read as a pass.
			t.Fatal("nginx is not installed (apt-get install nginx-light; .ci/run does)")
		}
		nginx = "/usr/sbin/nginx"
	}
	dir := t.TempDir()
	conf := fmt.Sprintf(`user root;
worker_processes 1;
error_log %[1]s/error.log;
pid %[1]s/nginx.pid;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
%[2]s}
`, dir, servers)
	os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644)
	cmd := exec.Command(nginx, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-g", "daemon off;")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	var logs strings.Builder
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(probe); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx did not come up: %s %s", logs.String(), b)
		}
	}
}
