package mcp

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	mcplib "github.com/mark3labs/mcp-go/mcp"

	"wasmbox/api"
	"wasmbox/front"
	"wasmbox/internal/fronttest"
	"wasmbox/librechat"
	"wasmbox/runtime"
	"wasmbox/runtime/bash"
	"wasmbox/runtime/javascript"
	"wasmbox/sessions"
)

func TestMain(m *testing.M) { fronttest.Main(m) }

type fixture struct {
	srv  *Server
	http *httptest.Server
	mgr  *sessions.Manager
}

// newFixture serves every front (tests here cross into the JSON API and the playground).
func newFixture(t *testing.T, cfg front.Config, opts ...sessions.Option) *fixture {
	t.Helper()
	var srv *Server
	fx := fronttest.Serve(t, cfg, func(f *front.Front) []front.Mount {
		srv = New(f)
		return []front.Mount{srv.Mount, api.New(f).Mount, librechat.New(f, nil).Mount}
	}, opts...)
	return &fixture{srv: srv, http: fx.HTTP, mgr: fx.Mgr}
}

func connect(t *testing.T, f *fixture, kind string, headers map[string]string) *client.Client {
	t.Helper()
	var c *client.Client
	var err error
	switch kind {
	case "streamable":
		c, err = client.NewStreamableHttpClient(f.http.URL+PathStreamable, transport.WithHTTPHeaders(headers))
	case "sse":
		c, err = client.NewSSEMCPClient(f.http.URL+PathSSE, transport.WithHeaders(headers))
	case "gradio-sse":
		c, err = client.NewSSEMCPClient(f.http.URL+PathGradio+"/sse", transport.WithHeaders(headers))
	}
	if err != nil {
		t.Fatal(err)
	}
	// The SSE stream lives as long as the context given to Start.
	if err := c.Start(context.Background()); err != nil {
		t.Fatalf("start %s: %v", kind, err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	init := mcplib.InitializeRequest{}
	init.Params.ProtocolVersion = mcplib.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcplib.Implementation{Name: "wasmbox-test", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatalf("initialize %s: %v", kind, err)
	}
	return c
}

func call(t *testing.T, c *client.Client, tool string, args map[string]any) *mcplib.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	req := mcplib.CallToolRequest{}
	req.Params.Name = tool
	req.Params.Arguments = args
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	return res
}

// structured decodes a result's structured content, and checks the text block holds the same JSON.
func structured[T any](t *testing.T, res *mcplib.CallToolResult) T {
	t.Helper()
	var v T
	b, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("structured content %s: %v", b, err)
	}
	if len(res.Content) == 0 {
		t.Fatal("no content blocks")
	}
	text, ok := res.Content[0].(mcplib.TextContent)
	if !ok {
		t.Fatalf("first block is %T, want text", res.Content[0])
	}
	var fromText T
	if err := json.Unmarshal([]byte(text.Text), &fromText); err != nil {
		t.Fatalf("text block is not the JSON result: %q", text.Text)
	}
	return v
}

func textOf(res *mcplib.CallToolResult) string {
	var sb strings.Builder
	for _, c := range res.Content {
		if t, ok := c.(mcplib.TextContent); ok {
			sb.WriteString(t.Text)
		}
	}
	return sb.String()
}

var wantTools = []string{"create_execution_session", "delete_session", "execute_bash_command", "execute_javascript_code",
	"execute_python_code", "get_execution_history", "get_system_info", "list_execution_sessions", "list_files", "read_file", "upload_file"}

