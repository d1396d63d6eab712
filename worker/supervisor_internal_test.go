package worker

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	"wasmbox/runtime"
)

// TestNew_selfExe: by default workers are started from /proc/self/exe (the running binary,
// even after its file was replaced), and must report this binary's build.
func TestNew_selfExe(t *testing.T) {
	s, err := New(WithPoolSize(0), WithMemoryBudget(4<<30))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.cfg.exe != selfExe || s.cfg.build != BuildID() || s.cfg.argv0 == "" {
		t.Errorf("exe %q build %q argv0 %q; want %q and this binary's build", s.cfg.exe, s.cfg.build, s.cfg.argv0, selfExe)
	}
	if _, err := New(WithExecutable(t.TempDir() + "/missing")); err == nil {
		t.Error("a missing executable was accepted")
	}
	if _, err := New(WithFreezeTimeout(0)); err == nil {
		t.Error("a freeze timeout of 0 was accepted")
	}
	if _, err := New(WithFreezeTimeout(-time.Second)); err == nil {
		t.Error("a negative freeze timeout was accepted")
	}
}

// TestAcquire_parkingFull: with the budget spent and maxParking workers already being stopped
// for others, a new session is told busy at once rather than lent more memory.
func TestAcquire_parkingFull(t *testing.T) {
	s, err := New(WithPoolSize(0), WithMemoryBudget(1<<30))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ip, _ := s.Open(WithOwner(context.Background(), "a"), t.TempDir())
	h := ip.(*handle)
	if h.owner != "a" || OwnerOf(context.Background()) != "" {
		t.Errorf("owner %q", h.owner)
	}
	s.mu.Lock()
	s.live = int(s.cfg.budget / s.cfg.charge)
	s.parking = maxParking
	s.mu.Unlock()
	_, err = s.acquire(context.Background(), h)
	if !errors.Is(err, runtime.ErrBusy) || !strings.Contains(err.Error(), "try again") {
		t.Errorf("got %v, want busy with a retry hint", err)
	}
	s.mu.Lock()
	s.live, s.parking = 0, 0
	s.mu.Unlock()
}

// TestPoolTarget: the pool keeps one worker ready per session that took one within
// demandWindow, between the pool size and the largest pool.
func TestPoolTarget(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name       string
		size, max  int
		takesAgo   []time.Duration
		wantTarget int
	}{
		{"no demand: the pool size", 2, 8, nil, 2},
		{"fewer takes than the size", 2, 8, []time.Duration{time.Second}, 2},
		{"five recent takes", 2, 8, []time.Duration{1, 2, 3, 4, 5}, 5},
		{"takes past the window do not count", 2, 8, []time.Duration{demandWindow + time.Second, demandWindow * 2, time.Second, 2, 3}, 3},
		{"at most the largest pool", 2, 4, []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9}, 4},
		{"no pool", 0, 0, []time.Duration{1, 2, 3}, 0},
		{"a fixed pool", 3, 3, []time.Duration{1, 2, 3, 4, 5, 6}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Supervisor{cfg: supConfig{poolSize: tc.size, poolMax: tc.max}, takes: make([]time.Time, tc.max)}
			// Oldest first, as they happen; the ring keeps the newest max of them.
			for i := len(tc.takesAgo) - 1; i >= 0; i-- {
				s.tookLocked(now.Add(-tc.takesAgo[i]))
			}
			if got := s.poolTargetLocked(now); got != tc.wantTarget {
				t.Errorf("target %d, want %d", got, tc.wantTarget)
			}
		})
	}
}

