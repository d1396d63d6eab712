package sessions

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"wasmbox/runtime"
	"wasmbox/worker"
)

// fakeEngine echoes code; "block" waits until release is closed.
type fakeEngine struct {
	release chan struct{}
	mu      sync.Mutex
	closed  int
}

func (e *fakeEngine) Language() runtime.Language  { return runtime.Python }
func (e *fakeEngine) Close(context.Context) error { return nil }
func (e *fakeEngine) New(ctx context.Context, dir string) (runtime.Interpreter, error) {
	return &fakeInterp{e: e, dir: dir}, nil
}

type fakeInterp struct {
	e     *fakeEngine
	dir   string
	state []string
}

func (f *fakeInterp) Run(ctx context.Context, req runtime.Request) (*runtime.Result, error) {
	if req.Code == "block" {
		<-f.e.release
	}
	if req.Code == "limit" {
		return &runtime.Result{Stdout: req.Limits.Timeout.String()}, nil
	}
	f.state = append(f.state, req.Code)
	res := &runtime.Result{Stdout: strings.Join(f.state, ",")}
	if req.Code == "fail" {
		res.Error = &runtime.Error{Kind: runtime.ErrException, Message: "boom"}
	}
	return res, nil
}

func (f *fakeInterp) Close() error {
	f.e.mu.Lock()
	f.e.closed++
	f.e.mu.Unlock()
	return nil
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newManager(t testing.TB, dir string, opts ...Option) (*Manager, *fakeEngine, *clock) {
	t.Helper()
	e := &fakeEngine{release: make(chan struct{})}
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	base := []Option{WithDataDir(dir), WithEngine(e), WithClock(c.now), WithReapInterval(0),
		WithLimits(runtime.Limits{Timeout: 5 * time.Second})}
	m, err := New(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, e, c
}

func py(code string) runtime.Request { return runtime.Request{Code: code, Language: runtime.Python} }

func TestManager_Run_state(t *testing.T) {
	m, _, _ := newManager(t, t.TempDir())
	s, _ := m.Create("alice")
	m.Run(context.Background(), s.ID, py("a"))
	res, err := m.Run(context.Background(), s.ID, py("b"))
	if err != nil || res.Stdout != "a,b" {
		t.Fatalf("got %v %v, want state a,b", res, err)
	}
	if _, err := os.Stat(s.Workspace); err != nil {
		t.Errorf("workspace missing: %v", err)
	}
}

func TestManager_Run_unknown(t *testing.T) {
	m, _, _ := newManager(t, t.TempDir())
	for _, id := range []string{"nope", strings.Repeat("a", 32), "../../etc"} {
		_, err := m.Run(context.Background(), id, py("x"))
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "start a new one") && !strings.Contains(err.Error(), "not a session id") {
			t.Errorf("Run(%q): got %v, want ErrNotFound with advice", id, err)
		}
	}
	s, _ := m.Create("a")
	if _, err := m.Run(context.Background(), s.ID, runtime.Request{Code: "x", Language: runtime.Bash}); !errors.Is(err, ErrLanguage) {
		t.Errorf("unknown language: got %v, want ErrLanguage", err)
	}
}

func TestManager_List_owners(t *testing.T) {
	m, _, _ := newManager(t, t.TempDir())
	a1, _ := m.Create("key-a")
	a2, _ := m.Create("key-a")
	b1, _ := m.Create("key-b")
	got := m.List("key-a")
	if len(got) != 2 {
		t.Fatalf("key-a sees %d sessions, want 2", len(got))
	}
	for _, s := range got {
		if s.ID == b1.ID {
			t.Error("key-a sees key-b's session")
		}
	}
	if got := m.List("key-b"); len(got) != 1 || got[0].ID != b1.ID {
		t.Errorf("key-b sees %+v", got)
	}
	if got := m.List("key-c"); len(got) != 0 {
		t.Errorf("key-c sees %+v", got)
	}
	// The id is a capability: b may run in a's session if it knows the id.
	if _, err := m.Run(context.Background(), a1.ID, py("x")); err != nil {
		t.Error(err)
	}
	_ = a2
}

func TestManager_Create_limit(t *testing.T) {
	m, e, c := newManager(t, t.TempDir(), WithMaxSessions(2), WithMaxSessionsPerOwner(2))
	s1, _ := m.Create("o")
	c.add(time.Second)
	s2, _ := m.Create("o")
	c.add(time.Second)
	m.Run(context.Background(), s1.ID, py("touch")) // s2 is now the least recently used
	s3, err := m.Create("o")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Run(context.Background(), s2.ID, py("x")); !errors.Is(err, ErrEvicted) || !strings.Contains(err.Error(), "evicted") {
		t.Errorf("evicted session: got %v, want ErrEvicted", err)
	}
	if _, err := m.Run(context.Background(), s1.ID, py("x")); err != nil {
		t.Errorf("recently used session was evicted: %v", err)
	}
	// With every session busy, creation fails instead of evicting a running session.
	done := make(chan struct{}, 2)
	for _, id := range []string{s1.ID, s3.ID} {
		go func() {
			m.Run(context.Background(), id, py("block"))
			done <- struct{}{}
		}()
	}
	waitFor(t, func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.byID[s1.ID].active == 1 && m.byID[s3.ID].active == 1
	})
	if _, err := m.Create("o"); !errors.Is(err, ErrBusy) {
		t.Errorf("create with all sessions busy: got %v, want ErrBusy", err)
	}
	close(e.release)
	<-done
	<-done
	if _, err := m.Create("o"); err != nil {
		t.Errorf("create after runs ended: %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestManager_Reap_ttl(t *testing.T) {
	dir := t.TempDir()
	m, _, c := newManager(t, dir, WithTTL(time.Hour))
	old, _ := m.Create("o")
	c.add(50 * time.Minute)
	fresh, _ := m.Create("o")
	c.add(11 * time.Minute)
	if n := m.Reap(); n != 1 {
		t.Fatalf("reaped %d, want 1", n)
	}
	if _, err := m.Run(context.Background(), old.ID, py("x")); !errors.Is(err, ErrExpired) || !strings.Contains(err.Error(), "expired after 1h0m0s idle") {
		t.Errorf("expired session: got %v", err)
	}
	if _, err := m.Run(context.Background(), fresh.ID, py("x")); err != nil {
		t.Errorf("fresh session: %v", err)
	}
	waitFor(t, func() bool { _, err := os.Stat(old.Workspace); return os.IsNotExist(err) })
}

func TestManager_History(t *testing.T) {
	m, _, _ := newManager(t, t.TempDir(), WithHistoryCap(3))
	s, _ := m.Create("o")
	for _, code := range []string{"a", "fail", "c", strings.Repeat("x", 1000)} {
		m.Run(context.Background(), s.ID, py(code))
	}
	h, err := m.History(s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 3 || h[0].Code != "fail" || h[0].Success || h[0].ErrorKind != runtime.ErrException {
		t.Fatalf("history %+v", h)
	}
	if len(h[2].Output) != historyOutput {
		t.Errorf("output kept %d bytes, want %d", len(h[2].Output), historyOutput)
	}
}

func TestManager_restart(t *testing.T) {
	dir := t.TempDir()
	m, _, _ := newManager(t, dir)
	s, _ := m.Create("owner")
	m.Run(context.Background(), s.ID, py("a"))
	os.WriteFile(filepath.Join(s.Workspace, "data.txt"), []byte("kept"), 0o600)
	m.Close()

	m2, _, _ := newManager(t, dir)
	got := m2.List("owner")
	if len(got) != 1 || got[0].ID != s.ID || !got[0].Restored || got[0].Runs != 1 {
		t.Fatalf("after restart: %+v", got)
	}
	if h, _ := m2.History(s.ID); len(h) != 1 || h[0].Code != "a" {
		t.Errorf("history after restart: %+v", h)
	}
	res, err := m2.Run(context.Background(), s.ID, py("b"))
	if err != nil || !res.StateReset || res.Stdout != "b" {
		t.Errorf("first run after restart: %+v %v, want state reset", res, err)
	}
	if b, _ := os.ReadFile(filepath.Join(s.Workspace, "data.txt")); string(b) != "kept" {
		t.Error("workspace file lost in restart")
	}
	if res, _ := m2.Run(context.Background(), s.ID, py("c")); res.StateReset {
		t.Error("second run after restart reports a reset")
	}
}

func TestManager_Run_serialized(t *testing.T) {
	m, e, _ := newManager(t, t.TempDir())
	s, _ := m.Create("o")
	first := make(chan string)
	go func() {
		res, _ := m.Run(context.Background(), s.ID, py("block"))
		first <- res.Stdout
	}()
	waitFor(t, func() bool { return len(m.byID[s.ID].lock) == 1 })
	second := make(chan string)
	go func() {
		res, _ := m.Run(context.Background(), s.ID, py("after"))
		second <- res.Stdout
	}()
	close(e.release)
	if got := <-first; got != "block" {
		t.Errorf("first run saw %q", got)
	}
	if got := <-second; got != "block,after" {
		t.Errorf("second run saw %q, want it to run after the first", got)
	}
}

// TestManager_Run_waitTaken: what a run waited for (here its session's previous run) is taken
// from its time limit, so the caller's answer comes within the limit.
func TestManager_Run_waitTaken(t *testing.T) {
	m, e, _ := newManager(t, t.TempDir())
	s, _ := m.Create("o")
	go m.Run(context.Background(), s.ID, py("block"))
	waitFor(t, func() bool { return len(m.byID[s.ID].lock) == 1 })
	second := make(chan string)
	go func() {
		res, err := m.Run(context.Background(), s.ID, py("limit"))
		if err != nil {
			t.Error(err)
			res = &runtime.Result{}
		}
		second <- res.Stdout
	}()
	time.Sleep(300 * time.Millisecond)
	close(e.release)
	got, err := time.ParseDuration(<-second)
	if err != nil || got > 4700*time.Millisecond || got <= 0 {
		t.Errorf("the run after waiting at least 300 ms had a limit of %s (%v), want at most 4.7s of the 5s", got, err)
	}
}

func TestManager_Delete(t *testing.T) {
	m, e, _ := newManager(t, t.TempDir())
	s, _ := m.Create("o")
	m.Run(context.Background(), s.ID, py("a"))
	if err := m.Delete(s.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Run(context.Background(), s.ID, py("x")); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "deleted") {
		t.Errorf("deleted session: got %v", err)
	}
	waitFor(t, func() bool { e.mu.Lock(); defer e.mu.Unlock(); return e.closed == 1 })
	waitFor(t, func() bool { _, err := os.Stat(s.Workspace); return os.IsNotExist(err) })
}

func TestNew_badOptions(t *testing.T) {
	for _, o := range []Option{WithMaxSessions(0), WithTTL(-1), WithMaxConcurrent(0, 1), WithHistoryCap(0), WithDataDir("")} {
		if _, err := New(WithDataDir(t.TempDir()), o); err == nil {
			t.Error("bad option accepted")
		}
	}
}

// TestManager_Create_tenants: one owner's burst of creations never takes a session another
// owner used in the last ten minutes, and a per-owner cap makes an owner evict its own.
func TestManager_Create_tenants(t *testing.T) {
	m, _, c := newManager(t, t.TempDir(), WithMaxSessions(4), WithMaxSessionsPerOwner(3))
	k2, _ := m.Create("k2")
	m.Run(context.Background(), k2.ID, py("x = 1"))
	c.add(time.Second)
	var mine []string
	for range 100 {
		s, err := m.Create("k1")
		if err != nil {
			t.Fatalf("k1 create: %v", err)
		}
		mine = append(mine, s.ID)
		c.add(time.Second)
	}
	if _, err := m.Get(k2.ID); err != nil {
		t.Errorf("k2's session was evicted by k1's burst: %v", err)
	}
	if n := len(m.List("k1")); n != 3 {
		t.Errorf("k1 holds %d sessions, want its cap of 3", n)
	}
	// The global cap (4) is full: a new owner may not take sessions used in the last ten
	// minutes, k1's included.
	if _, err := m.Create("k3"); !errors.Is(err, ErrBusy) {
		t.Fatalf("k3 create with only recent sessions: %v, want busy", err)
	}
	// Ten minutes on, it takes an idle session of the owner holding the most: k1's.
	c.add(11 * time.Minute)
	if _, err := m.Create("k3"); err != nil {
		t.Fatalf("k3 create: %v", err)
	}
	if _, err := m.Get(k2.ID); err != nil || len(m.List("k1")) != 2 {
		t.Errorf("after k3: k2 %v, k1 holds %d; want k2 kept and k1 down to 2", err, len(m.List("k1")))
	}
	m.Create("k4") // k1 (2) gives up another
	if _, err := m.Get(k2.ID); err != nil || len(m.List("k1")) != 1 {
		t.Errorf("after k4: k2 %v, k1 holds %d", err, len(m.List("k1")))
	}
	// Now k1 and k2 hold one idle session each: the least recently used, k2's, goes.
	m.Create("k5")
	if _, err := m.Get(k2.ID); !errors.Is(err, ErrEvicted) || len(m.List("k1")) != 1 {
		t.Errorf("after k5: k2 %v, k1 holds %d; want k2's older session evicted", err, len(m.List("k1")))
	}
}

// TestManager_Create_protected: when every other session is another owner's and recently
// used, creation fails as busy instead of evicting one.
func TestManager_Create_protected(t *testing.T) {
	m, _, c := newManager(t, t.TempDir(), WithMaxSessions(2))
	a, _ := m.Create("a")
	b, _ := m.Create("b")
	c.add(time.Minute)
	if _, err := m.Create("c"); !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "try again") {
		t.Errorf("create past the cap with only others' recent sessions: %v, want busy", err)
	}
	for _, id := range []string{a.ID, b.ID} {
		if _, err := m.Get(id); err != nil {
			t.Errorf("session %s: %v", id, err)
		}
	}
}

// TestManager_Run_neighbour: one owner's four long runs (in four sessions) hold only its share
// of the slots; another owner's run goes at once instead of waiting for them.
func TestManager_Run_neighbour(t *testing.T) {
	m, e, _ := newManager(t, t.TempDir(), WithMaxConcurrent(4, 32))
	var wg sync.WaitGroup
	for range 4 {
		s, err := m.Create("greedy")
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); m.Run(context.Background(), s.ID, py("block")) }()
	}
	defer wg.Wait()
	defer close(e.release)
	waitFor(t, func() bool { used, waiting := m.slots.load(); return used == 2 && waiting == 2 })
	other, _ := m.Create("neighbour")
	start := time.Now()
	res, err := m.Run(context.Background(), other.ID, py("x"))
	if err != nil || res.Stdout != "x" {
		t.Fatalf("neighbour's run beside greedy's four: %+v %v, want it to run", res, err)
	}
	t.Logf("neighbour waited %s", time.Since(start))
	if got := m.MaxRunsPerOwner(); got != 2 {
		t.Errorf("MaxRunsPerOwner = %d, want 2 (half of 4)", got)
	}
}

