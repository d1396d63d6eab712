package sessions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wasmbox/runtime"
	"wasmbox/workspace"
)

// TestManager_load_sweep: a restart removes temporary files of unfinished writes and session
// directories a crash left without a record, and keeps every session that has one.
func TestManager_load_sweep(t *testing.T) {
	dir := t.TempDir()
	m, _, _ := newManager(t, dir)
	s, _ := m.Create("o")
	m.Run(context.Background(), s.ID, py("a"))
	m.Close()
	sdir := filepath.Dir(s.Workspace)
	root := filepath.Dir(sdir)
	orphan := filepath.Join(root, strings.Repeat("ab", 16))
	os.MkdirAll(filepath.Join(orphan, "workspace"), 0o700)
	garbled := filepath.Join(root, strings.Repeat("cd", 16))
	os.MkdirAll(garbled, 0o700)
	os.WriteFile(filepath.Join(garbled, "session.json"), []byte(`{"id": "`), 0o600)
	leftovers := []string{
		filepath.Join(sdir, "session.json"+tmpInfix+"123"),
		filepath.Join(sdir, SnapshotFile+tmpInfix+"456"),
		filepath.Join(sdir, "session.json.tmp"),
		filepath.Join(sdir, "upload"+tmpInfix+"789"), // an upload cut off by a crash
		filepath.Join(root, "stray"+tmpInfix+"1"),
	}
	for _, p := range leftovers {
		os.WriteFile(p, []byte("half"), 0o600)
	}
	os.WriteFile(filepath.Join(s.Workspace, "data"+tmpInfix+"kept"), []byte("the user's"), 0o600)

	m2, _, _ := newManager(t, dir)
	if _, err := m2.Get(s.ID); err != nil {
		t.Fatalf("the session with a record: %v", err)
	}
	for _, p := range append(leftovers, orphan, garbled) {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s survived the sweep", p)
		}
	}
	if _, err := os.Stat(filepath.Join(s.Workspace, "data"+tmpInfix+"kept")); err != nil {
		t.Errorf("a workspace file was swept: %v", err)
	}
	if h, _ := m2.History(s.ID); len(h) != 1 {
		t.Errorf("history after the sweep: %+v", h)
	}
}

