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
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	mcplib "github.com/mark3labs/mcp-go/mcp"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"wasmbox/cluster"
	"wasmbox/internal/clustertest"
)

// startReplicas starts n `wasmbox serve` replicas in cluster mode on a real S3-compatible
// server (SeaweedFS) and Debian's redis-server, each with its own data directory and its own
// copy of the binary (so each one's workers are told apart).
func startReplicas(t *testing.T, n int, env ...string) ([]*hostileServer, *clustertest.S3, *clustertest.Redis) {
	t.Helper()
	s3 := clustertest.StartS3(t)
	rd := clustertest.StartRedis(t)
	base := append(s3.Env(), "WASMBOX_STORE=s3://"+s3.Bucket+"/cluster", "WASMBOX_REDIS_URL="+rd.URL)
	built := buildBinary(t)
	var out []*hostileServer
	for range n {
		dir := t.TempDir()
		bin := filepath.Join(dir, "wasmbox")
		copyFile(t, built, bin)
		out = append(out, startServerBin(t, bin, filepath.Join(dir, "data"), -1, append(append([]string{}, base...), env...)...))
	}
	return out, s3, rd
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestCluster_replicas: three replicas share sessions through the store. A conversation whose
// calls land on every replica keeps its variables and files; the replica that ran it last is
// killed (SIGKILL) and the next call, on another, has the last completed run's state; a
// replica stopped (SIGSTOP) past its lease in the middle of a run cannot commit over its
// successor's state when it resumes.
func TestCluster_replicas(t *testing.T) {
	r, _, _ := startReplicas(t, 3, "EXECUTION_TIMEOUT=40")
	for _, s := range r {
		s.timeout = 40 * time.Second
		if _, iso := s.info(); !strings.Contains(iso["cluster"], "shared object store") {
			t.Fatalf("replica not in cluster mode: %v", iso)
		}
	}
	id := r[0].session()
	mustOK := func(s *hostileServer, lang, code, want string) {
		t.Helper()
		res := s.run(id, lang, code)
		if res.kind() != "ok" || !strings.Contains(res.Stdout, want) || strings.Contains(res.Stderr, "[wasmbox]") {
			t.Fatalf("%s on %s: %.800s", code, s.url, res.raw)
		}
	}
	mustOK(r[1], "python", "import pandas as pd\nx = 41\ndf = pd.DataFrame({'v': [1, 2]})\nopen('f.txt', 'w').write('hello')", "")
	mustOK(r[2], "python", "x += 1\nprint(x, df.v.sum(), open('f.txt').read())", "42 3 hello")
	mustOK(r[0], "bash", "cat f.txt; echo ' world' >> f.txt", "hello")
	mustOK(r[1], "python", "print(x, repr(open('f.txt').read()))", "42 'hello world\\n'")
	mustOK(r[2], "javascript", "globalThis.j = 7; console.log('js')", "js")

	// The replica that ran last dies; another has everything the completed runs did.
	syscall.Kill(-r[2].cmd.Process.Pid, syscall.SIGKILL)
	r[2].cmd.Wait()
	mustOK(r[0], "python", "x += 1\nprint(x, df.v.sum())", "43 3")
	mustOK(r[1], "python", "print(x)", "43")

	// r[0] runs a slow cell and is stopped past its lease; r[1] takes the session over and
	// commits; r[0] resumes, finishes its run, and must not overwrite r[1]'s state.
	var wg sync.WaitGroup
	var stale runResult
	wg.Add(1)
	go func() {
		defer wg.Done()
		stale, _ = r[0].tryRun(id, "python", "import time\ntime.sleep(2)\nx = -1\nopen('f.txt', 'w').write('stale')\nprint('stale run done')")
	}()
	time.Sleep(500 * time.Millisecond)
	syscall.Kill(r[0].cmd.Process.Pid, syscall.SIGSTOP)
	mustOK(r[1], "python", "x = 100\nprint('took over')", "took over") // waits for the lease to expire
	syscall.Kill(r[0].cmd.Process.Pid, syscall.SIGCONT)
	wg.Wait()
	if !strings.Contains(stale.Stdout, "stale run done") || !strings.Contains(stale.Stderr, "could not be saved") {
		t.Errorf("the stopped replica's run: %.800s", stale.raw)
	}
	mustOK(r[1], "python", "print(x, open('f.txt').read())", "100 hello world")
	mustOK(r[0], "python", "print(x, open('f.txt').read())", "100 hello world")
}

// startRoundRobin starts Debian's nginx in front of the replicas, round robin, no stickiness
// (but SSE streams and their messages by client address); it returns the proxy's base URL.
func startRoundRobin(t *testing.T, replicas []*hostileServer) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var servers strings.Builder
	for _, r := range replicas {
		fmt.Fprintf(&servers, "    server %s max_fails=0;\n", strings.TrimPrefix(r.url, "http://"))
	}
	startNginx(t, fmt.Sprintf(`  upstream wasmbox {
%[2]s  }
  # SSE: a stream and the messages posted for it must reach one replica.
  upstream wasmbox_sse {
    hash $remote_addr consistent;
%[2]s  }
  server {
    listen %[1]s;
    location ~ ^/(sse|message|gradio_api/mcp/) {
      proxy_pass http://wasmbox_sse;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_buffering off;
      proxy_read_timeout 120s;
    }
    location / {
      proxy_pass http://wasmbox;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_buffering off;
      proxy_read_timeout 120s;
      proxy_next_upstream off;
    }
  }
`, addr, servers.String()), "http://"+addr+"/healthz")
	return "http://" + addr
}

