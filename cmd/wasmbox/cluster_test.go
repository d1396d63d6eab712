package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

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
	for i := range n {
		dir := t.TempDir()
		bin := filepath.Join(dir, "wasmbox")
		copyFile(t, built, bin)
		name := "replica-" + string(rune('a'+i))
		e := append(append([]string{}, base...), "WASMBOX_REPLICA="+name)
		out = append(out, startServerBin(t, bin, filepath.Join(dir, "data"), -1, append(e, env...)...))
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
