package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	mcplib "github.com/mark3labs/mcp-go/mcp"
)

// buildBinary builds wasmbox once per test binary run and returns a path to it.
func buildBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		built.bin = filepath.Join(binDir, "wasmbox")
		cmd := exec.Command("go", "build", "-o", built.bin, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0") // as make build: workers need it
		out, err := cmd.CombinedOutput()
		if err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	// A path of its own for each caller (a hard link, else a copy): the tests tell a server's
	// workers from other servers' by the path in their command line.
	bin := filepath.Join(t.TempDir(), "wasmbox")
	if err := os.Link(built.bin, bin); err != nil {
		data, err := os.ReadFile(built.bin)
		if err == nil {
			err = os.WriteFile(bin, data, 0o755)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return bin
}

// built is the binary buildBinary made, in binDir (made and removed by TestMain).
var (
	binDir string
	built  struct {
		once sync.Once
		bin  string
		err  error
	}
)

// TestStdio drives `wasmbox stdio` through mcp-go's stdio client.
func TestStdio(t *testing.T) {
	bin := buildBinary(t)
	env := append(os.Environ(), "WASMBOX_DATA_DIR="+t.TempDir(), "WASMBOX_POOL_SIZE=1", "EXECUTION_TIMEOUT=60")
	c, err := client.NewStdioMCPClient(bin, env, "stdio")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	init := mcplib.InitializeRequest{}
	init.Params.ProtocolVersion = mcplib.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcplib.Implementation{Name: "stdio-test", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatal(err)
	}
	tools, err := c.ListTools(ctx, mcplib.ListToolsRequest{})
	if err != nil || len(tools.Tools) != 11 {
		t.Fatalf("list tools: %v, %d tools", err, len(tools.Tools))
	}
	callTool := func(name string, args map[string]any) (*mcplib.CallToolResult, map[string]any) {
		req := mcplib.CallToolRequest{}
		req.Params.Name, req.Params.Arguments = name, args
		res, err := c.CallTool(ctx, req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var m map[string]any
		b, _ := json.Marshal(res.StructuredContent)
		json.Unmarshal(b, &m)
		return res, m
	}
	_, created := callTool("create_execution_session", nil)
	id, _ := created["session_id"].(string)
	callTool("execute_python_code", map[string]any{"code": "import math\nr = math.sqrt(16)", "session_id": id})
	res, out := callTool("execute_python_code", map[string]any{"code": "r * 10", "session_id": id})
	if res.IsError || out["stdout"] != "40.0\n" {
		t.Errorf("state over stdio: %+v", out)
	}
	res, out = callTool("execute_python_code", map[string]any{"code": "raise ValueError('bad')", "session_id": id})
	if !res.IsError || !strings.Contains(out["stderr"].(string), "ValueError: bad") {
		t.Errorf("exception over stdio: %+v", out)
	}
	_, info := callTool("get_system_info", nil)
	iso, _ := info["isolation"].(map[string]any)
	for _, layer := range []string{"landlock", "seccomp", "no_new_privs", "rlimits", "namespaces", "process", "python", "javascript", "bash"} {
		if v, _ := iso[layer].(string); v == "" {
			t.Errorf("get_system_info lacks the %s layer: %v", layer, iso)
		}
	}
	// Every kernel wasmbox runs on has these; Landlock and namespaces depend on the machine.
	for _, layer := range []string{"seccomp", "no_new_privs", "rlimits"} {
		if v, _ := iso[layer].(string); !strings.HasPrefix(v, "active") {
			t.Errorf("layer %s: %q, want active", layer, v)
		}
	}
	t.Logf("layers on this kernel: landlock=%q namespaces=%q", iso["landlock"], iso["namespaces"])
	res, _ = callTool("get_execution_history", map[string]any{"session_id": "0123"})
	if !res.IsError {
		t.Error("history of a malformed id succeeded")
	}
}

// TestServe starts `wasmbox serve`, checks it answers, and that SIGTERM shuts it down cleanly.
func TestServe(t *testing.T) {
	bin := buildBinary(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve", "--addr", addr, "--data-dir", t.TempDir())
	cmd.Env = append(os.Environ(), "WASMBOX_POOL_SIZE=0", "RATE_LIMIT_PER_MINUTE=0")
	var logs strings.Builder
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("healthz: %d", resp.StatusCode)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not come up: %s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The container health check sees it.
	var health strings.Builder
	if code := healthCmd(context.Background(), []string{"--url", "http://" + addr + "/healthz"}, &health, &health); code != 0 || !strings.Contains(health.String(), `"ok"`) {
		t.Errorf("healthcheck: exit %d: %s", code, health.String())
	}
	// The load command drives it over MCP.
	var load strings.Builder
	if code := loadCmd(context.Background(), []string{"--url", "http://" + addr + "/mcp", "--clients", "2", "--duration", "1s"}, &load, &load); code != 0 {
		t.Errorf("load: exit %d: %s", code, load.String())
	}
	if !strings.Contains(load.String(), "calls/s") || !strings.Contains(load.String(), "p99") {
		t.Errorf("load output: %s", load.String())
	}
	// A signal (the context's end) stops a load before its duration.
	sigCtx, cancelLoad := context.WithCancel(context.Background())
	stopped := make(chan int, 1)
	go func() {
		var out strings.Builder
		stopped <- loadCmd(sigCtx, []string{"--url", "http://" + addr + "/mcp", "--clients", "2", "--duration", "10m"}, &out, &out)
	}()
	time.Sleep(time.Second)
	cancelLoad()
	select {
	case <-stopped:
	case <-time.After(time.Minute):
		t.Fatal("load went on for a minute after its context ended")
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("no exit after SIGTERM")
	}
	if code := healthCmd(context.Background(), []string{"--url", "http://" + addr + "/healthz"}, &health, &health); code != 1 {
		t.Errorf("healthcheck of a stopped server: exit %d, want 1", code)
	}
	if !strings.Contains(logs.String(), "shutting down") {
		t.Errorf("logs lack the shutdown: %s", logs.String())
	}

	// A busy address is reported at once.
	busy, _ := net.Listen("tcp", "127.0.0.1:0")
	defer busy.Close()
	out, err := exec.Command(bin, "serve", "--addr", busy.Addr().String(), "--data-dir", t.TempDir()).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "address already in use") {
		t.Errorf("busy address: err %v, output %s", err, out)
	}

	// A data directory it cannot write is refused in one line that says what to change, before
	// any worker starts (read-only and foreign-owned volumes: mcp/e2e/image.test.mjs).
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	out, err = exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data-dir", filepath.Join(file, "data")).CombinedOutput()
	if lines := strings.Split(strings.TrimSpace(string(out)), "\n"); err == nil || len(lines) != 1 ||
		!strings.Contains(lines[0], "data directory") || !strings.Contains(lines[0], "WASMBOX_DATA_DIR") {
		t.Errorf("unusable data directory: err %v, output %s", err, out)
	}
}

func TestCheckDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "made", "here")
	links, err := checkDataDir(dir)
	if err != nil || !links {
		t.Fatalf("a fresh directory: links %v, err %v", links, err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("the probe left %v", left)
	}
}

func TestParseServiceFlags(t *testing.T) {
	env := map[string]string{"MAX_SESSIONS": "5", "SESSION_TTL": "90", "WASMBOX_API_KEYS": "a, b,,", "RATE_LIMIT_PER_MINUTE": "0"}
	c, err := parseServiceFlags("serve", []string{"--addr", ":9000"}, func(k string) string { return env[k] }, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	if c.addr != ":9000" || c.maxSessions != 5 || c.ttl != 90*time.Second || len(c.apiKeys) != 2 || c.ratePerMinute != 0 {
		t.Errorf("got %+v", c)
	}
	if c.perOwnerCap() != 2 || c.ownerRuns != 0 {
		t.Errorf("defaults: sessions per owner %d, want a quarter of 5 (at least 2); owner runs %d, want 0 (half the slots)", c.perOwnerCap(), c.ownerRuns)
	}
	if c.workers.resident != 0 || c.workers.snapshotCap != 256<<20 || c.libreChatJWT != nil {
		t.Errorf("defaults: resident %d, snapshot cap %d, token verifier %v", c.workers.resident, c.workers.snapshotCap, c.libreChatJWT)
	}
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(pub)
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	env = map[string]string{"MAX_RESIDENT_SESSIONS": "3", "WASMBOX_SNAPSHOT_MAX_MB": "8", "CODEAPI_JWT_PUBLIC_KEY": pemKey, "WASMBOX_OWNER_MAX_RUNS": "3",
		"WASMBOX_LOG_LEVEL": "debug", "WASMBOX_CHECKPOINT": "after-answer"}
	c, err = parseServiceFlags("serve", nil, func(k string) string { return env[k] }, os.Stderr)
	if err != nil || c.workers.resident != 3 || c.workers.snapshotCap != 8<<20 || c.libreChatJWT == nil || c.ownerRuns != 3 || c.logLevel != slog.LevelDebug || !c.commitAfterAnswer {
		t.Errorf("got %+v, owner runs %d, %v", c.workers, c.ownerRuns, err)
	}
	for _, bad := range []map[string]string{{"MAX_SESSIONS": "0"}, {"SESSION_TTL": "soon"}, {"WASMBOX_POOL_SIZE": "-1"}, {"MAX_CONCURRENT_EXECUTIONS": "x"},
		{"MAX_RESIDENT_SESSIONS": "-1"}, {"WASMBOX_SNAPSHOT_MAX_MB": "0"}, {"CODEAPI_JWT_PUBLIC_KEY": "not a key"},
		{"CODEAPI_JWT_JWKS_JSON": `{"keys": [{"kty": "OKP"}]}`}, {"CODEAPI_JWT_PUBLIC_KEY": pemKey, "CODEAPI_JWT_ALLOWED_ALGS": "HS256"},
		{"CODEAPI_JWT_PUBLIC_KEY_BASE64": "!!"}, {"WASMBOX_OWNER_MAX_RUNS": "-1"}, {"WASMBOX_OWNER_MAX_RUNS": "many"}, {"WASMBOX_LOG_LEVEL": "loud"}, {"WASMBOX_CHECKPOINT": "never"}} {
		if _, err := parseServiceFlags("serve", nil, func(k string) string { return bad[k] }, os.Stderr); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