// TestCluster_behindNginx: three replicas behind nginx's round robin. One MCP connection over
// streamable HTTP (mcp-go's client), whose requests land on every replica, keeps its session's
// variables and files; a file uploaded through one replica is read and downloaded through the
// others; a session deleted through one is gone on all of them, and its objects are removed.
func TestCluster_behindNginx(t *testing.T) {
	r, s3, _ := startReplicas(t, 3, "EXECUTION_TIMEOUT=40")
	base := startRoundRobin(t, r)

	c, err := client.NewStreamableHttpClient(base + "/mcp")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	init := mcplib.InitializeRequest{}
	init.Params.ProtocolVersion = mcplib.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcplib.Implementation{Name: "cluster-test", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatal(err)
	}
	call := func(tool string, args map[string]any) map[string]any {
		t.Helper()
		req := mcplib.CallToolRequest{}
		req.Params.Name, req.Params.Arguments = tool, args
		res, err := c.CallTool(ctx, req)
		if err != nil {
			t.Fatalf("%s: %v", tool, err)
		}
		out, _ := res.StructuredContent.(map[string]any)
		if res.IsError {
			t.Fatalf("%s %v: %v %v", tool, args, res.Content, out)
		}
		return out
	}
	out := call("execute_python_code", map[string]any{"code": "n = 1\nopen('notes.txt', 'w').write('a')\nprint('made')"})
	id, _ := out["session_id"].(string)
	if id == "" {
		t.Fatalf("no session id: %v", out)
	}
	// Six more calls: round robin puts two on each replica.
	for i := 2; i <= 7; i++ {
		out = call("execute_python_code", map[string]any{"session_id": id,
			"code": "n += 1\nopen('notes.txt', 'a').write('b')\nprint(n, open('notes.txt').read())"})
		want := fmt.Sprintf("%d a%s\n", i, strings.Repeat("b", i-1))
		if out["stdout"] != want {
			t.Fatalf("call %d: stdout %q, want %q (%v)", i, out["stdout"], want, out)
		}
	}

	// MCP over SSE through the proxy: the stream and its messages go to one replica (by the
	// client's address), while the session's runs are forwarded to the replica holding it.
	sse, err := client.NewSSEMCPClient(base + "/sse")
	if err != nil {
		t.Fatal(err)
	}
	defer sse.Close()
	if err := sse.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := sse.Initialize(ctx, init); err != nil {
		t.Fatalf("initialize over SSE through the proxy: %v", err)
	}
	for i := 8; i <= 10; i++ {
		req := mcplib.CallToolRequest{}
		req.Params.Name = "execute_python_code"
		req.Params.Arguments = map[string]any{"session_id": id, "code": "n += 1\nprint(n)"}
		res, err := sse.CallTool(ctx, req)
		if err != nil || res.IsError {
			t.Fatalf("run over SSE: %v %v", err, res)
		}
		if out, _ := res.StructuredContent.(map[string]any); out["stdout"] != fmt.Sprintf("%d\n", i) {
			t.Fatalf("run over SSE: %v", out)
		}
	}

	// The replicas' internal path takes only calls signed with the cluster's key: a forged or
	// unsigned one is refused before its body is read, and runs nothing.
	for _, hdr := range []map[string]string{{}, {"X-Wasmbox-Cluster-Time": fmt.Sprint(time.Now().Unix()), "X-Wasmbox-Cluster-Auth": strings.Repeat("0", 64)}} {
		body := fmt.Sprintf(`{"session_id":%q,"request":{"Code":"n = -1","Language":"python"}}`, id)
		req, _ := http.NewRequest(http.MethodPost, base+"/internal/cluster/run", strings.NewReader(body))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("an unsigned internal call (%v): %d, want 403", hdr, resp.StatusCode)
		}
	}

	// Every replica reports the whole history, whichever ran the calls.
	for _, s := range r {
		resp, err := http.Get(s.url + "/api/sessions/" + id + "/history")
		if err != nil {
			t.Fatal(err)
		}
		var h struct {
			History []struct {
				Code string `json:"code"`
			} `json:"history"`
		}
		json.NewDecoder(resp.Body).Decode(&h)
		resp.Body.Close()
		if len(h.History) != 10 || !strings.Contains(h.History[9].Code, "print(n)") {
			t.Fatalf("history through %s: %d entries %v", s.url, len(h.History), h.History)
		}
	}

	// Files through different replicas (the JSON API, each request to a named replica).
	if code := r[0].upload(id, "data/in.csv", []byte("x,y\n1,2\n")); code != http.StatusOK && code != http.StatusCreated {
		t.Fatalf("upload through replica 0: %d", code)
	}
	if res := r[1].run(id, "python", "import pandas as pd\nprint(pd.read_csv('data/in.csv').x.sum() + n)"); res.Stdout != "11\n" {
		t.Fatalf("uploaded file on replica 1: %s", res.raw)
	}
	resp, err := http.Get(r[2].url + "/api/sessions/" + id + "/files/notes.txt")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "abbbbbb" {
		t.Fatalf("download through replica 2: %d %q", resp.StatusCode, body)
	}

	// Deleted through one replica: gone on every one.
	r[2].delete(id)
	for i, s := range r {
		deadline := time.Now().Add(30 * time.Second)
		for {
			res := s.run(id, "python", "print(n)")
			if res.status == http.StatusNotFound {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("replica %d still runs the deleted session: %s", i, res.raw)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	store, err := cluster.OpenObjects(cluster.StoreConfig{Bucket: s3.Bucket, Prefix: "cluster/",
		Endpoint: strings.TrimPrefix(s3.Endpoint, "http://"), Creds: credentials.NewStaticV4(s3.AccessKey, s3.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		keys, err := store.List(ctx, "sessions/"+id+"/")
		if err == nil && len(keys) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the deleted session's objects are still in the store: %v %v", keys, err)
		}
	}
}

// TestCluster_failures: Redis restarted (losing every key), the object store stopped for a
// while, and a replica drained by a graceful stop. Calls fail with a retryable error or
// succeed; no replica dies; every session keeps the state of its last completed run.
func TestCluster_failures(t *testing.T) {
	r, s3, rd := startReplicas(t, 3, "EXECUTION_TIMEOUT=40")
	const n = 6
	ids := make([]string, n)
	for i := range ids {
		s := r[i%3]
		s.timeout = 40 * time.Second
		ids[i] = s.session()
		code := fmt.Sprintf("v = %d\nopen('f.txt', 'w').write(str(v))\nprint('ok')", i)
		if res := s.run(ids[i], "python", code); res.Stdout != "ok\n" {
			t.Fatalf("session %d: %s", i, res.raw)
		}
	}
	// check asks each session, through the given replicas in turn, for its state, retrying
	// answers that say to try again, until limit.
	check := func(stage string, via []*hostileServer, limit time.Duration) {
		t.Helper()
		for i, id := range ids {
			deadline := time.Now().Add(limit)
			for try := 0; ; try++ {
				s := via[(i+try)%len(via)]
				res, err := s.tryRun(id, "python", "print(v, open('f.txt').read())")
				want := fmt.Sprintf("%d %d\n", i, i)
				if err == nil && res.status == http.StatusOK && res.Stdout == want {
					break
				}
				retryable := err == nil && res.status == http.StatusServiceUnavailable
				if !retryable || time.Now().After(deadline) {
					t.Fatalf("%s: session %d through %s: %v %.600s", stage, i, s.url, err, res.raw)
				}
				time.Sleep(250 * time.Millisecond)
			}
		}
	}
	check("before", r, time.Minute)

	// Redis loses everything: leases, generations, the secrets. Calls meanwhile fail as
	// retryable; afterwards the replicas carry on.
	rd.Stop()
	if res, err := r[0].tryRun(ids[1], "python", "print(v)"); err != nil || res.status != http.StatusServiceUnavailable && res.status != http.StatusOK {
		t.Errorf("a call while Redis is down: %v %.400s", err, res.raw)
	}
	rd.Start()
	check("after Redis restarted", r, time.Minute)

	// The object store stops answering for 3 s during calls: they succeed (the commit waits)
	// or say their changes were not saved; nothing committed is lost.
	s3.Pause()
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := r[i].tryRun(ids[i], "python", "w = 1")
			if err != nil || res.status != http.StatusOK && res.status != http.StatusServiceUnavailable {
				t.Errorf("a call while the store is stopped: %v %.400s", err, res.raw)
			}
		}()
	}
	time.Sleep(3 * time.Second)
	s3.Resume()
	wg.Wait()
	check("after the store came back", r, time.Minute)

	// A replica drained (SIGTERM): it gives its sessions up, and the others serve them all.
	r[0].stop()
	check("after replica 0 was drained", r[1:], time.Minute)
	for _, s := range r[1:] {
		if s.cmd.ProcessState != nil {
			t.Errorf("replica %s exited: %s", s.url, s.logs.String())
		}
	}
}

// TestCluster_drain200: 200 sessions made across three replicas, each with a file of its own;
// one replica is drained (SIGTERM) and every session still answers, with its file, through the
// other two.
func TestCluster_drain200(t *testing.T) {
	r, _, _ := startReplicas(t, 3, "MAX_SESSIONS=1000", "WASMBOX_MAX_SESSIONS_PER_OWNER=1000")
	const n = 200
	ids := make([]string, n)
	for i := range ids {
		s := r[i%3]
		ids[i] = s.session()
		if code := s.upload(ids[i], "mine.txt", []byte(fmt.Sprintf("session %d", i))); code != http.StatusOK && code != http.StatusCreated {
			t.Fatalf("upload to session %d: %d", i, code)
		}
	}
	r[0].stop()
	for i, id := range ids {
		s := r[1+i%2]
		var body []byte
		status := 0
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			resp, err := http.Get(s.url + "/api/sessions/" + id + "/files/mine.txt")
			if err == nil {
				body, _ = io.ReadAll(resp.Body)
				resp.Body.Close()
				status = resp.StatusCode
			}
			if status == http.StatusOK || status != http.StatusServiceUnavailable && status != 0 || time.Now().After(deadline) {
				break
			}
		}
		if status != http.StatusOK || string(body) != fmt.Sprintf("session %d", i) {
			t.Fatalf("session %d through %s after the drain: %d %q", i, s.url, status, body)
		}
	}
}