func TestServer_transports(t *testing.T) {
	f := newFixture(t, front.Config{})
	for _, kind := range []string{"streamable", "sse", "gradio-sse"} {
		t.Run(kind, func(t *testing.T) {
			c := connect(t, f, kind, nil)
			tools, err := c.ListTools(context.Background(), mcplib.ListToolsRequest{})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, tool := range tools.Tools {
				names = append(names, tool.Name)
				if strings.HasPrefix(tool.Name, "execute_") && tool.OutputSchema.Type != "object" {
					t.Errorf("%s has no output schema", tool.Name)
				}
				if b, _ := json.Marshal(tool.OutputSchema); strings.Contains(string(b), `"null"`) {
					t.Errorf("%s's output schema has a null type: %s", tool.Name, b)
				}
			}
			sort.Strings(names)
			if strings.Join(names, ",") != strings.Join(wantTools, ",") {
				t.Errorf("tools %v, want %v", names, wantTools)
			}

			created := structured[sessionOutput](t, call(t, c, "create_execution_session", nil))
			first := call(t, c, "execute_python_code", map[string]any{"code": "x = 20", "session_id": created.SessionID})
			if first.IsError {
				t.Fatalf("first run failed: %s", textOf(first))
			}
			res := call(t, c, "execute_python_code", map[string]any{"code": "x + 22", "session_id": created.SessionID})
			out := structured[front.RunOutput](t, res)
			if res.IsError || !out.Success || out.Stdout != "42\n" || out.SessionID != created.SessionID {
				t.Errorf("state across calls: got %+v", out)
			}

			res = call(t, c, "execute_python_code", map[string]any{"code": "1/0", "session_id": created.SessionID})
			out = structured[front.RunOutput](t, res)
			if !res.IsError || out.Success || out.Error == nil || out.Error.Kind != "exception" || !strings.Contains(out.Stderr, "ZeroDivisionError") {
				t.Errorf("exception: got isError=%v %+v", res.IsError, out)
			}

			res = call(t, c, "execute_python_code", map[string]any{"code": "print('new')"})
			out = structured[front.RunOutput](t, res)
			if res.IsError || out.SessionID == "" || out.SessionID == created.SessionID {
				t.Errorf("run without session_id: got %+v, want a new session", out)
			}

			res = call(t, c, "execute_python_code", map[string]any{"code": "1", "session_id": strings.Repeat("0", 32)})
			if !res.IsError || !strings.Contains(textOf(res), "create_execution_session") {
				t.Errorf("unknown session: got isError=%v %q", res.IsError, textOf(res))
			}
			res = call(t, c, "execute_javascript_code", map[string]any{"code": "1"})
			if !res.IsError || !strings.Contains(textOf(res), "not available") {
				t.Errorf("javascript: got %q", textOf(res))
			}
			res = call(t, c, "execute_python_code", map[string]any{})
			if !res.IsError || !strings.Contains(textOf(res), "code") {
				t.Errorf("missing code: got %q", textOf(res))
			}

			hist := structured[historyOutput](t, call(t, c, "get_execution_history", map[string]any{"session_id": created.SessionID}))
			if len(hist.History) != 3 || hist.History[1].Code != "x + 22" || hist.History[2].ErrorKind != runtime.ErrException {
				t.Errorf("history: %+v", hist.History)
			}
			list := structured[listOutput](t, call(t, c, "list_execution_sessions", nil))
			if list.Count != 2 {
				t.Errorf("list: %d sessions, want the 2 this connection made", list.Count)
			}
			info := structured[front.SystemInfo](t, call(t, c, "get_system_info", nil))
			if info.Version != "test" || len(info.Languages) == 0 || info.TimeoutSeconds != 60 {
				t.Errorf("system info: %+v", info)
			}
			del := call(t, c, "delete_session", map[string]any{"session_id": created.SessionID})
			if del.IsError {
				t.Errorf("delete: %s", textOf(del))
			}
			res = call(t, c, "execute_python_code", map[string]any{"code": "x", "session_id": created.SessionID})
			if !res.IsError || !strings.Contains(textOf(res), "deleted") {
				t.Errorf("run in deleted session: %q", textOf(res))
			}
		})
	}
}