// TestManager_Run_ownerQueueFull: an owner whose runs fill its part of the queue is told so,
// with the cap, and others still queue.
func TestManager_Run_ownerQueueFull(t *testing.T) {
	m, e, _ := newManager(t, t.TempDir(), WithMaxConcurrent(2, 4), WithMaxRunsPerOwner(1))
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(e.release)
	var ids []string
	for range 3 {
		s, _ := m.Create("greedy")
		ids = append(ids, s.ID)
	}
	for _, id := range ids[:2] { // one runs, one waits: the owner's queue (max(1, 1, 4/4)) is full
		wg.Add(1)
		go func() { defer wg.Done(); m.Run(context.Background(), id, py("block")) }()
	}
	waitFor(t, func() bool { used, waiting := m.slots.load(); return used == 1 && waiting == 1 })
	_, err := m.Run(context.Background(), ids[2], py("x"))
	if !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "WASMBOX_OWNER_MAX_RUNS") {
		t.Errorf("a third run: %v, want busy naming the per-client cap", err)
	}
	other, _ := m.Create("neighbour")
	if res, err := m.Run(context.Background(), other.ID, py("y")); err != nil || res.Stdout != "y" {
		t.Errorf("neighbour: %+v %v", res, err)
	}
}

// TestManager_Create_ownerShare: by default one owner holds a quarter of MAX_SESSIONS; past it
// its own idle sessions make room, and when all of them run, the error names the cap and says
// what to do. Other owners still create sessions.
func TestManager_Create_ownerShare(t *testing.T) {
	m, e, c := newManager(t, t.TempDir(), WithMaxSessions(8))
	if got := m.MaxSessionsPerOwner(); got != 2 {
		t.Fatalf("MaxSessionsPerOwner = %d, want 2 (8/4)", got)
	}
	var mine []Info
	for range 5 {
		s, err := m.Create("greedy")
		if err != nil {
			t.Fatal(err)
		}
		mine = append(mine, s)
		c.add(time.Second)
	}
	if n := len(m.List("greedy")); n != 2 {
		t.Errorf("greedy holds %d sessions, want 2", n)
	}
	_, err := m.Run(context.Background(), mine[0].ID, py("x"))
	if !errors.Is(err, ErrEvicted) || !strings.Contains(err.Error(), "per client") {
		t.Errorf("greedy's first session: %v, want evicted, saying why", err)
	}
	var wg sync.WaitGroup
	for _, s := range mine[3:] {
		wg.Add(1)
		go func() { defer wg.Done(); m.Run(context.Background(), s.ID, py("block")) }()
	}
	waitFor(t, func() bool { used, _ := m.slots.load(); return used == 2 })
	if _, err := m.Create("greedy"); !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "WASMBOX_MAX_SESSIONS_PER_OWNER") ||
		!strings.Contains(err.Error(), "delete one") {
		t.Errorf("create with all of greedy's sessions running: %v, want busy naming the cap and what to do", err)
	}
	for i := range 3 {
		if _, err := m.Create(fmt.Sprintf("other%d", i)); err != nil {
			t.Errorf("another owner's create: %v", err)
		}
	}
	close(e.release)
	wg.Wait()
}