// TestTrimPool: when the target falls, the workers beyond it that were pooled for longer than
// extraPooled leave the pool, the longest pooled first; those pooled since stay.
func TestTrimPool(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	old1, old2 := &proc{pooledAt: now.Add(-3 * extraPooled)}, &proc{pooledAt: now.Add(-2 * extraPooled)}
	fresh := &proc{pooledAt: now.Add(-time.Second)}
	s := &Supervisor{cfg: supConfig{poolSize: 1, poolMax: 4}, takes: make([]time.Time, 4),
		pool: []*proc{old1, old2, fresh}, live: 3}
	got := s.trimPoolLocked(now)
	if len(got) != 2 || got[0] != old1 || got[1] != old2 {
		t.Errorf("trimmed %v, want the two pooled longest", got)
	}
	if len(s.pool) != 1 || s.pool[0] != fresh || s.live != 1 {
		t.Errorf("pool %v live %d, want the fresh worker alone", s.pool, s.live)
	}
	// Demand keeps the pool: three recent takes hold three workers, however long pooled.
	s = &Supervisor{cfg: supConfig{poolSize: 1, poolMax: 4}, takes: make([]time.Time, 4),
		pool: []*proc{old1, old2, fresh}, live: 3}
	for range 3 {
		s.tookLocked(now.Add(-time.Minute))
	}
	if got := s.trimPoolLocked(now); len(got) != 0 {
		t.Errorf("trimmed %d workers while demand holds the pool at 3", len(got))
	}
}

// TestHeldCharge_accounting: what WithHeldCharge charges a worker for each report, and when
// another worker fits: beside the reserve by what workers hold, or by the worst case alone.
func TestHeldCharge_accounting(t *testing.T) {
	const charge = 700 << 20
	reserve := int64(3) * charge // 1 run and 2 freezes
	s := &Supervisor{cfg: supConfig{reserve: 1, freezes: 2, charge: charge, budget: reserve + 4*WorkerFloor}}
	var procs []*proc
	for range 3 {
		s.mu.Lock()
		if !s.fitsLocked() {
			t.Fatalf("worker %d does not fit: held %d MiB", len(procs), s.held>>20)
		}
		s.admitLocked()
		p := &proc{held: s.startCharge(), counted: true}
		s.mu.Unlock()
		procs = append(procs, p)
	}
	if s.held != 3*WorkerFloor {
		t.Fatalf("3 started workers are charged %d MiB, want %d", s.held>>20, 3*WorkerFloor>>20)
	}
	p := procs[0]
	python := &handle{used: map[runtime.Language]bool{runtime.Python: true}}
	bash := &handle{used: map[runtime.Language]bool{runtime.Bash: true}}
	for _, c := range []struct {
		name      string
		anon      int64
		h         *handle
		cgroup    string
		namespace bool
		want      int64
	}{
		{"a small worker", 10 << 20, python, "", false, WorkerFloor},
		{"nothing new", 0, python, "", false, WorkerFloor},
		{"a worker with a state", 100 << 20, python, "", false, 100<<20 + heldSlack},
		{"nothing new again", 0, python, "", false, 100<<20 + heldSlack},
		{"not measured", -1, python, "", false, charge},
		{"more than its worst", 2 * charge, python, "", false, charge},
		{"bash's programs in no cgroup, no PID namespace", 10 << 20, bash, "", false, charge},
		{"bash's programs in a memory cgroup", 10 << 20, bash, "/sys/fs/cgroup/x", false, WorkerFloor},
		{"bash's programs in a PID namespace", 20 << 20, bash, "", true, WorkerFloor},
		{"a pooled worker", 60 << 20, nil, "", false, 60<<20 + heldSlack},
	} {
		s.mu.Lock()
		p.memCgroup, s.cfg.namespaces = c.cgroup, c.namespace
		s.noteHeldLocked(p, c.anon, c.h)
		held, total := p.held, s.held
		s.mu.Unlock()
		if held != c.want || total != c.want+2*WorkerFloor {
			t.Errorf("%s: charged %d MiB (all %d), want %d MiB", c.name, held>>20, total>>20, c.want>>20)
		}
	}
	s.mu.Lock()
	s.noteHeldLocked(p, charge, nil)
	fits := s.fitsLocked()
	s.noteHeldLocked(p, 1, nil)
	fitsSmall := s.fitsLocked()
	s.forgetLocked(p)
	s.noteHeldLocked(p, 500<<20, nil) // a report after it was forgotten changes nothing
	held := s.held
	s.mu.Unlock()
	if fits {
		t.Error("a fourth worker fits beside one charged its worst case")
	}
	if !fitsSmall {
		t.Error("a fourth worker does not fit beside three small ones")
	}
	if held != 2*WorkerFloor || s.live != 2 {
		t.Errorf("after one was forgotten: %d MiB for %d workers, want %d MiB for 2", held>>20, s.live, 2*WorkerFloor>>20)
	}
}