func TestServer_auth(t *testing.T) {
	f := newFixture(t, front.Config{APIKeys: []string{"key-a", "key-b"}})
	for _, tc := range []struct {
		name    string
		path    string
		headers map[string]string
		want    int
	}{
		{"no key", PathStreamable, nil, http.StatusUnauthorized},
		{"wrong key", PathStreamable, map[string]string{"Authorization": "Bearer nope"}, http.StatusUnauthorized},
		{"sse without key", PathSSE, nil, http.StatusUnauthorized},
		{"gradio without key", PathGradio + "/sse", nil, http.StatusUnauthorized},
		{"metrics without key", front.PathMetrics, nil, http.StatusUnauthorized},
		{"health stays open", front.PathHealth, nil, http.StatusOK},
		{"metrics with key", front.PathMetrics, map[string]string{"X-API-Key": "key-b"}, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, f.http.URL+tc.path, nil)
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tc.want, body)
			}
			if tc.want == http.StatusUnauthorized && !strings.Contains(string(body), `"error"`) {
				t.Errorf("401 body is not a JSON error: %s", body)
			}
		})
	}
	// Both header forms are accepted, on every transport.
	a := connect(t, f, "streamable", map[string]string{"Authorization": "Bearer key-a"})
	b := connect(t, f, "sse", map[string]string{"X-API-Key": "key-b"})
	a2 := connect(t, f, "gradio-sse", map[string]string{"X-API-Key": "key-a"})

	sa := structured[sessionOutput](t, call(t, a, "create_execution_session", nil))
	sb := structured[sessionOutput](t, call(t, b, "create_execution_session", nil))
	// Owner scoping: a key sees its own sessions on any connection, never another key's.
	for _, tc := range []struct {
		c    *client.Client
		want string
	}{{a, sa.SessionID}, {a2, sa.SessionID}, {b, sb.SessionID}} {
		list := structured[listOutput](t, call(t, tc.c, "list_execution_sessions", nil))
		if list.Count != 1 || list.Sessions[0].ID != tc.want {
			t.Errorf("list: got %+v, want only %s", list.Sessions, tc.want)
		}
	}
	// The id itself is the capability: b may use a's session when given its id.
	res := call(t, b, "execute_python_code", map[string]any{"code": "print('shared')", "session_id": sa.SessionID})
	if res.IsError {
		t.Errorf("run by id from another key: %s", textOf(res))
	}
}

func TestServer_evictionAndExpiry(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	f := newFixture(t, front.Config{}, sessions.WithMaxSessions(2), sessions.WithTTL(time.Hour), sessions.WithClock(clock))
	c := connect(t, f, "streamable", nil)

	s1 := structured[sessionOutput](t, call(t, c, "create_execution_session", nil))
	advance(time.Second)
	s2 := structured[sessionOutput](t, call(t, c, "create_execution_session", nil))
	advance(time.Second)
	call(t, c, "execute_python_code", map[string]any{"code": "1", "session_id": s1.SessionID})
	advance(time.Second)
	s3 := structured[sessionOutput](t, call(t, c, "create_execution_session", nil))
	res := call(t, c, "execute_python_code", map[string]any{"code": "1", "session_id": s2.SessionID})
	if !res.IsError || !strings.Contains(textOf(res), "evicted") {
		t.Errorf("least recently used session: got %q, want evicted", textOf(res))
	}
	advance(30 * time.Minute)
	call(t, c, "execute_python_code", map[string]any{"code": "1", "session_id": s3.SessionID})
	advance(45 * time.Minute)
	f.mgr.Reap()
	res = call(t, c, "execute_python_code", map[string]any{"code": "1", "session_id": s1.SessionID})
	if !res.IsError || !strings.Contains(textOf(res), "expired after 1h0m0s idle") {
		t.Errorf("idle session: got %q, want expired", textOf(res))
	}
	if res := call(t, c, "execute_python_code", map[string]any{"code": "1", "session_id": s3.SessionID}); res.IsError {
		t.Errorf("recently used session: %s", textOf(res))
	}
}