func TestNew_badOwnerOptions(t *testing.T) {
	for _, o := range []Option{WithMaxRunsPerOwner(0), WithMaxRunsPerOwner(-1), WithMaxSessionsPerOwner(0)} {
		if _, err := New(WithDataDir(t.TempDir()), o); err == nil {
			t.Error("bad option accepted")
		}
	}
	for _, tc := range []struct{ sessions, want int }{{1, 1}, {2, 2}, {3, 2}, {8, 2}, {12, 3}, {100, 25}, {1 << 30, 1 << 28}} {
		if got := DefaultSessionsPerOwner(tc.sessions); got != tc.want {
			t.Errorf("DefaultSessionsPerOwner(%d) = %d, want %d", tc.sessions, got, tc.want)
		}
	}
}

// ownerBackend records the owner each session's interpreter was opened for.
type ownerBackend struct {
	fakeEngine
	mu     sync.Mutex
	owners []string
}

func (b *ownerBackend) Open(ctx context.Context, dir string) (runtime.Interpreter, error) {
	b.mu.Lock()
	b.owners = append(b.owners, worker.OwnerOf(ctx))
	b.mu.Unlock()
	return &fakeInterp{e: &b.fakeEngine, dir: dir}, nil
}

func (b *ownerBackend) Languages() []runtime.Language { return []runtime.Language{runtime.Python} }

// TestManager_Run_ownerToBackend: the backend learns each session's owner (so the worker
// supervisor can make room from the owner's own workers first), as the owner's key, never the
// API key itself.
func TestManager_Run_ownerToBackend(t *testing.T) {
	b := &ownerBackend{fakeEngine: fakeEngine{release: make(chan struct{})}}
	m, err := New(WithDataDir(t.TempDir()), WithBackend(b), WithReapInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s, _ := m.Create("secret-key")
	m.Run(context.Background(), s.ID, py("x"))
	if len(b.owners) != 1 || b.owners[0] != ownerKey("secret-key") {
		t.Errorf("owners %q, want the owner's key", b.owners)
	}
}