// TestHeldCharge_shed: when a run leaves the charges over the budget, pooled workers go first,
// and workers already being stopped count as gone.
func TestHeldCharge_shed(t *testing.T) {
	const charge = 700 << 20
	reserve := int64(3) * charge
	s := &Supervisor{cfg: supConfig{reserve: 1, freezes: 2, charge: charge, budget: reserve + 4*WorkerFloor}, handles: map[*handle]struct{}{}}
	add := func() *proc {
		s.admitLocked()
		return &proc{held: s.startCharge(), counted: true}
	}
	big, leaving := add(), add()
	s.pool = []*proc{add(), add()}
	s.noteHeldLocked(big, 2*WorkerFloor-heldSlack, nil) // over by a floor: one pooled worker covers it
	pooled, parked := s.shedLocked(&handle{})
	if len(pooled) != 1 || len(parked) != 0 || len(s.pool) != 1 {
		t.Fatalf("shed %d pooled and %d sessions' workers, %d left in the pool; want one pooled", len(pooled), len(parked), len(s.pool))
	}
	s.noteHeldLocked(big, 3*WorkerFloor-heldSlack, nil)
	s.stoppingLocked(leaving) // its memory is about to be given back: nothing more to shed
	if pooled, parked := s.shedLocked(&handle{}); len(pooled)+len(parked) != 0 {
		t.Errorf("shed %d pooled and %d sessions' workers beside one being stopped, want none", len(pooled), len(parked))
	}
	s.noteHeldLocked(leaving, 100<<20, nil) // a report while it is stopped changes nothing
	s.forgetLocked(leaving)
	s.forgetLocked(big)
	s.forgetLocked(s.pool[0])
	if s.held != 0 || s.stopping != 0 || s.live != 0 {
		t.Errorf("after all were forgotten: held %d, stopping %d, live %d; want 0", s.held, s.stopping, s.live)
	}
}

// TestHeldCharge_staleMeasure: the 2-second measure does not overwrite a charge set by a
// measure taken after it was listed (a run that ended meanwhile, a pooled worker bound
// meanwhile), nor charge a worker whose run goes on; the others get what it measured.
func TestHeldCharge_staleMeasure(t *testing.T) {
	const charge = 700 << 20
	s := &Supervisor{cfg: supConfig{reserve: 1, freezes: 2, charge: charge, budget: 100 * charge}, handles: map[*handle]struct{}{}}
	add := func() *proc {
		s.admitLocked()
		return &proc{held: s.startCharge(), counted: true}
	}
	ran, idle, running := &handle{p: add()}, &handle{p: add()}, &handle{p: add()}
	for _, h := range []*handle{ran, idle, running} {
		s.handles[h] = struct{}{}
	}
	bound, pooled := add(), add()
	s.pool = []*proc{bound, pooled}
	s.mu.Lock()
	list := s.toMeasureLocked()
	s.mu.Unlock()
	if len(list) != 5 {
		t.Fatalf("listed %d workers, want 5", len(list))
	}
	for i := range list {
		list[i].held = 300 << 20 // measured before what follows
	}
	s.mu.Lock()
	s.noteHeldLocked(ran.p, 100<<20, ran) // its run ended, and was measured, meanwhile
	s.pool = s.pool[1:]
	s.noteHeldLocked(bound, 200<<20, nil) // bound and measured meanwhile
	running.running = true
	s.noteMeasuredLocked(list)
	s.mu.Unlock()
	for _, c := range []struct {
		name string
		p    *proc
		want int64
	}{
		{"a run ended meanwhile", ran.p, 100<<20 + heldSlack},
		{"bound meanwhile", bound, 200<<20 + heldSlack},
		{"running now", running.p, WorkerFloor},
		{"idle", idle.p, 300<<20 + heldSlack},
		{"pooled", pooled, 300<<20 + heldSlack},
	} {
		if c.p.held != c.want {
			t.Errorf("%s: charged %d MiB, want %d", c.name, c.p.held>>20, c.want>>20)
		}
	}
}