// TestManager_persist_fails: a record that cannot be saved (its rename fails) is an error
// that reaches the caller, not one that is ignored; the run itself still returns its result.
func TestManager_persist_fails(t *testing.T) {
	m, _, _ := newManager(t, t.TempDir())
	s, _ := m.Create("o")
	blocker := filepath.Join(filepath.Dir(s.Workspace), "session.json")
	os.Remove(blocker)
	os.MkdirAll(filepath.Join(blocker, "x"), 0o700) // a non-empty directory: rename over it fails
	res, err := m.Run(context.Background(), s.ID, py("a"))
	if err != nil || res.Stdout != "a" {
		t.Errorf("run whose record cannot be saved: %+v %v, want its result", res, err)
	}
	if err := m.Close(); err == nil || !strings.Contains(err.Error(), "session.json") {
		t.Errorf("Close with a record it cannot save: %v, want the error", err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(s.Workspace)); len(entries) != 3 {
		t.Errorf("%d entries in the session directory, want workspace, the blocker and the history log (no temporary files)", len(entries))
	}
}

// TestManager_historyLog: each run appends one line to the session's history log, which is
// rewritten when it holds twice the cap; a restart reads it back (the last cap entries, every
// run counted); a torn tail (a write cut by a crash) is dropped and the log rewritten, so the
// next append is whole; a record of an earlier version, which held the history itself, is
// moved to the log once.
func TestManager_historyLog(t *testing.T) {
	dir := t.TempDir()
	m, _, _ := newManager(t, dir, WithHistoryCap(5))
	s, _ := m.Create("o")
	logPath := filepath.Join(filepath.Dir(s.Workspace), historyLog)
	lines := func() []string {
		b, _ := os.ReadFile(logPath)
		return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	}
	for i := range 23 {
		m.Run(context.Background(), s.ID, py(fmt.Sprintf("r%d", i)))
		if n := len(lines()); n > 10 {
			t.Fatalf("after run %d the log holds %d lines, want at most twice the cap", i, n)
		}
	}
	m.Close()
	check := func(m *Manager, runs int, last string) {
		t.Helper()
		info, err := m.Get(s.ID)
		h, _ := m.History(s.ID)
		if err != nil || info.Runs != runs || len(h) != 5 || h[4].Code != last {
			t.Errorf("after a restart: %d runs, history %+v (%v); want %d runs, 5 entries ending %q", info.Runs, h, err, runs, last)
		}
	}
	m2, _, _ := newManager(t, dir, WithHistoryCap(5))
	check(m2, 23, "r22")
	m2.Close()

	f, _ := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"runs":24,"last_used":"2026-`)
	f.Close()
	m3, _, _ := newManager(t, dir, WithHistoryCap(5))
	check(m3, 23, "r22")
	m3.Run(context.Background(), s.ID, py("r23"))
	m3.Close()
	m4, _, _ := newManager(t, dir, WithHistoryCap(5))
	check(m4, 24, "r23")
	m4.Close()

	// A record of an earlier version: the history inside it, no log.
	var legacy []Entry
	for i := range 3 {
		legacy = append(legacy, Entry{Language: runtime.Python, Code: fmt.Sprintf("old%d", i), Success: true})
	}
	rec, _ := json.Marshal(record{ID: s.ID, Owner: ownerKey("o"), Created: time.Now(), LastUsed: time.Now(), Runs: 3, History: legacy})
	os.WriteFile(filepath.Join(filepath.Dir(s.Workspace), "session.json"), rec, 0o600)
	os.Remove(logPath)
	for range 2 {
		m5, _, _ := newManager(t, dir, WithHistoryCap(5))
		if h, _ := m5.History(s.ID); len(h) != 3 || h[2].Code != "old2" {
			t.Errorf("the history of a record of an earlier version: %+v", h)
		}
		m5.Close()
	}
	if b, _ := os.ReadFile(filepath.Join(filepath.Dir(s.Workspace), "session.json")); strings.Contains(string(b), "old0") {
		t.Errorf("the record still holds the history it moved to the log: %s", b)
	}
}

// TestManager_noDiskUnderLock: a session whose record is slow to write (its save is held)
// delays nobody else: other sessions are created, listed and run meanwhile.
func TestManager_noDiskUnderLock(t *testing.T) {
	m, _, _ := newManager(t, t.TempDir())
	slow, _ := m.Create("slow")
	m.mu.Lock()
	ss := m.byID[slow.ID]
	m.mu.Unlock()
	ss.saveMu.Lock() // as if its disk write hung
	done := make(chan struct{})
	go func() { defer close(done); m.Run(context.Background(), slow.ID, py("x")) }()
	waitFor(t, func() bool { m.mu.Lock(); defer m.mu.Unlock(); return ss.runs == 1 })
	finished := make(chan error, 1)
	go func() {
		other, err := m.Create("other")
		if err == nil {
			_, err = m.Run(context.Background(), other.ID, py("y"))
		}
		m.List("other")
		finished <- err
	}()
	select {
	case err := <-finished:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("another owner's create and run waited for a session's disk write")
	}
	ss.saveMu.Unlock()
	<-done
}

// TestFileErr_escapes: a path that leads out of the workspace (through a link made on the
// host) is ErrBadPath, recognized by the error's identity, not its text.
func TestFileErr_escapes(t *testing.T) {
	m, _, _ := newManager(t, t.TempDir())
	s, _ := m.Create("o")
	os.Symlink("/etc", filepath.Join(s.Workspace, "out"))
	_, _, err := m.ReadFile(s.ID, "out/hostname", 1<<20)
	if !errors.Is(err, ErrBadPath) || !strings.Contains(err.Error(), "outside the workspace") {
		t.Errorf("got %v, want ErrBadPath saying it leads outside", err)
	}
}

// TestFileErr_noFile: a missing file is ErrNoFile and ErrBadPath, with the same message as
// before.
func TestFileErr_noFile(t *testing.T) {
	m, _, _ := newManager(t, t.TempDir())
	s, _ := m.Create("o")
	_, _, err := m.ReadFile(s.ID, "missing.txt", 1<<20)
	if !errors.Is(err, ErrNoFile) || !errors.Is(err, ErrBadPath) || err.Error() != "sessions: bad path: missing.txt does not exist in the workspace" {
		t.Errorf("got %v, want ErrNoFile and ErrBadPath", err)
	}
	if errors.Is(fileErr("x", workspace.ErrEscapes), ErrNoFile) {
		t.Error("an escaping path is ErrNoFile")
	}
}