// storeObjects opens the test's object store as the replicas see it (prefix "cluster/").
func storeObjects(t *testing.T, s3 *clustertest.S3) *cluster.Objects {
	t.Helper()
	store, err := cluster.OpenObjects(cluster.StoreConfig{Bucket: s3.Bucket, Prefix: "cluster/",
		Endpoint: strings.TrimPrefix(s3.Endpoint, "http://"), Creds: credentials.NewStaticV4(s3.AccessKey, s3.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	return store
}

// listed is the ids of the caller's sessions as a replica lists them (GET /api/sessions, what
// list_execution_sessions shows), with their run counts.
func (s *hostileServer) listed() map[string]int {
	s.t.Helper()
	resp, err := http.Get(s.url + "/api/sessions")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		Sessions []struct {
			ID   string `json:"session_id"`
			Runs int    `json:"runs"`
		} `json:"sessions"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.StatusCode != http.StatusOK {
		s.t.Fatalf("list sessions: %d %v", resp.StatusCode, err)
	}
	out := map[string]int{}
	for _, e := range v.Sessions {
		out[e.ID] = e.Runs
	}
	return out
}

// TestCluster_directory: the cluster's session directory, on hosts without user namespaces
// (Landlock and seccomp only, as on a Space). Every replica lists all of a client's sessions,
// whichever replica made or ran them; the per-client cap counts every replica's sessions (a
// fourth session evicts the client's least recently used one from the store); after Redis loses
// its data the directory is listed again from the store; sessions nobody calls again are
// deleted from the store after their TTL.
func TestCluster_directory(t *testing.T) {
	r, s3, rd := startReplicas(t, 3, "EXECUTION_TIMEOUT=40", "WASMBOX_MAX_SESSIONS_PER_OWNER=3", "SESSION_TTL=40",
		"WASMBOX_DISABLE_LAYERS=namespaces")
	if _, iso := r[0].info(); !strings.HasPrefix(iso["namespaces"], "unavailable") {
		t.Fatalf("namespaces not turned off: %v", iso)
	}
	ids := make([]string, 3)
	for i := range ids {
		r[i].timeout = 40 * time.Second
		ids[i] = r[i].session()
	}
	if res := r[1].run(ids[0], "python", "x = 1\nprint('set')"); res.Stdout != "set\n" {
		t.Fatalf("python: %s", res.raw)
	}
	if res := r[2].run(ids[1], "bash", "echo hi > f.txt; cat f.txt; ls /"); !strings.HasPrefix(res.Stdout, "hi\n") || strings.Contains(res.Stdout, "etc") {
		t.Fatalf("bash (confined to its workspace): %s", res.raw)
	}
	if res := r[0].run(ids[0], "python", "print(x)"); res.Stdout != "1\n" {
		t.Fatalf("python on another replica: %s", res.raw)
	}
	// ids[2] is now the least recently used.
	if res := r[1].run(ids[1], "python", "print(open('f.txt').read())"); res.Stdout != "hi\n\n" {
		t.Fatalf("a file on another replica: %s", res.raw)
	}
	for _, s := range r {
		got := s.listed()
		if len(got) != 3 || got[ids[0]] != 2 || got[ids[1]] != 2 || got[ids[2]] != 0 {
			t.Fatalf("%s lists %v; want %v with 2, 2 and 0 runs", s.url, got, ids)
		}
	}

	// A fourth session of the same client, on another replica than the one that made the
	// least recently used: that one is removed from the store.
	fourth := r[1].session()
	store := storeObjects(t, s3)
	ctx := context.Background()
	if keys, err := store.List(ctx, "sessions/"+ids[2]+"/"); err != nil || len(keys) != 0 {
		t.Fatalf("the evicted session's objects: %v %v", keys, err)
	}
	for _, s := range r {
		if res, err := s.tryRun(ids[2], "python", "1"); err != nil || res.status != http.StatusNotFound {
			t.Fatalf("the evicted session on %s: %v %.400s", s.url, err, res.raw)
		}
	}
	want := map[string]bool{ids[0]: true, ids[1]: true, fourth: true}
	same := func(got map[string]int) bool {
		if len(got) != len(want) {
			return false
		}
		for id := range got {
			if !want[id] {
				return false
			}
		}
		return true
	}
	for _, s := range r {
		if got := s.listed(); !same(got) {
			t.Fatalf("%s lists %v after the eviction; want %v", s.url, got, want)
		}
	}

	// Redis loses everything: within a sweep the directory lists the store's sessions again.
	rd.Stop()
	rd.Start()
	for i, deadline := 0, time.Now().Add(90*time.Second); ; i++ {
		if got := r[i%3].listed(); same(got) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after Redis lost its data, the replicas list %v %v %v; want %v", r[0].listed(), r[1].listed(), r[2].listed(), want)
		}
		time.Sleep(500 * time.Millisecond)
	}

	// Nobody calls them again: the sweep deletes them from the store after the TTL (40 s).
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(time.Second) {
		keys, err := store.List(ctx, "sessions/")
		if err == nil && len(keys) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sessions idle past their TTL are still in the store: %d objects, %v", len(keys), err)
		}
	}
	for _, s := range r {
		if got := s.listed(); len(got) != 0 {
			t.Fatalf("%s lists %v after every session expired", s.url, got)
		}
		if res, err := s.tryRun(ids[0], "python", "1"); err != nil || res.status != http.StatusNotFound {
			t.Fatalf("an expired session on %s: %v %.400s", s.url, err, res.raw)
		}
	}
}

// TestCluster_rateLimit: a client's requests are counted by every replica together
// (RATE_LIMIT_PER_MINUTE is per client, not per replica); while Redis is down each replica
// limits on its own.
func TestCluster_rateLimit(t *testing.T) {
	r, _, rd := startReplicas(t, 2, "RATE_LIMIT_PER_MINUTE=6")
	status := func(s *hostileServer) int {
		t.Helper()
		resp, err := http.Get(s.url + "/api/info")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range 6 {
		if code := status(r[i%2]); code != http.StatusOK {
			t.Fatalf("request %d of 6 a minute: %d", i+1, code)
		}
	}
	for _, s := range r {
		if code := status(s); code != http.StatusTooManyRequests {
			t.Fatalf("a 7th request through %s: %d, want 429", s.url, code)
		}
	}
	rd.Stop()
	for i := range 6 {
		if code := status(r[0]); code != http.StatusOK {
			t.Fatalf("with Redis down, request %d of this replica's own 6: %d", i+1, code)
		}
	}
	if code := status(r[0]); code != http.StatusTooManyRequests {
		t.Fatalf("with Redis down, a 7th request: %d, want 429", code)
	}
}

// TestCluster_commitAfterAnswer: with WASMBOX_CHECKPOINT=after-answer a run is answered before
// its commit, and nothing else changes: the next call, on any replica, sees the run (it waits
// for the commit), a burst of calls across replicas loses none, and a replica stopped
// gracefully right after answering commits before it exits.
func TestCluster_commitAfterAnswer(t *testing.T) {
	r, _, _ := startReplicas(t, 2, "EXECUTION_TIMEOUT=40", "WASMBOX_CHECKPOINT=after-answer")
	for _, s := range r {
		s.timeout = 40 * time.Second
	}
	id := r[0].session()
	if res := r[0].run(id, "python", "x = 0\nopen('n.txt', 'w').write('0')\nprint('ok')"); res.Stdout != "ok\n" {
		t.Fatalf("first run: %s", res.raw)
	}
	for i := 1; i <= 10; i++ {
		res := r[i%2].run(id, "python", "x += 1\nopen('n.txt', 'w').write(str(x))\nprint(x)")
		if want := fmt.Sprintf("%d\n", i); res.Stdout != want || res.Stderr != "" {
			t.Fatalf("call %d through %s: %s, want %q", i, r[i%2].url, res.raw, want)
		}
	}
	// The holder (which ran the last call) stops gracefully at once: its last commit lands.
	holder := r[0]
	other := r[1]
	if res := holder.run(id, "python", "x += 100\nprint(x)"); res.Stdout != "110\n" {
		t.Fatalf("before the stop: %s", res.raw)
	}
	holder.stop()
	res := other.run(id, "python", "print(x, open('n.txt').read())")
	if res.Stdout != "110 10\n" {
		t.Fatalf("after the holder stopped: %s", res.raw)
	}
}

// TestCluster_libreChat: LibreChat's own client package (@librechat/agents, pinned in
// mcp/e2e/librechat) against three replicas behind nginx's round robin: a conversation with
// statefulSessions keeps its variables, and files pass between Python and bash, while its calls
// land on every replica (mcp/e2e/librechat/cluster.mjs).
func TestCluster_libreChat(t *testing.T) {
	dir, err := filepath.Abs("../../mcp/e2e/librechat")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@librechat", "agents")); err != nil {
		// A missing client fails: a silent skip would read as a pass.
		t.Fatalf("LibreChat's client is not installed: run `make node-deps` (npm ci in mcp/e2e/librechat): %v", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is needed: %v", err)
	}
	r, _, _ := startReplicas(t, 3, "EXECUTION_TIMEOUT=40")
	base := startRoundRobin(t, r)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-concurrency=1", "cluster.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "WASMBOX_URL="+base)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("LibreChat's client through the cluster: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	// The calls were spread: every replica answered some of them.
	for _, s := range r {
		resp, err := http.Get(s.url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		served := false
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "wasmbox_http_post_duration_seconds_count{") && strings.Contains(line, `route="librechat"`) &&
				!strings.HasSuffix(line, " 0") {
				served = true
			}
		}
		if !served {
			t.Errorf("replica %s answered none of LibreChat's calls", s.url)
		}
	}
}