// TestAnonHeld: what a worker holds, read by the server: the worker process's own anonymous
// memory without a memory cgroup, its tree's with one (v2 and v1 files), an error for what
// cannot be read.
func TestAnonHeld(t *testing.T) {
	self, err := anonHeld(os.Getpid(), "")
	if err != nil || self <= 0 {
		t.Fatalf("this process: %d, %v; want its anonymous memory", self, err)
	}
	big := make([]byte, 64<<20)
	for i := range big {
		big[i] = 1
	}
	after, _ := anonHeld(os.Getpid(), "")
	if after < self+32<<20 {
		t.Errorf("64 MiB written: %d -> %d bytes, want it counted", self, after)
	}
	goruntime.KeepAlive(big)
	dir := t.TempDir()
	for _, c := range []struct {
		stat string
		want int64
		ok   bool
	}{
		{"anon 1000\nfile 5000\nkernel 10\n", 1000, true},                           // v2
		{"rss 7\ntotal_rss 300\ntotal_rss_huge 200\ntotal_cache 9000\n", 500, true}, // v1
		{"file 5000\n", 0, false},
		{"anon x\n", 0, false},
	} {
		if err := os.WriteFile(filepath.Join(dir, "memory.stat"), []byte(c.stat), 0o600); err != nil {
			t.Fatal(err)
		}
		n, err := anonHeld(os.Getpid(), dir)
		if (err == nil) != c.ok || n != c.want {
			t.Errorf("memory.stat %q: %d, %v; want %d, ok %v", c.stat, n, err, c.want, c.ok)
		}
	}
	if _, err := anonHeld(0, filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing cgroup was read")
	}
	if _, err := anonHeld(1<<30, ""); err == nil {
		t.Error("a process that does not exist was read")
	}
}

// TestAcquire_poolStartFails: a session that waits for a worker the pool is starting does not
// wait on when that start fails: it starts its own, which says why.
func TestAcquire_poolStartFails(t *testing.T) {
	s, err := New(WithPoolSize(0), WithMemoryBudget(1<<30))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.cfg.exe = filepath.Join(t.TempDir(), "missing") // every start fails
	ip, _ := s.Open(context.Background(), t.TempDir())
	s.mu.Lock()
	s.filling = 1 // the pool is starting one
	s.mu.Unlock()
	got := make(chan error, 1)
	go func() {
		_, err := s.acquire(context.Background(), ip.(*handle))
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("acquire returned %v while the pool's start went on, want it to wait", err)
	case <-time.After(200 * time.Millisecond):
	}
	if err := s.filled(errors.New("the start failed")); err == nil {
		t.Error("filled lost the start's error")
	}
	select {
	case err := <-got:
		if err == nil || !strings.Contains(err.Error(), "missing") {
			t.Errorf("acquire after the pool's start failed: %v, want its own start's error", err)
		}
	case <-time.After(time.Minute): // a hang bound
		t.Fatal("acquire still waits after the pool's start failed")
	}
	s.mu.Lock()
	retry := s.retryFill
	s.mu.Unlock()
	if !retry.After(time.Now()) {
		t.Error("the pool would start again at once after a failed start")
	}
}
