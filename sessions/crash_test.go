package sessions

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// crashChildEnv names the data dir of TestCrash_child, which only runs when it is set.
const crashChildEnv = "WASMBOX_CRASH_CHILD_DIR"

// version is the content a file or snapshot has at version n: recognizable, and different in
// length, so a torn write shows.
func version(kind string, n int) []byte {
	return bytes.Repeat([]byte(fmt.Sprintf("%s version %d;", kind, n)), 2000+n*37)
}

// versionOf says which version data is, or -1.
func versionOf(kind string, data []byte) int {
	var n int
	if _, err := fmt.Sscanf(string(data), kind+" version %d;", &n); err != nil {
		return -1
	}
	if !bytes.Equal(data, version(kind, n)) {
		return -1
	}
	return n
}

// TestCrash_child is the server the kill test kills: it creates up to three sessions, then
// runs code, uploads files and saves snapshots in them as fast as it can, until it is killed.
func TestCrash_child(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		t.Skip("run by TestCrash_kill9")
	}
	m, err := New(WithDataDir(dir), WithEngine(&fakeEngine{release: make(chan struct{})}), WithReapInterval(0),
		WithMaxSessionsPerOwner(3))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range m.List("o") {
		ids = append(ids, s.ID)
	}
	for len(ids) < 3 {
		s, err := m.Create("o")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, s.ID)
	}
	fmt.Println("ready")
	var st Snapshots
	for n := 1; ; n++ {
		for _, id := range ids {
			m.Run(context.Background(), id, py("run "+strconv.Itoa(n)))
			if _, err := m.WriteFile(id, "data.txt", version("file", n)); err != nil {
				t.Fatal(err)
			}
			info, _ := m.Get(id)
			w, err := st.Create(info.Workspace)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(version("snapshot", n))
			if err := w.Commit(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestCrash_kill9: the server killed with SIGKILL at random points while it runs code, takes
// uploads and saves snapshots, ten times over: every session comes back, with its files and
// its snapshot each whole (an old version or a new one, never a torn one), its history
// readable, and no temporary file left after the restart's sweep.
func TestCrash_kill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills a process ten times")
	}
	dir := t.TempDir()
	for round := range 10 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrash_child$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		out, _ := cmd.StdoutPipe()
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ready := make(chan bool, 1)
		go func() {
			sc := bufio.NewScanner(out)
			ok := false
			for sc.Scan() {
				if sc.Text() == "ready" && !ok {
					ok = true
					ready <- true
				}
			}
			if !ok {
				ready <- false
			}
		}()
		select {
		case ok := <-ready:
			if !ok {
				cmd.Wait()
				t.Fatalf("round %d: the child ended before it was ready", round)
			}
		case <-time.After(time.Minute):
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("round %d: the child never got ready", round)
		}
		time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		io.Copy(io.Discard, out)

		m, _, _ := newManager(t, dir)
		list := m.List("o")
		if len(list) != 3 {
			t.Fatalf("round %d: %d sessions came back, want 3", round, len(list))
		}
		for _, s := range list {
			if h, err := m.History(s.ID); err != nil || len(h) != min(s.Runs, 100) {
				t.Errorf("round %d: session %s history %d entries for %d runs: %v", round, short(s.ID), len(h), s.Runs, err)
			}
			if b, err := os.ReadFile(filepath.Join(s.Workspace, "data.txt")); err == nil && versionOf("file", b) < 0 {
				t.Errorf("round %d: session %s: data.txt is torn (%d bytes)", round, short(s.ID), len(b))
			}
			if b, err := os.ReadFile(filepath.Join(filepath.Dir(s.Workspace), SnapshotFile)); err == nil && versionOf("snapshot", b) < 0 {
				t.Errorf("round %d: session %s: the snapshot is torn (%d bytes)", round, short(s.ID), len(b))
			}
			entries, _ := os.ReadDir(filepath.Dir(s.Workspace))
			for _, e := range entries {
				if isTemp(e.Name()) {
					t.Errorf("round %d: %s survived the sweep", round, e.Name())
				}
			}
		}
		t.Logf("round %d: runs %d, %d, %d", round, list[0].Runs, list[1].Runs, list[2].Runs)
		m.Close()
		if t.Failed() {
			return
		}
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "sessions"))
	if len(entries) != 3 {
		names := []string{}
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("session directories after ten crashes: %s, want the three sessions'", strings.Join(names, " "))
	}
}
