package main

import (
	"bytes"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"wasmbox/sessions"
)

// TestServe_restart: Python state survives a graceful restart (SIGTERM, start again on the
// same data directory): variables, imports, functions and pandas DataFrames come back from the
// session's snapshot, outside its workspace and its quota.
func TestServe_restart(t *testing.T) {
	data := t.TempDir()
	// Durability, not time: the first run after the restart starts a worker and restores
	// pandas, which a loaded machine may not do in the hostile tests' 3 s.
	slow := "EXECUTION_TIMEOUT=30"
	s1 := startServerIn(t, data, slow)
	id := s1.session()
	setup := "import statistics\nx = 42\ndef f(): return statistics.mean([x, 0])\n" +
		"import pandas as pd\ndf = pd.DataFrame({'k': list('abab'), 'v': range(4)})"
	if r := s1.run(id, "python", setup); r.kind() != "ok" {
		t.Fatalf("setup: %s", r.raw)
	}
	s1.stop()
	snap := filepath.Join(data, "sessions", id, sessions.SnapshotFile)
	fi, err := os.Stat(snap)
	if err != nil {
		t.Fatalf("no snapshot after SIGTERM: %v", err)
	}
	t.Logf("snapshot of a small session with a pandas DataFrame: %d bytes", fi.Size())
	if _, err := os.Stat(filepath.Join(data, "sessions", id, "workspace", sessions.SnapshotFile)); err == nil {
		t.Error("the snapshot is inside the workspace")
	}
	s2 := startServerIn(t, data, slow)
	r := s2.run(id, "python", "print(x, f(), df.groupby('k')['v'].sum().to_dict())")
	if r.kind() != "ok" || r.Stdout != "42 21 {'a': 2, 'b': 4}\n" || r.StateReset || !strings.Contains(r.raw, "state_restored") {
		t.Errorf("after the restart: %s", r.raw)
	}
}

// TestServe_kill9: a real server killed with SIGKILL at random points while its sessions run
// Python, take uploads and are frozen by a short idle time, twenty times over on one data
// directory. After each kill no worker is left, and after each restart every session comes
// back with its upload whole (some version, never a torn one) and its Python state either
// consistent (one run's values together: a snapshot from before the kill) or gone with a
// NameError (no snapshot taken yet); never an error of its own.
func TestServe_kill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills a server twenty times")
	}
	data := t.TempDir()
	env := []string{"WASMBOX_WORKER_IDLE=300ms", "WASMBOX_POOL_SIZE=1", "EXECUTION_TIMEOUT=30"}
	var ids []string
	var seen killOutcomes
	for round := range 20 {
		s := startServerIn(t, data, env...)
		if round == 0 {
			for range 3 {
				ids = append(ids, s.session())
			}
		} else {
			for _, id := range ids {
				seen.add(checkAfterKill(t, s, round, id))
			}
		}
		// Traffic in every session until the kill: runs that set a consistent state, uploads
		// of a versioned file, and pauses long enough for the idle freeze.
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for i, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := round*1000 + 1; ; n++ {
					select {
					case <-stop:
						return
					default:
					}
					s.tryRun(id, "python", fmt.Sprintf("n = %d\ns = 'v' * n\npair = [n, n * 2]", n))
					s.upload(id, "data.txt", killVersion(n))
					if (n+i)%3 == 0 {
						time.Sleep(time.Duration(400+mrand.IntN(400)) * time.Millisecond)
					}
				}
			}()
		}
		time.Sleep(time.Duration(500+mrand.IntN(2500)) * time.Millisecond)
		s.cmd.Process.Signal(syscall.SIGKILL)
		s.cmd.Wait()
		close(stop)
		wg.Wait()
		// The workers die with the server (Pdeathsig; their PID namespace).
		deadline := time.Now().Add(10 * time.Second)
		for len(workerPIDs(s.bin)) > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: workers outlived the killed server: %v", round, workerPIDs(s.bin))
			}
			time.Sleep(50 * time.Millisecond)
		}
		if t.Failed() {
			return
		}
	}
	s := startServerIn(t, data, env...)
	for _, id := range ids {
		seen.add(checkAfterKill(t, s, 20, id))
	}
	t.Logf("after 20 kills, 60 sessions checked: %d with their state from a snapshot, %d without state, %d with an upload", seen.restored, seen.empty, seen.files)
	// Freezes must have happened, or the test proved nothing about them.
	if seen.restored == 0 || seen.files == 0 {
		t.Errorf("no session came back with a snapshot or a file: %+v", seen)
	}
}

type killOutcomes struct{ restored, empty, files int }

func (k *killOutcomes) add(o killOutcomes) {
	k.restored += o.restored
	k.empty += o.empty
	k.files += o.files
}

// killVersion is the content of the uploaded file at version n: different in length for each,
// so a torn write shows.
func killVersion(n int) []byte {
	return bytes.Repeat([]byte(fmt.Sprintf("version %d;", n)), 1000+n%997)
}

func checkAfterKill(t *testing.T, s *hostileServer, round int, id string) (seen killOutcomes) {
	t.Helper()
	// A snapshot on disk must be read back (state_restored), whatever it holds: it may be of
	// a state from before any traffic run (frozen while other sessions were checked).
	_, statErr := os.Stat(filepath.Join(s.data, "sessions", id, sessions.SnapshotFile))
	snapshot := statErr == nil
	r := s.run(id, "python", "print(n, len(s) == n, pair == [n, n * 2])")
	if snapshot && (r.StateReset || !strings.Contains(r.raw, `"state_restored":"Python state restored`)) {
		t.Errorf("round %d: session %s: its snapshot did not come back: %s", round, id[:8], r.raw)
	}
	switch {
	case r.status == http.StatusNotFound:
		t.Errorf("round %d: session %s did not come back: %s", round, id[:8], r.raw)
		return
	case r.kind() == "ok":
		seen.restored++
		if !strings.HasSuffix(r.Stdout, " True True\n") {
			t.Errorf("round %d: session %s: inconsistent state: %s", round, id[:8], r.Stdout)
		}
	case r.kind() == "exception" && strings.Contains(r.Stderr, "NameError"):
		// No snapshot yet, or one of the state before any run set n.
		seen.empty++
	default:
		t.Errorf("round %d: session %s: %s", round, id[:8], r.raw)
	}
	resp, err := http.Get(s.url + "/api/sessions/" + id + "/files/data.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusNotFound {
		return // never uploaded: killed before the first upload
	}
	var n int
	if _, err := fmt.Sscanf(string(b), "version %d;", &n); err != nil || !bytes.Equal(b, killVersion(n)) {
		t.Errorf("round %d: session %s: data.txt is torn (%d bytes, status %d)", round, id[:8], len(b), resp.StatusCode)
	}
	seen.files++
	return
}

// upload puts data at path in the session's workspace through the files API (multipart).
func (s *hostileServer) upload(id, path string, data []byte) int {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("path", path)
	fw, _ := mw.CreateFormFile("file", filepath.Base(path))
	fw.Write(data)
	mw.Close()
	resp, err := http.Post(s.url+"/api/sessions/"+id+"/files", mw.FormDataContentType(), &body)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