func TestServer_limits(t *testing.T) {
	f := newFixture(t, front.Config{RatePerMinute: 3, MaxCodeBytes: 1000})
	big := strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"` + strings.Repeat("a", 200<<10) + `"}}`)
	resp, err := http.Post(f.http.URL+PathStreamable, "application/json", big)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: status %d, want 413", resp.StatusCode)
	}
	got := 0
	for range 5 {
		resp, err := http.Get(f.http.URL + PathStreamable)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			got++
		}
	}
	if got < 2 {
		t.Errorf("rate limit: %d of 5 quick requests refused with 429, want at least 2", got)
	}
	// Health is not rate limited.
	for range 5 {
		resp, _ := http.Get(f.http.URL + front.PathHealth)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("health: %d", resp.StatusCode)
		}
	}
}

func TestServer_codeCap(t *testing.T) {
	f := newFixture(t, front.Config{MaxCodeBytes: 100})
	c := connect(t, f, "streamable", nil)
	res := call(t, c, "execute_python_code", map[string]any{"code": strings.Repeat("#", 101)})
	if !res.IsError || !strings.Contains(textOf(res), "limit is 100 bytes") {
		t.Errorf("code over the cap: %q", textOf(res))
	}
}

func TestServer_metrics(t *testing.T) {
	f := newFixture(t, front.Config{})
	c := connect(t, f, "streamable", nil)
	call(t, c, "execute_python_code", map[string]any{"code": "1"})
	call(t, c, "execute_python_code", map[string]any{"code": "1/0"})
	resp, err := http.Get(f.http.URL + front.PathMetrics)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`wasmbox_runs_total{language="python",outcome="success"} 1`,
		`wasmbox_runs_total{language="python",outcome="exception"} 1`,
		`wasmbox_run_duration_seconds_count{language="python"} 2`,
		`wasmbox_active_sessions 2`,
		`wasmbox_pool_size`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestServer_javascript(t *testing.T) {
	js, _ := javascript.New(runtime.JavaScript)
	ts, _ := javascript.New(runtime.TypeScript)
	f := newFixture(t, front.Config{}, sessions.WithEngine(js), sessions.WithEngine(ts))
	c := connect(t, f, "streamable", nil)
	first := structured[front.RunOutput](t, call(t, c, "execute_javascript_code", map[string]any{"code": "const xs = [3, 1, 2]; console.log(xs.sort())"}))
	if !first.Success || first.Stdout != "[ 1, 2, 3 ]\n" {
		t.Fatalf("javascript: %+v", first)
	}
	again := structured[front.RunOutput](t, call(t, c, "execute_javascript_code", map[string]any{"code": "xs.length", "session_id": first.SessionID}))
	if again.Stdout != "3\n" {
		t.Errorf("state across calls: %+v", again)
	}
	tsOut := structured[front.RunOutput](t, call(t, c, "execute_javascript_code", map[string]any{"code": "const n: number = 2; n ** 10", "language": "typescript", "session_id": first.SessionID}))
	if tsOut.Stdout != "1024\n" {
		t.Errorf("typescript: %+v", tsOut)
	}
	res := call(t, c, "execute_javascript_code", map[string]any{"code": "1", "language": "cobol"})
	if !res.IsError || !strings.Contains(textOf(res), "want javascript or typescript") {
		t.Errorf("bad language: %q", textOf(res))
	}
	res = call(t, c, "execute_javascript_code", map[string]any{"code": "null.x", "session_id": first.SessionID})
	out := structured[front.RunOutput](t, res)
	if !res.IsError || out.Error == nil || out.Error.Kind != "exception" || !strings.Contains(out.Stderr, "TypeError") {
		t.Errorf("exception: %+v", out)
	}
}

func TestServer_bash(t *testing.T) {
	sh, err := bash.New()
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, front.Config{}, sessions.WithEngine(sh))
	c := connect(t, f, "sse", nil)
	py := structured[front.RunOutput](t, call(t, c, "execute_python_code", map[string]any{"code": "open('data.csv', 'w').write('b,2\\na,1\\n')"}))
	out := structured[front.RunOutput](t, call(t, c, "execute_bash_command", map[string]any{"command": "sort data.csv | cut -d, -f1 | tr '\\n' ' '; X=kept", "session_id": py.SessionID}))
	if !out.Success || out.Stdout != "a b " {
		t.Fatalf("bash sees Python's file: %+v", out)
	}
	out = structured[front.RunOutput](t, call(t, c, "execute_bash_command", map[string]any{"command": "echo $X", "session_id": py.SessionID}))
	if out.Stdout != "kept\n" {
		t.Errorf("state across calls: %+v", out)
	}
	res := call(t, c, "execute_bash_command", map[string]any{"command": "curl http://example.com", "session_id": py.SessionID})
	out = structured[front.RunOutput](t, res)
	if !res.IsError || out.Error == nil || out.Error.Kind != "denied" {
		t.Errorf("denied: %+v", out)
	}
	res = call(t, c, "execute_bash_command", map[string]any{"code": "echo wrong parameter name"})
	if !res.IsError || !strings.Contains(textOf(res), `"command"`) {
		t.Errorf("missing command: %q", textOf(res))
	}
}

// TestServer_annotations: every tool's hints say what it does: the read-only tools are
// readOnlyHint and not destructiveHint; destructiveHint only where something may be deleted or
// replaced; idempotentHint where a repeated call changes nothing more; no tool reaches an open
// world.
func TestServer_annotations(t *testing.T) {
	f := newFixture(t, front.Config{})
	c := connect(t, f, "streamable", nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	list, err := c.ListTools(ctx, mcplib.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	type hints struct{ readOnly, destructive, idempotent, openWorld bool }
	want := map[string]hints{
		"execute_python_code":      {false, true, false, false},
		"execute_javascript_code":  {false, true, false, false},
		"execute_bash_command":     {false, true, false, false},
		"create_execution_session": {false, false, false, false},
		"list_execution_sessions":  {true, false, true, false},
		"get_execution_history":    {true, false, true, false},
		"delete_session":           {false, true, true, false},
		"get_system_info":          {true, false, true, false},
		"upload_file":              {false, true, true, false},
		"list_files":               {true, false, true, false},
		"read_file":                {true, false, true, false},
	}
	seen := 0
	for _, tool := range list.Tools {
		w, ok := want[tool.Name]
		if !ok {
			t.Errorf("tool %s has no expected annotations in this test", tool.Name)
			continue
		}
		seen++
		a := tool.Annotations
		if a.ReadOnlyHint == nil || a.DestructiveHint == nil || a.IdempotentHint == nil || a.OpenWorldHint == nil {
			t.Errorf("%s: a hint is unset: %+v", tool.Name, a)
			continue
		}
		got := hints{*a.ReadOnlyHint, *a.DestructiveHint, *a.IdempotentHint, *a.OpenWorldHint}
		if got != w {
			t.Errorf("%s: got %+v, want %+v", tool.Name, got, w)
		}
	}
	if seen != len(want) {
		t.Errorf("got %d of the %d tools", seen, len(want))
	}
}

// TestServer_bashUnavailable: where bash cannot run, its tool says so first in its description,
// get_system_info lists why, and every front answers a bash request with that one sentence.
func TestServer_bashUnavailable(t *testing.T) {
	const why = "bash cannot run on this server: its host cannot confine it."
	f := newFixture(t, front.Config{Unavailable: map[runtime.Language]string{runtime.Bash: why}})
	c := connect(t, f, "streamable", nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	list, err := c.ListTools(ctx, mcplib.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range list.Tools {
		if tool.Name == "execute_bash_command" && !strings.HasPrefix(tool.Description, "UNAVAILABLE on this server: "+why) {
			t.Errorf("bash tool description: got %q, want it to start with the reason", tool.Description)
		}
		if tool.Name == "execute_python_code" && strings.Contains(tool.Description, "UNAVAILABLE") {
			t.Errorf("python tool description says unavailable: %q", tool.Description)
		}
	}
	res := call(t, c, "execute_bash_command", map[string]any{"command": "echo hi"})
	if !res.IsError || textOf(res) != why {
		t.Errorf("MCP: got %v %q, want an error saying %q", res.IsError, textOf(res), why)
	}
	info := structured[front.SystemInfo](t, call(t, c, "get_system_info", nil))
	if info.Unavailable["bash"] != why {
		t.Errorf("system info: got %v, want bash: %q", info.Unavailable, why)
	}
	post := func(path, body string) (int, string) {
		resp, err := http.Post(f.http.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			Error string `json:"error"`
		}
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out.Error
	}
	s, _ := f.mgr.Create(front.Caller{Addr: "127.0.0.1"}.Owner())
	tests := []struct {
		name, path, body string
		want             string
	}{
		{"JSON API", "/api/sessions/" + s.ID + "/run", `{"language": "bash", "code": "echo hi"}`, why},
		{"LibreChat bash", librechat.Path + "/exec", `{"lang": "bash", "code": "echo hi"}`, why},
		{"LibreChat sh", librechat.Path + "/exec", `{"lang": "sh", "code": "echo hi"}`, why},
		{"LibreChat unknown", librechat.Path + "/exec", `{"lang": "cobol", "code": "x"}`, `unsupported language "cobol": this server runs python`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if code, msg := post(tc.path, tc.body); code != http.StatusBadRequest || msg != tc.want {
				t.Errorf("got %d %q, want 400 %q", code, msg, tc.want)
			}
		})
	}
}
