// Package worker runs each session's code in a worker process of its own: the same wasmbox
// binary in a hidden mode, confined before it reads any guest input, talking to the server over
// a private socketpair. The [Supervisor] keeps a pool of started workers, binds one to a
// session on its first run, enforces the limits from outside (SIGKILL of the worker's process
// group at the deadline, RLIMIT_AS, a global memory budget) and stops idle workers. Nothing a
// guest does can crash, hang or slow the server process: at worst its own worker dies, and the
// Result says so.
package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	goruntime "runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"wasmbox/runtime"
	"wasmbox/wasm"
)

// Supervisor starts, pools, binds and stops worker processes. It is safe for concurrent use.
type Supervisor struct {
	cfg  supConfig
	mu   sync.Mutex
	live int // processes alive or starting: pooled, bound and in setup
	// filling counts the pool's workers being started (see fill); poolReady is closed, and
	// replaced, when one of them joins the pool or fails.
	filling   int
	poolReady chan struct{}
	retryFill time.Time // the pool starts no worker before (a start failed: see filled)
	// held is what the memory budget charges the live workers: each its worst case, or with
	// WithHeldCharge what it holds (see noteHeldLocked); stopping is the part of it that
	// workers being stopped hold, soon given back.
	held, stopping int64
	pool           []*proc
	// takes are when sessions last took a worker (from the pool or by starting one), a ring of
	// the pool's largest size: how many of them are recent sizes the pool (see poolTargetLocked).
	takes   []time.Time
	taken   int
	handles map[*handle]struct{}
	layers  map[string]string // what the last bound worker reported
	wake    chan struct{}
	stop    chan struct{}
	// parking counts workers being stopped to make room for another session's: they still
	// hold memory, so at most maxParking exist beyond the budget at once.
	parking  int
	freezing chan struct{}  // a token per freeze in progress: bounds the snapshots in flight
	parks    sync.WaitGroup // workers being parked in the background; Close waits for them
	wg       sync.WaitGroup
	closed   bool
	// readyNotes is set once a worker's notes at start were logged.
	readyNotes atomic.Bool
	// loads count the workers started that loaded python.wasm's machine code through the
	// skeleton's cache entry [0] and by validating python.wasm first [1].
	loads [2]atomic.Int64
}

type supConfig struct {
	exe        string
	argv0      string // the name workers show in ps
	build      string // the build id workers must report
	freeze     time.Duration
	freezes    int // freezes at once
	poolSize   int
	poolMax    int // -1: the default, from poolSize
	setup      Setup
	budget     int64
	charge     int64
	reserve    int // WithHeldCharge's runs (0: every worker is charged its worst case)
	idle       time.Duration
	grace      time.Duration
	namespaces bool
	langs      []runtime.Language
	now        func() time.Time
	log        *slog.Logger
	resident   int
	snapshots  SnapshotStore
	// noExecCheck switches the exec check off (tests of the bounds behind it); execWhy says
	// why it is not active, execAllowed is what it lets run.
	noExecCheck bool
	noCgroups   bool
	execWhy     string
	execAllowed map[string]bool
}

// WithCgroups lets the supervisor make cgroups for its workers where it may (the default) or
// not: tests of the bounds that hold where none can be made.
func WithCgroups(on bool) Option {
	return func(c *supConfig) error { c.noCgroups = !on; return nil }
}

// WithExecCheck switches the exec check (see execcheck_linux.go) on or off where there is no
// mount namespace (default on where the host allows it). Off, Landlock alone decides what
// programs may execute, and the dynamic loader runs any file programs can read. Off, the
// server does not count the forks of a root worker's programs either (see
// [Confinement.CountForks]).
func WithExecCheck(on bool) Option {
	return func(c *supConfig) error { c.noExecCheck = !on; return nil }
}

// WithMaxResident caps the workers bound to sessions at once (MAX_RESIDENT_SESSIONS; default:
// as many as the memory budget holds, see [WithMemoryBudget]). Past it the least recently used
// idle session is frozen: its Python state is saved beside its workspace and its worker stops.
func WithMaxResident(n int) Option {
	return func(c *supConfig) error {
		if n < 0 {
			return fmt.Errorf("worker: max resident sessions %d: must not be negative", n)
		}
		c.resident = n
		return nil
	}
}

// Option configures a [Supervisor].
type Option func(*supConfig) error

// WithExecutable sets the wasmbox binary started in worker mode (default: this process's own,
// as /proc/self/exe, so that replacing the file on disk never pairs a new worker with this
// server). Its build id is read once here: a worker whose binary changed since is refused.
func WithExecutable(path string) Option {
	return func(c *supConfig) error { c.exe = path; return nil }
}

// WithFreezeTimeout bounds saving one session's Python state when its worker stops (default
// 30s). A guest can stall a freeze (a file whose flush never returns): past the bound its worker
// is killed, its state reset, and its next run says why. Nobody else ever waits for a freeze.
func WithFreezeTimeout(d time.Duration) Option {
	return func(c *supConfig) error {
		if d <= 0 {
			return fmt.Errorf("worker: freeze timeout %s: must be positive", d)
		}
		c.freeze = d
		return nil
	}
}

// WithPoolSize sets how many started workers wait for new sessions (default 2).
func WithPoolSize(n int) Option {
	return func(c *supConfig) error {
		if n < 0 || n > 64 {
			return fmt.Errorf("worker: pool size %d: must be between 0 and 64", n)
		}
		c.poolSize = n
		return nil
	}
}

// WithPoolMax sets how large the pool may grow while sessions arrive faster than it refills
// (default four times the pool size, at most 16; never below the pool size). The pool keeps one
// worker ready for each session that took one within the last [demandWindow], between the pool
// size and this, within the memory budget; workers beyond that stop after [extraPooled].
func WithPoolMax(n int) Option {
	return func(c *supConfig) error {
		if n < 0 || n > 64 {
			return fmt.Errorf("worker: largest pool %d: must be between 0 and 64", n)
		}
		c.poolMax = n
		return nil
	}
}

// WithSetup sets what every worker is told at start: limits, bash allowlist, cache, layers.
func WithSetup(s Setup) Option {
	return func(c *supConfig) error {
		l, err := s.Limits.Normalize()
		s.Limits = l
		c.setup = s
		return err
	}
}

// WithMemoryBudget caps the memory all workers together may be charged (each is charged its
// address-space limit's share, see [Supervisor.Charge]); past it new workers wait for idle ones
// to stop, or the run is refused as busy.
func WithMemoryBudget(bytes int64) Option {
	return func(c *supConfig) error {
		if bytes < 64<<20 {
			return fmt.Errorf("worker: memory budget %d: must be at least 64 MiB", bytes)
		}
		c.budget = bytes
		return nil
	}
}

// WithHeldCharge charges each worker the memory it holds rather than the most it may hold
// ([Charge]), keeping the most of runs workers, and of the freezes the supervisor allows at
// once, in reserve: runs is how many runs may go on at once, which the caller bounds. What a
// worker holds is its anonymous memory as the kernel counts it, read by the server (its memory
// cgroup's, its programs' included, or its process's own; not the machine code and base image
// every worker shares, nor the worker's word): measured after it binds, after each run and
// every remeasureEvery while it does not run, and charged at least [WorkerFloor]; its worst
// case when it cannot be measured, or when its bash programs may outlive their run uncounted.
// A worker is admitted only while the charges and the reserve fit the budget (or all workers
// would at their worst); when measures put the charges over it, pooled workers and then the
// least recently used idle ones are stopped (their state saved) until they fit. Each worker's
// own limits (its memory cgroup, its address space) stay its worst case.
func WithHeldCharge(runs int) Option {
	return func(c *supConfig) error {
		if runs < 0 {
			return fmt.Errorf("worker: held charge: %d runs", runs)
		}
		c.reserve = runs
		return nil
	}
}

// WorkerFloor is the least a worker is charged under [WithHeldCharge], and what a starting
// one is charged until it is measured: an idle worker with Python holds 23-35 MiB of
// its own (2026-12-05), and the kernel's tables for its mappings some more.
const WorkerFloor = 48 << 20

// heldSlack is added to what a worker is measured holding: the kernel memory its process and
// mappings take, which its anonymous memory does not show.
const heldSlack = 8 << 20

// WithIdleTimeout stops a session's worker after it has been idle this long (default 10m); the
// session's files stay, and its next run says its state was reset.
func WithIdleTimeout(d time.Duration) Option {
	return func(c *supConfig) error {
		if d <= 0 {
			return fmt.Errorf("worker: idle timeout %s: must be positive", d)
		}
		c.idle = d
		return nil
	}
}

// WithNamespaces turns the user, network, PID, IPC and UTS namespaces on or off (default: on
// where the kernel lets this user create them, see [NamespacesAvailable]).
func WithNamespaces(on bool) Option {
	return func(c *supConfig) error { c.namespaces = on; return nil }
}

// WithLanguages sets the languages workers serve (as reported by [Supervisor.Languages]):
// workers build only their engines (default: all).
func WithLanguages(langs ...runtime.Language) Option {
	return func(c *supConfig) error { c.langs = langs; return nil }
}

// WithLogger sets where the supervisor logs.
func WithLogger(l *slog.Logger) Option {
	return func(c *supConfig) error { c.log = l; return nil }
}

// workerOverhead is what a worker costs besides its guests' memory: the Go runtime, wazero's
// compiled python.wasm (a private copy per process: 123 MB of machine code with numpy and
// pandas linked in), goja and buffers.
const workerOverhead = 224 << 20

// Charge is what the memory budget charges a worker whose guests have the given memory limit:
// the most its tree may hold, the limit of the memory cgroup the supervisor puts it in (see
// makeCgroups). Guests' memory counts twice: the cgroup also counts the page cache and kernel
// memory the worker's files and programs use, and a large Python state is encoded for a
// snapshot beside itself.
func Charge(memory int64) int64 { return 2*memory + workerOverhead }

// New returns a supervisor and starts filling its pool.
func New(opts ...Option) (*Supervisor, error) {
	c := supConfig{poolSize: 2, poolMax: -1, idle: 10 * time.Minute, grace: 500 * time.Millisecond, freeze: 30 * time.Second, freezes: 2,
		namespaces: NamespacesAvailable(), now: time.Now, log: slog.Default(),
		setup: Setup{Limits: runtime.DefaultLimits(), Confine: Confinement{Landlock: true, Seccomp: true}}}
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	if c.poolMax < 0 {
		c.poolMax = min(4*c.poolSize, max(16, c.poolSize))
	}
	if c.poolMax < c.poolSize {
		return nil, fmt.Errorf("worker: largest pool %d is less than the pool size %d", c.poolMax, c.poolSize)
	}
	c.argv0 = c.exe
	if c.exe == "" {
		c.exe, c.argv0 = selfExe, selfExe
		if exe, err := os.Executable(); err == nil {
			c.argv0 = exe
		}
	}
	build, err := fileBuildID(c.exe)
	if err != nil {
		return nil, fmt.Errorf("worker: read the build id of %s: %w", c.exe, err)
	}
	c.build = build
	if build != BuildID() {
		// The base image's hash the caller computed is its own binary's: a worker of another
		// binary (WithExecutable) computes its own.
		c.setup.BaseHash = ""
	}
	if c.langs != nil {
		c.setup.Languages = c.langs
	}
	if c.setup.CacheDir != "" && c.setup.Serves(runtime.Python) {
		// Compiling python.wasm takes more memory than a worker's cgroup allows: it is done
		// here, once, and workers load the machine code from the cache. Workers run it
		// uninterruptible (they are killed from outside at the deadline).
		p, err := wasm.Precompile(context.Background(), c.setup.CacheDir, false)
		if err != nil {
			return nil, err
		}
		debug.FreeOSMemory()
		c.log.Info("python.wasm compiled or loaded from the cache", "took", p.Took.Round(time.Millisecond), "cache", c.setup.CacheDir)
		if p.Skeleton == nil {
			c.log.Warn("workers will validate python.wasm as they start (0.4 s more each)", "err", p.SkeletonErr)
		} else if build == BuildID() {
			// Only workers of this binary: another's wazero (a test binary's is "dev") keeps its
			// cache entries elsewhere, and its python.wasm may differ.
			c.setup.Skeleton = p.Skeleton
		}
	}
	if c.setup.Confine.AddressSpace == 0 {
		c.setup.Confine.AddressSpace = AddressSpace(c.setup.Limits.Memory)
	}
	if c.setup.Confine.CPUSeconds == 0 {
		c.setup.Confine.CPUSeconds = 3600
	}
	if c.setup.Confine.FileSize == 0 {
		c.setup.Confine.FileSize = 64 << 20
	}
	c.setup.Confine.MountNS = c.namespaces
	c.setup.Confine.ExecCheck = false
	c.setup.Confine.CountForks = false
	switch {
	case c.namespaces:
		c.execWhy = "not needed (the workspace is mounted noexec, so the dynamic loader cannot map a file of it)"
		// A worker whose uid is root on the host is not bound by RLIMIT_NPROC: where it gets
		// no pids cgroup, the server counts its programs' forks through the same listener.
		if os.Geteuid() == 0 && c.setup.Confine.Seccomp && !c.noExecCheck {
			if err := execCheckWorks(c.exe); err != nil {
				c.log.Warn("the server cannot count programs' forks on this host", "err", err)
			} else {
				c.setup.Confine.CountForks = true
			}
		}
	case !c.setup.Confine.Seccomp:
		c.execWhy = "off (needs seccomp, which is off)"
	case c.noExecCheck:
		c.execWhy = "off (configured): the dynamic loader runs any file programs can read"
	default:
		if err := execCheckWorks(c.exe); err != nil {
			c.execWhy = "unavailable (" + err.Error() + "): the dynamic loader runs any file programs can read"
			c.log.Warn("the exec check is unavailable on this host", "err", err)
		} else {
			c.setup.Confine.ExecCheck = true
			c.execWhy = execCheckActive
			c.execAllowed = canonical(c.setup.Confine.Executables)
		}
	}
	c.charge = Charge(c.setup.Limits.Memory)
	if c.budget == 0 {
		c.budget = DefaultMemoryBudget()
	}
	if c.budget < c.charge {
		return nil, fmt.Errorf("worker: memory budget %d MiB is less than one worker's %d MiB", c.budget>>20, c.charge>>20)
	}
	workers := c.budget / c.charge
	if left := c.budget - int64(c.reserve+c.freezes)*c.charge; c.reserve > 0 && left > 0 {
		workers = max(workers, left/WorkerFloor+int64(c.reserve+c.freezes))
	}
	c.setup.Confine.Workers = int(workers) + maxParking
	s := &Supervisor{cfg: c, handles: map[*handle]struct{}{}, wake: make(chan struct{}, 1), stop: make(chan struct{}),
		freezing: make(chan struct{}, c.freezes), takes: make([]time.Time, c.poolMax), poolReady: make(chan struct{})}
	s.wg.Add(2)
	go s.fill()
	go s.janitor()
	s.kick()
	return s, nil
}

// AddressSpace is the RLIMIT_AS a worker gets for guests of the given memory limit. An idle
// worker maps about 1.6 GiB (Go's arena reservations, wazero's compiled code, 123 MB with numpy
// and pandas, read into the heap and then mapped, and guard regions) of which it uses about
// 200 MiB; a guest's memory may be mapped twice while it grows (wazero copies linear memory,
// Go's heap doubles before a collection).
func AddressSpace(memory int64) int64 { return 2*memory + 4<<29 }

// DefaultMemoryBudget is half of the memory of the machine, or of the container's cgroup limit
// when that is smaller.
func DefaultMemoryBudget() int64 {
	total := memTotal()
	if lim := cgroupLimit(); lim > 0 && lim < total {
		total = lim
	}
	if total <= 0 {
		total = 4 << 30
	}
	return total / 2
}

// Languages returns the languages workers serve.
func (s *Supervisor) Languages() []runtime.Language { return s.cfg.langs }

// Limits returns the limits workers are set up with.
func (s *Supervisor) Limits() runtime.Limits { return s.cfg.setup.Limits }

// Budget returns the memory budget and what one worker is charged.
func (s *Supervisor) Budget() (budget, charge int64) { return s.cfg.budget, s.cfg.charge }

// Stats describes the workers right now.
type Stats struct {
	Live   int `json:"live"`
	Pooled int `json:"pooled"`
	// PoolTarget is how many the pool keeps ready now (see [WithPoolMax]).
	PoolTarget int `json:"pool_target"`
	Bound      int `json:"bound"`
	// Parking counts workers being stopped (their state saved) to make room for others.
	Parking int `json:"parking"`
	// Held is what the memory budget charges the live workers, in bytes (see
	// [WithHeldCharge]), and Budget the budget.
	Held   int64 `json:"held"`
	Budget int64 `json:"budget"`
}

// Stats returns how many workers exist, wait in the pool and serve sessions.
func (s *Supervisor) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Live: s.live, Pooled: len(s.pool), PoolTarget: s.poolTargetLocked(s.cfg.now()), Parking: s.parking,
		Held: s.held, Budget: s.cfg.budget}
	for h := range s.handles {
		if h.p != nil {
			st.Bound++
		}
	}
	return st
}

// Layers returns the confinement layers a bound worker reported, plus the namespaces.
func (s *Supervisor) Layers() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for k, v := range s.layers {
		out[k] = v
	}
	if s.cfg.namespaces {
		out["namespaces"] = "active (user: guests run as uid 1000, never root; network: no interfaces; PID: nothing outlives the worker; IPC, UTS)"
	} else {
		why := NamespacesUnavailable()
		if why == "" {
			why = "switched off"
		}
		out["namespaces"] = "unavailable (" + why + ")"
	}
	out["process"] = "one worker process per session, own process group, killed with SIGKILL at the deadline; Pdeathsig"
	if s.cfg.execWhy != "" {
		out["exec_check"] = s.cfg.execWhy
	}
	return out
}

func (s *Supervisor) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// fill keeps the pool full while the budget allows, starting several workers at once while it
// is empty (see fillersLocked).
func (s *Supervisor) fill() {
	defer s.wg.Done()
	var starts sync.WaitGroup
	defer starts.Wait()
	for {
		select {
		case <-s.stop:
			return
		case <-s.wake:
		}
		for {
			s.mu.Lock()
			now := s.cfg.now()
			want := !s.closed && !now.Before(s.retryFill) && len(s.pool)+s.filling < s.poolTargetLocked(now) &&
				s.filling < s.fillersLocked() && s.fitsLocked()
			if want {
				s.admitLocked()
				s.filling++
			}
			s.mu.Unlock()
			if !want {
				break
			}
			starts.Add(1)
			go func() {
				defer starts.Done()
				if err := s.filled(s.fillOne()); err != nil {
					s.cfg.log.Warn("start worker", "err", err)
					select {
					case <-s.stop:
					case <-time.After(fillRetry):
					}
				}
				s.kick()
			}()
		}
	}
}

// fillers is how many workers the pool starts at once when it is empty: a start is CPU-bound
// (about 0.1 s of a core), so one at a time leaves cores idle while sessions wait for workers.
var fillers = max(1, min(goruntime.NumCPU(), 4))

// fillersLocked is how many workers the pool starts at once now: fillers when it is empty,
// else one, which leaves the other cores to the sessions' runs (two starts beside a new
// session's first figure on two cores made it 10% slower).
func (s *Supervisor) fillersLocked() int {
	if len(s.pool) == 0 {
		return fillers
	}
	return 1
}

// fillOne starts a worker, counted in live already, into the pool. It returns why it could
// not (nil also when the supervisor closed meanwhile).
func (s *Supervisor) fillOne() error {
	ctx, cancel := s.stopContext()
	p, err := s.start(ctx)
	cancel()
	s.mu.Lock()
	if err != nil || s.closed {
		s.forgetLocked(p)
		closed := s.closed
		s.mu.Unlock()
		if p != nil {
			p.kill()
		}
		if closed {
			return nil // a start cut short by Close is no failure
		}
		return err
	}
	p.pooledAt = s.cfg.now()
	s.pool = append(s.pool, p)
	s.mu.Unlock()
	return nil
}

// fillRetry is how long the pool waits to start workers again after a start failed.
const fillRetry = time.Second

// filled ends one of the pool's starts, which err says failed: the sessions waiting for it
// look again (and start their own, which says why, when the pool starts none), and after a
// failure the pool starts no worker for fillRetry. It returns err.
func (s *Supervisor) filled(err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.filling--
	if err != nil {
		s.retryFill = s.cfg.now().Add(fillRetry)
	}
	s.signalPoolLocked()
	return err
}

// signalPoolLocked wakes the sessions waiting for a worker the pool is starting.
func (s *Supervisor) signalPoolLocked() {
	close(s.poolReady)
	s.poolReady = make(chan struct{})
}

// demandWindow is how far back the sessions that took a worker count for the pool's size.
const demandWindow = 2 * time.Minute

// poolTargetLocked is how many workers the pool keeps ready now: one for each session that took
// a worker within demandWindow, at least the pool size and at most the largest pool. A burst of
// new sessions (clients that never keep a session make one per call) thus finds the workers its
// predecessors started; when it is over, the pool shrinks back (see StopIdle). Workers are
// started a few at a time (fillers) and only within the memory budget, so a larger pool never
// takes memory a session's worker needs: sessions take pooled workers first, and wait for one
// the pool is starting rather than start another beside it.
func (s *Supervisor) poolTargetLocked(now time.Time) int {
	n := 0
	for _, t := range s.takes {
		if !t.IsZero() && now.Sub(t) < demandWindow {
			n++
		}
	}
	return min(max(n, s.cfg.poolSize), s.cfg.poolMax)
}

// tookLocked records that a session took a worker.
func (s *Supervisor) tookLocked(now time.Time) {
	if len(s.takes) == 0 {
		return
	}
	s.takes[s.taken%len(s.takes)] = now
	s.taken++
}

func (s *Supervisor) fitsLocked() bool {
	if s.cfg.resident > 0 && s.bound() >= s.cfg.resident {
		return false
	}
	if int64(s.live+1)*s.cfg.charge <= s.cfg.budget {
		return true // even were every worker to hold its most
	}
	return s.cfg.reserve > 0 && s.held+WorkerFloor+s.reserveBytes() <= s.cfg.budget
}

// reserveBytes is the memory kept for the workers that run or freeze (see WithHeldCharge).
func (s *Supervisor) reserveBytes() int64 { return int64(s.cfg.reserve+s.cfg.freezes) * s.cfg.charge }

// startCharge is what a worker is charged from when it is counted until it says what it holds.
func (s *Supervisor) startCharge() int64 {
	if s.cfg.reserve > 0 {
		return WorkerFloor
	}
	return s.cfg.charge
}

// admitLocked counts a worker about to start.
func (s *Supervisor) admitLocked() {
	s.live++
	s.held += s.startCharge()
}

// forgetLocked stops counting a worker: p, or one whose start failed (nil).
func (s *Supervisor) forgetLocked(p *proc) {
	s.live--
	switch {
	case p == nil:
		s.held -= s.startCharge()
	case p.counted:
		s.held -= p.held
		p.counted = false
		if p.stopping {
			s.stopping -= p.held
			p.stopping = false
		}
	}
}

// stoppingLocked marks p, chosen to be stopped, as giving its memory back soon.
func (s *Supervisor) stoppingLocked(p *proc) {
	if p.counted && !p.stopping {
		p.stopping = true
		s.stopping += p.held
	}
}

// measure reads what p holds, under WithHeldCharge (see anonHeld): the kernel's count, read by
// the server, never the worker's word. It is -1 when it cannot be read, and 0 without
// WithHeldCharge.
func (s *Supervisor) measure(p *proc) int64 {
	if s.cfg.reserve == 0 {
		return 0
	}
	n, err := anonHeld(p.cmd.Process.Pid, p.memCgroup)
	if err != nil {
		return -1
	}
	return max(n, 1)
}

// noteHeldLocked charges p what it was measured holding (anon bytes; 0: nothing new), under
// WithHeldCharge: its worst case when that is negative (not measured), or when what the
// measure leaves out may hold more: programs of h's bash that are counted in no memory cgroup
// and may outlive their run, where no PID namespace ends them with it.
func (s *Supervisor) noteHeldLocked(p *proc, anon int64, h *handle) {
	if s.cfg.reserve == 0 || !p.counted || p.stopping || anon == 0 {
		return
	}
	if h != nil && h.used[runtime.Bash] && p.memCgroup == "" && !s.cfg.namespaces {
		anon = -1
	}
	p.measures++
	held := s.cfg.charge
	if anon > 0 {
		held = min(s.cfg.charge, max(WorkerFloor, anon+heldSlack))
	}
	s.held += held - p.held
	p.held = held
}

// shedLocked chooses workers to stop until the charges fit the budget again, when workers were
// measured holding more (see remeasure): pooled workers first (returned for the caller to
// kill), then idle sessions' (their state saved; returned for the caller to park), ranked for
// self (see victimLocked). Workers already being stopped count as gone.
func (s *Supervisor) shedLocked(self *handle) ([]*proc, []parked) {
	if s.cfg.reserve == 0 || int64(s.live)*s.cfg.charge <= s.cfg.budget {
		return nil, nil
	}
	over := s.held - s.stopping + s.reserveBytes() - s.cfg.budget
	var pooled []*proc
	for over > 0 && len(s.pool) > 0 {
		p := s.pool[len(s.pool)-1]
		s.pool = s.pool[:len(s.pool)-1]
		over -= p.held
		s.forgetLocked(p)
		pooled = append(pooled, p)
	}
	var out []parked
	for over > 0 && s.parking < maxParking {
		v := s.victimLocked(self)
		if v == nil {
			break
		}
		out = append(out, parked{v, v.p, v.used[runtime.Python]})
		over -= v.p.held
		s.stoppingLocked(v.p)
		v.p = nil
		s.parking++
		s.parks.Add(1)
	}
	return pooled, out
}

// parkShed parks the workers shedLocked chose for self, one goroutine each; as each is
// gone, more are chosen if the charges are still over (maxParking stopped the choice).
func (s *Supervisor) parkShed(self *handle, list []parked) {
	for _, v := range list {
		go func() {
			defer s.parks.Done()
			v.h.park(v.p, v.python)
			v.h.runMu.Unlock()
			s.mu.Lock()
			s.parking--
			s.forgetLocked(v.p)
			pooled, more := s.shedLocked(self)
			s.mu.Unlock()
			for _, p := range pooled {
				p.kill()
			}
			s.parkShed(self, more)
			s.kick()
		}()
	}
}

// bound counts the workers bound to sessions (with s.mu held).
func (s *Supervisor) bound() int {
	n := 0
	for h := range s.handles {
		if h.p != nil {
			n++
		}
	}
	return n
}

// stopContext is a context that ends when the supervisor closes, or when cancel is called.
func (s *Supervisor) stopContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-s.stop:
		case <-ctx.Done():
		}
		cancel()
	}()
	return ctx, cancel
}

// watch makes p's pending I/O fail at once when ctx ends. The function it returns stops
// watching; call it before p's deadline is set again.
func watch(ctx context.Context, p *proc) func() {
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(fired)
		p.conn.SetDeadline(time.Now())
	})
	return func() {
		if !stop() {
			<-fired
		}
	}
}

// callCtx sends m and waits for the reply until deadline or the end of ctx.
func (p *proc) callCtx(ctx context.Context, m *message, deadline time.Time) (*message, error) {
	defer watch(ctx, p)()
	return p.call(m, deadline)
}

// setupError is the error of a worker's failed setup reply: ErrVersion when the worker said it
// is another version or build, else what it said. A worker that failed before saying who it is
// (its root could not be built) is not another build.
func setupError(reply *message, build string) error {
	identified := reply.Version != 0 || reply.Build != ""
	if identified && (reply.Version != ProtocolVersion || reply.Build != build) {
		return fmt.Errorf("%w: %s", ErrVersion, reply.Error)
	}
	return errors.New(reply.Error)
}

// PythonLoads counts the workers started with Python by how they loaded python.wasm's machine
// code: through the skeleton's cache entry, or validating python.wasm first (0.4 s more).
func (s *Supervisor) PythonLoads() (skeleton, validated int64) {
	return s.loads[0].Load(), s.loads[1].Load()
}

// start spawns a worker and waits until its engines are ready.
func (s *Supervisor) start(ctx context.Context) (*proc, error) {
	p, err := startWorker(spawnOptions{exe: s.cfg.exe, argv0: s.cfg.argv0, namespaces: s.cfg.namespaces, memory: s.cfg.setup.Limits.Memory,
		noCgroups: s.cfg.noCgroups})
	if err != nil {
		return nil, err
	}
	setup := s.cfg.setup
	reply, err := p.callCtx(ctx, &message{Kind: kindSetup, Setup: &setup, Version: ProtocolVersion, Build: s.cfg.build}, time.Now().Add(2*time.Minute))
	if err == nil && reply.Kind != kindReady {
		err = fmt.Errorf("%w: want ready, got %q", errFrame, reply.Kind)
	}
	if err == nil && reply.Error != "" {
		err = setupError(reply, s.cfg.build)
	}
	if err == nil {
		err = checkPeer(reply.Version, reply.Build, s.cfg.build)
	}
	if err != nil {
		p.kill()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("worker: set up: %w", ctx.Err())
		}
		return nil, fmt.Errorf("worker: set up: %w (worker said: %s)", err, strings.TrimSpace(p.stderr.String()))
	}
	if reply.Notes != "" && s.readyNotes.CompareAndSwap(false, true) {
		s.cfg.log.Warn("a worker started slower than set up for (said once)", "notes", reply.Notes)
	}
	switch reply.Info[infoPythonLoad] {
	case loadSkeleton:
		s.loads[0].Add(1)
	case loadValidated:
		s.loads[1].Add(1)
	}
	// Measured once it gave back the heap its start left (see remeasure), not now.
	s.mu.Lock()
	p.held, p.counted = s.startCharge(), true
	s.mu.Unlock()
	return p, nil
}

// maxParking bounds the workers being stopped (their state saved) to make room for another
// session's, beyond the memory budget: nobody waits for those freezes, so the memory they
// still hold is lent, and only this much.
const maxParking = 2

// othersProtected is how recently another owner's session must have run for its worker not
// to be taken while it holds JavaScript or bash state (which a stop resets).
const othersProtected = time.Minute

// acquire returns a started worker for self: from the pool, or a new one. When the budget is
// spent it stops an idle worker (see victimLocked) without waiting for its state to be saved;
// when there is none, it fails with [runtime.ErrBusy].
func (s *Supervisor) acquire(ctx context.Context, self *handle) (*proc, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	for {
		for len(s.pool) > 0 {
			p := s.pool[0]
			s.pool = s.pool[1:]
			if p.alive() {
				s.tookLocked(s.cfg.now())
				s.mu.Unlock()
				s.kick()
				return p, nil
			}
			s.forgetLocked(p)
			p.conn.Close()
		}
		if s.filling == 0 {
			break
		}
		// The pool is starting workers: the first ready is this caller's, sooner than one
		// started beside them on the same cores.
		ready := s.poolReady
		s.mu.Unlock()
		select {
		case <-ready:
		case <-ctx.Done():
			return nil, fmt.Errorf("worker: set up: %w (%w)", ctx.Err(), errStartGoesOn)
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, ErrClosed
		}
	}
	if !s.fitsLocked() {
		var victim *handle
		if s.parking < maxParking {
			victim = s.victimLocked(self)
		}
		if victim == nil {
			s.mu.Unlock()
			return nil, fmt.Errorf("%w: the memory budget of %d MiB is taken by %d running sessions; try again in a few seconds",
				runtime.ErrBusy, s.cfg.budget>>20, s.live)
		}
		// The victim's worker is saved and stopped in the background; until it is gone its
		// memory is lent to this caller (at most maxParking such loans at once).
		p := victim.p
		victim.p = nil
		python := victim.used[runtime.Python]
		s.stoppingLocked(p)
		s.parking++
		s.admitLocked()
		s.parks.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.parks.Done()
			victim.park(p, python)
			victim.runMu.Unlock()
			s.mu.Lock()
			s.parking--
			s.forgetLocked(p)
			s.mu.Unlock()
			s.kick()
		}()
	} else {
		s.admitLocked()
		s.mu.Unlock()
	}
	p, err := s.startFor(ctx)
	if err != nil {
		if !errors.Is(err, errStartGoesOn) {
			s.mu.Lock()
			s.forgetLocked(nil)
			s.mu.Unlock()
		}
		return nil, err
	}
	// Only sessions that got a worker count as demand: refusals while the budget is spent, or
	// a start its caller stopped waiting for, would grow the pool just when memory is short.
	s.mu.Lock()
	s.tookLocked(s.cfg.now())
	s.mu.Unlock()
	s.kick()
	return p, nil
}

// errStartGoesOn: the caller stopped waiting for a worker's start, which goes on into the pool.
var errStartGoesOn = errors.New("the worker's start goes on")

// startFor starts a worker for a caller, counted in live already. A start the caller stops
// waiting for (its deadline passed, or it left) is not thrown away: it goes on, and the worker
// joins the pool, where the caller's next try finds it; with a limit shorter than a worker's
// start, killing it would make every try of a new session start again and fail the same way.
// The pool may then hold more than its size, within the memory budget like every worker.
func (s *Supervisor) startFor(ctx context.Context) (*proc, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	s.wg.Add(1) // before Close waits: it sets closed under s.mu first
	s.mu.Unlock()
	type started struct {
		p   *proc
		err error
	}
	done := make(chan started) // a send succeeds only while the caller waits
	abandoned := make(chan struct{})
	go func() {
		defer s.wg.Done()
		sctx, cancel := s.stopContext()
		p, err := s.start(sctx)
		cancel()
		select {
		case done <- started{p, err}:
			return
		case <-abandoned:
		}
		s.mu.Lock()
		if err != nil || s.closed {
			s.forgetLocked(p)
			s.mu.Unlock()
			if err == nil {
				p.kill()
			}
			return
		}
		p.pooledAt = s.cfg.now()
		s.pool = append(s.pool, p)
		s.signalPoolLocked()
		s.mu.Unlock()
		s.kick()
	}()
	select {
	case r := <-done:
		return r.p, r.err
	case <-ctx.Done():
		close(abandoned)
		return nil, fmt.Errorf("worker: set up: %w (%w)", ctx.Err(), errStartGoesOn)
	}
}

// victimLocked chooses the bound worker to stop for self, and returns it with its runMu held
// (so no run starts on it while it is parked). It takes only idle workers, best first: self's
// owner's own without JavaScript or bash state (Python's is saved, so nothing is lost), then
// self's owner's with such state, then other owners' without, then other owners' with, if
// they were not used for othersProtected; the least recently used first within each.
func (s *Supervisor) victimLocked(self *handle) *handle {
	now := s.cfg.now()
	rank := func(h *handle) int {
		r := 0
		if h.owner != self.owner {
			r = 2
		}
		if h.used[runtime.JavaScript] || h.used[runtime.TypeScript] || h.used[runtime.Bash] {
			r++
		}
		return r
	}
	var idle []*handle
	for h := range s.handles {
		if h == self || h.p == nil || h.running {
			continue
		}
		if rank(h) == 3 && now.Sub(h.lastUsed) < othersProtected {
			continue
		}
		idle = append(idle, h)
	}
	slices.SortFunc(idle, func(a, b *handle) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return a.lastUsed.Compare(b.lastUsed)
	})
	for _, h := range idle {
		if h.runMu.TryLock() {
			return h
		}
	}
	return nil
}

// release forgets p, a worker that is gone or being stopped.
func (s *Supervisor) release(p *proc) {
	s.mu.Lock()
	s.forgetLocked(p)
	s.mu.Unlock()
	s.kick()
}

// janitor stops workers idle for longer than the idle timeout and, under WithHeldCharge,
// measures what the workers hold every remeasureEvery.
func (s *Supervisor) janitor() {
	defer s.wg.Done()
	every := min(s.cfg.idle/4, 30*time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	var measures <-chan time.Time
	if s.cfg.reserve > 0 {
		m := time.NewTicker(remeasureEvery)
		defer m.Stop()
		measures = m.C
	}
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.StopIdle(s.cfg.idle)
		case <-measures:
			s.remeasure()
		}
	}
}

// remeasureEvery is how often the workers that do not run are measured again (see
// remeasure).
const remeasureEvery = 2 * time.Second

// remeasure measures again every worker that does not run, pooled or a session's, and stops
// workers while the charges are over the budget: what an idle worker holds is checked rather
// than assumed (its start's heap, given back after its first measure; anything that grows
// while no run goes on), within remeasureEvery.
func (s *Supervisor) remeasure() {
	s.mu.Lock()
	list := s.toMeasureLocked()
	s.mu.Unlock()
	for i := range list {
		list[i].held = s.measure(list[i].p)
	}
	s.mu.Lock()
	s.noteMeasuredLocked(list)
	self := &handle{}
	pooled, shed := s.shedLocked(self)
	s.mu.Unlock()
	for _, p := range pooled {
		p.kill()
	}
	s.parkShed(self, shed)
}

// measured is one of remeasure's measures.
type measured struct {
	p        *proc
	h        *handle // nil: pooled
	measures uint64  // p's measures when it was listed
	held     int64
}

// toMeasureLocked lists the workers remeasure measures: those that do not run.
func (s *Supervisor) toMeasureLocked() []measured {
	var list []measured
	for h := range s.handles {
		if h.p != nil && !h.running {
			list = append(list, measured{p: h.p, h: h, measures: h.p.measures})
		}
	}
	for _, p := range s.pool {
		list = append(list, measured{p: p, measures: p.measures})
	}
	return list
}

// noteMeasuredLocked charges what remeasure measured, except for workers charged by a later
// measure meanwhile (a run's end, a bind: theirs is fresher, and a run may have ended between
// the listing and the measure) and workers that run now (their run's end measures them).
func (s *Supervisor) noteMeasuredLocked(list []measured) {
	for _, m := range list {
		if m.p.measures != m.measures || (m.h != nil && (m.h.p != m.p || m.h.running)) {
			continue
		}
		s.noteHeldLocked(m.p, m.held, m.h)
	}
}

// StopIdle stops the workers of sessions idle for longer than d; it returns how many.
func (s *Supervisor) StopIdle(d time.Duration) int {
	now := s.cfg.now()
	var victims []parked
	s.mu.Lock()
	extra := s.trimPoolLocked(now)
	for h := range s.handles {
		if h.p != nil && !h.running && now.Sub(h.lastUsed) > d && h.runMu.TryLock() {
			victims = append(victims, parked{h, h.p, h.used[runtime.Python]})
			s.forgetLocked(h.p)
			h.p = nil
		}
	}
	s.mu.Unlock()
	for _, p := range extra {
		p.kill()
	}
	parkAll(victims)
	if len(victims) > 0 {
		s.kick()
	}
	return len(victims)
}

// trimPoolLocked takes out of the pool, and returns for the caller to stop, the workers beyond
// its target (see poolTargetLocked): the target fell when demand did, or a caller stopped
// waiting for a start that then joined the pool (see startFor). Only workers pooled for longer
// than extraPooled go, the longest pooled first, so a pool that just grew keeps its workers
// through a lull.
func (s *Supervisor) trimPoolLocked(now time.Time) []*proc {
	var extra []*proc
	for i, target := 0, s.poolTargetLocked(now); i < len(s.pool) && len(s.pool) > target; {
		if p := s.pool[i]; now.Sub(p.pooledAt) > extraPooled {
			extra = append(extra, p)
			s.pool = slices.Delete(s.pool, i, i+1)
			s.forgetLocked(p)
			continue
		}
		i++
	}
	return extra
}

// extraPooled is how long a worker stays in the pool beyond the pool's target: the target just
// fell, or its caller stopped waiting for its start.
const extraPooled = time.Minute

// parked is a session's worker being stopped, with its handle's runMu held.
type parked struct {
	h      *handle
	p      *proc
	python bool
}

// parkAll parks the workers at once (each freeze is bounded by freezeTimeout) and releases
// their handles.
func parkAll(list []parked) {
	var wg sync.WaitGroup
	for _, v := range list {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v.h.park(v.p, v.python)
			v.h.runMu.Unlock()
		}()
	}
	wg.Wait()
}

// Close stops every worker, pooled and bound, and waits for them to be gone.
func (s *Supervisor) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	procs := s.pool
	s.pool = nil
	var toPark []parked
	for h := range s.handles {
		if h.p != nil {
			// A graceful shutdown saves every idle session's Python state for the next start.
			if !h.running && h.runMu.TryLock() {
				toPark = append(toPark, parked{h, h.p, h.used[runtime.Python]})
			} else {
				procs = append(procs, h.p)
			}
			h.p = nil
		}
		h.closed = true
	}
	s.mu.Unlock()
	close(s.stop)
	s.wg.Wait()
	parkAll(toPark)
	for _, p := range procs {
		p.kill()
	}
	s.parks.Wait()
	return nil
}

// Open returns the interpreter of one session whose workspace is dir, owned by the owner ctx
// carries (see [WithOwner]). It starts no process: the first run binds a worker.
func (s *Supervisor) Open(ctx context.Context, dir string) (runtime.Interpreter, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	h := &handle{s: s, dir: dir, owner: OwnerOf(ctx), runMu: make(runLock, 1), lost: map[runtime.Language]bool{}, used: map[runtime.Language]bool{}, lastUsed: s.cfg.now()}
	s.handles[h] = struct{}{}
	return h, nil
}

// handle is one session's link to its worker. Fields but runMu are guarded by the
// supervisor's mu; runMu serializes runs.
type handle struct {
	s        *Supervisor
	dir      string
	owner    string
	runMu    runLock
	p        *proc
	running  bool
	lastUsed time.Time
	used     map[runtime.Language]bool // languages with state in the current worker
	lost     map[runtime.Language]bool // languages whose state a stopped worker took along
	closed   bool
	// restored and thawErr are for the next Python run: which saved state came back, or why
	// none could.
	restored string
	thawErr  string
}

// runLock serializes a session's runs and the stop of its worker. Unlike a mutex, waiting for
// it ends when the caller's time does.
type runLock chan struct{}

func (l runLock) TryLock() bool {
	select {
	case l <- struct{}{}:
		return true
	default:
		return false
	}
}

func (l runLock) lock(ctx context.Context) error {
	if l.TryLock() {
		return nil // free: taken even when ctx has ended
	}
	select {
	case l <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l runLock) Unlock() { <-l }

func (h *handle) lostAll() {
	for l := range h.used {
		h.lost[l] = true
	}
	h.used = map[runtime.Language]bool{}
}

// Close implements [runtime.Interpreter]: it stops the session's worker.
func (h *handle) Close() error {
	s := h.s
	s.mu.Lock()
	p := h.p
	h.p = nil
	h.closed = true
	delete(s.handles, h)
	if p != nil {
		s.forgetLocked(p)
	}
	s.mu.Unlock()
	if p != nil {
		p.kill()
		s.kick()
	}
	return nil
}

// Run implements [runtime.Interpreter]. The run's time limit counts from when its worker is
// ready, or from the caller's [runtime.Request.Deadline] when that comes sooner: waiting for
// the session's worker to be stopped, for a new one to start and for the saved state to be
// restored is then taken from it, and when nothing is left the code does not run.
func (h *handle) Run(ctx context.Context, req runtime.Request) (*runtime.Result, error) {
	s := h.s
	limits := req.Limits
	if limits == (runtime.Limits{}) {
		limits = s.cfg.setup.Limits
	}
	req.Limits = limits.WithDefaults()
	asked, limit := time.Now(), req.Limits.Timeout
	wait := ctx
	if !req.Deadline.IsZero() {
		var cancel context.CancelFunc
		wait, cancel = context.WithDeadline(ctx, req.Deadline.Add(s.cfg.grace))
		defer cancel()
	}
	// timeUp is the answer when the caller's time ran out before the code could run.
	timeUp := func(why string) *runtime.Result {
		return &runtime.Result{Duration: time.Since(asked), ExitCode: -1, Error: &runtime.Error{Kind: runtime.ErrTimeout,
			Message: fmt.Sprintf("the %s time limit ran out before the code could run (%s); nothing ran, try again", limit, why)}}
	}
	if err := h.runMu.lock(wait); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return timeUp("the session's previous worker was still being stopped"), nil
	}
	defer h.runMu.Unlock()

	s.mu.Lock()
	if h.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	h.running = true
	h.lastUsed = s.cfg.now()
	p := h.p
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		h.running = false
		h.lastUsed = s.cfg.now()
		s.mu.Unlock()
	}()

	if p != nil && (!p.alive() || p.hungUp()) {
		// It died between runs (killed from outside, out of memory): start afresh.
		h.drop(p)
		p = nil
	}
	// The run's time limit counts from when its worker is ready, before a saved state is
	// restored: restoring runs guest code (the driver calls functions the guest may have
	// replaced), so it is part of the run. Starting a worker is not, unless the caller's
	// deadline comes first.
	start := time.Now()
	waited := "it was spent waiting for the session's previous run or an execution slot"
	if p == nil {
		waited = "starting the session's worker took it: the server is busy"
		var err error
		p, start, err = h.bind(wait, limit+s.cfg.grace)
		switch tf := (*thawFailed)(nil); {
		case errors.Is(err, errThawTimeout):
			return &runtime.Result{Duration: time.Since(start), ExitCode: -1, StateReset: true, Error: &runtime.Error{Kind: runtime.ErrTimeout,
				Message: fmt.Sprintf("restoring the session's saved Python state did not finish within the %s time limit, so it was discarded; the session's state was reset (files remain)", limit)}}, nil
		case errors.As(err, &tf):
			return &runtime.Result{Duration: time.Since(start), ExitCode: -1, StateReset: true, Error: &runtime.Error{Kind: runtime.ErrorKind(tf.kind),
				Message: tf.why + " while restoring the session's saved Python state, so it was discarded; the session's state was reset (files remain)"}}, nil
		case errors.Is(err, errThawShort) && ctx.Err() == nil:
			return timeUp("restoring the session's saved Python state took the rest of it; the saved state is kept"), nil
		case errors.Is(err, errStartGoesOn) && ctx.Err() == nil:
			return timeUp(waited + "; the worker goes on starting for the next try"), nil
		case err != nil && ctx.Err() == nil && wait.Err() != nil:
			return timeUp(waited), nil
		case err != nil:
			return nil, err
		}
	}
	deadline := start.Add(limit + s.cfg.grace)
	if !req.Deadline.IsZero() && req.Deadline.Add(s.cfg.grace).Before(deadline) {
		deadline = req.Deadline.Add(s.cfg.grace)
	}
	// What the restore and the caller's waits took is taken from the run's own limit.
	if left := time.Until(deadline) - s.cfg.grace; left < req.Limits.Timeout {
		if left < minRun {
			// The worker stays bound, its state restored, for the next run.
			return timeUp(waited), nil
		}
		req.Limits.Timeout = left
	}
	req.Deadline = time.Time{}

	refusedBefore := p.forksRefused()
	reply, err := p.callCtx(ctx, &message{Kind: kindRun, Request: &req}, deadline)

	held := int64(0)
	if err == nil && reply.Kind == kindResult && !reply.Retire {
		held = s.measure(p)
	}
	s.mu.Lock()
	lostBefore := h.lost[req.Language]
	delete(h.lost, req.Language)
	h.used[req.Language] = true
	// Charged now, so that no worker is admitted beside it; what it holds beyond the
	// budget stops others at the next remeasure, by when the heap a new worker's start left
	// is given back (stopping sessions for it would be for nothing).
	s.noteHeldLocked(p, held, h)
	restored, thawErr := "", ""
	if req.Language == runtime.Python {
		restored, thawErr = h.restored, h.thawErr
		h.restored, h.thawErr = "", ""
	}
	s.mu.Unlock()

	if err == nil && reply.Kind == kindResult && reply.Error == "" && reply.Result != nil {
		res := reply.Result.result()
		res.StateReset = res.StateReset || lostBefore || thawErr != ""
		if !res.StateReset {
			res.StateRestored = restored
		}
		if thawErr != "" {
			res.Stderr = "[wasmbox] the session's saved Python state could not be restored: " + thawErr + "; Python started afresh\n" + res.Stderr
		}
		if n := p.forksRefused() - refusedBefore; n > 0 {
			res.Stderr += fmt.Sprintf("[wasmbox] the programs reached the limit of %d processes; %d attempts to start another failed\n", MaxProcesses, n)
		}
		if reply.Retire {
			// The guest could not be stopped in time: its worker goes, and Python continues
			// from the session's last snapshot, if there is one.
			h.drop(p)
			if note := h.snapshotNote(); note != "" && res.Error != nil {
				res.Error.Message = strings.Replace(res.Error.Message, "Python state was reset (variables and imports are gone, files remain)", note, 1)
			}
		}
		return res, nil
	}
	if err == nil && reply.Kind == kindResult && reply.Error != "" {
		// wasmbox failed inside the worker (not the guest): say so, keep the worker.
		return nil, fmt.Errorf("worker: %s", reply.Error)
	}

	// The worker missed its deadline, broke the protocol or died: it is stopped, and the
	// session continues in a new worker with its files but without its state.
	timedOut := errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() == nil
	if timedOut || ctx.Err() != nil {
		p.kill() // at the deadline, or the caller gave up: the guest is still running
	}
	kind, why := p.exitReason()
	h.drop(p)
	if ctx.Err() != nil && !timedOut {
		return nil, ctx.Err()
	}
	res := &runtime.Result{Duration: time.Since(start), ExitCode: -1, StateReset: true}
	after := "the session's state was reset (variables and imports are gone, files remain)"
	if note := h.snapshotNote(); note != "" {
		after = note + "; JavaScript and bash state was reset"
	}
	switch {
	case timedOut:
		res.Error = &runtime.Error{Kind: runtime.ErrTimeout, Message: fmt.Sprintf("execution stopped after the %s time limit; %s", req.Limits.Timeout, after)}
	default:
		res.Error = &runtime.Error{Kind: runtime.ErrorKind(kind), Message: why + "; " + after}
	}
	return res, nil
}

// minRun is the least time limit a run is started with; when less of the caller's time is
// left, the code does not run.
const minRun = 20 * time.Millisecond

// Errors of restoring a saved state that end the worker; the snapshot is discarded, except
// after errThawShort.
var (
	// errThawTimeout is a restore that did not finish within the run's limit.
	errThawTimeout = errors.New("worker: restore timed out")
	// errThawShort is a restore that did not finish in what was left of the caller's time,
	// less than the run's limit: the snapshot is not to blame, and is kept.
	errThawShort = errors.New("worker: restore cut short by the caller's deadline")
	// errThawFailed is a restore during which the worker died; the error is a *thawFailed.
	errThawFailed = errors.New("worker: the worker died restoring the session's state")
)

// thawFailed is errThawFailed with how the worker ended.
type thawFailed struct{ kind, why string }

func (e *thawFailed) Error() string        { return errThawFailed.Error() + ": " + e.why }
func (e *thawFailed) Is(target error) bool { return target == errThawFailed }

// bind takes a worker and confines it to the session's workspace, then restores the session's
// saved Python state within limit (a run's limit and the grace) of the moment the worker was
// ready, which it returns, or by the end of ctx when that comes first. A restore that had at
// least the run's limit had its whole time (see thaw).
func (h *handle) bind(ctx context.Context, limit time.Duration) (*proc, time.Time, error) {
	p, err := h.bindWorker(ctx)
	ready := time.Now()
	if err != nil {
		return nil, ready, err
	}
	by := ready.Add(limit)
	if end, ok := ctx.Deadline(); ok && end.Before(by) {
		by = end
	}
	whole := by.Sub(ready) >= limit-h.s.cfg.grace
	if err := h.thaw(ctx, p, by, whole); err != nil {
		p.kill()
		h.s.release(p)
		return nil, ready, err
	}
	s := h.s
	held := s.measure(p) // with the state restored
	s.mu.Lock()
	s.noteHeldLocked(p, held, h)
	if h.closed || s.closed {
		s.mu.Unlock()
		p.kill()
		s.release(p)
		return nil, ready, ErrClosed
	}
	h.p = p
	s.mu.Unlock()
	return p, ready, nil
}

// bindWorker takes a worker and confines it to the session's workspace.
func (h *handle) bindWorker(ctx context.Context) (*proc, error) {
	s := h.s
	p, err := s.acquire(ctx, h)
	if err != nil {
		return nil, err
	}
	reply, err := p.callCtx(ctx, &message{Kind: kindBind, Bind: h.dir}, time.Now().Add(30*time.Second))
	if err == nil && (reply.Kind != kindBound || reply.Error != "") {
		err = fmt.Errorf("%w: bind: %s %s", errFrame, reply.Kind, reply.Error)
	}
	if err != nil {
		p.kill()
		s.release(p)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("worker: bind to workspace: %w (worker said: %s)", err, strings.TrimSpace(p.stderr.String()))
	}
	if c := s.cfg.setup.Confine; c.ExecCheck || c.CountForks && reply.ProgramForks > 0 {
		// Until the guard answers, the worker's programs wait in execve (or fork). A worker
		// that counts forks made a listener only if it got no pids cgroup (ProgramForks).
		// With the exec check (no mount namespace) the guard also carries out the programs'
		// chmod calls, in the workspace only.
		ws := ""
		if c.ExecCheck {
			ws = h.dir
		}
		g, err := takeExecListener(p.cmd.Process.Pid, reply.ExecListener, s.cfg.execAllowed,
			programLimits{nproc: reply.ProgramNproc, processes: int(reply.ProgramForks)}, ws, s.cfg.log)
		if err != nil {
			p.kill()
			s.release(p)
			return nil, fmt.Errorf("worker: take its exec listener: %w", err)
		}
		p.setGuard(g)
	}
	held := s.measure(p)
	s.mu.Lock()
	s.layers = reply.Info
	s.noteHeldLocked(p, held, h)
	s.mu.Unlock()
	return p, nil
}

// drop forgets p after it retired or died during a run. Every language with state in it says
// so on its next run, the one that was running included (as an interpreter does after it was
// stopped: see [runtime.Result.StateReset]).
func (h *handle) drop(p *proc) {
	s := h.s
	s.mu.Lock()
	mine := h.p == p
	if mine {
		h.p = nil
		h.lostAll()
	}
	s.mu.Unlock()
	p.kill()
	if mine {
		s.release(p)
	}
}

// SnapshotStore keeps each session's saved Python state for the supervisor. Package sessions
// provides it: the state is part of the session on disk. Its keys are the workspace
// directories given to [Supervisor.Open]. Snapshots are streamed through it, never held whole
// in memory. Implementations are safe for concurrent use.
type SnapshotStore interface {
	// Open returns the saved state and when it was saved; an error wrapping os.ErrNotExist
	// when there is none.
	Open(workspace string) (io.ReadCloser, time.Time, error)
	// Create starts a new saved state; it replaces the old one only when committed.
	Create(workspace string) (SnapshotWriter, error)
	// Remove forgets the saved state.
	Remove(workspace string)
	// Saved reports when the state was saved, if there is one.
	Saved(workspace string) (time.Time, bool)
}

// SnapshotWriter is a saved state being written. Exactly one of Commit and Abort is called.
type SnapshotWriter interface {
	io.Writer
	// Commit makes what was written the saved state, durably.
	Commit() error
	// Abort throws away what was written; the old saved state stays.
	Abort()
}

// WithSnapshotStore makes stopped workers save their session's Python state in st, and new
// workers of the session restore it. Without a store, a stopped worker's state is lost.
func WithSnapshotStore(st SnapshotStore) Option {
	return func(c *supConfig) error { c.snapshots = st; return nil }
}

// snapshotNote says which saved state Python continues from after a run was stopped; "" when
// the session has none.
func (h *handle) snapshotNote() string {
	st := h.s.cfg.snapshots
	if st == nil {
		return ""
	}
	saved, ok := st.Saved(h.dir)
	if !ok {
		return ""
	}
	return fmt.Sprintf("Python continues from the session's snapshot of %s (variables and imports since then are gone, files remain)",
		saved.UTC().Format(time.RFC3339))
}

// park stops a session's worker, first saving its Python state (when it has any) so the next
// worker continues from it. The caller holds h.runMu and has taken p from h. At most
// cfg.freezes freezes run at once; each is bounded by cfg.freeze.
func (h *handle) park(p *proc, python bool) {
	s := h.s
	frozen := false
	if python && s.cfg.snapshots != nil {
		s.freezing <- struct{}{}
		frozen = h.freeze(p)
		<-s.freezing
	}
	p.kill()
	s.mu.Lock()
	h.lostAll()
	if frozen {
		delete(h.lost, runtime.Python)
	}
	s.mu.Unlock()
}

// Save writes the session's Python state, when its worker holds one, to the snapshot store
// now, and keeps the worker (cluster mode commits the snapshot with the session's files after
// every run). A session whose worker is stopped already has its newest state saved.
func (h *handle) Save(ctx context.Context) error {
	s := h.s
	if s.cfg.snapshots == nil {
		return nil
	}
	if err := h.runMu.lock(ctx); err != nil {
		return err
	}
	defer h.runMu.Unlock()
	s.mu.Lock()
	p, python := h.p, h.used[runtime.Python]
	s.mu.Unlock()
	if p == nil || !python || !p.alive() {
		return nil
	}
	select {
	case s.freezing <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	err := h.saveState(p)
	<-s.freezing
	if errors.Is(err, errNoState) {
		return nil
	}
	if err != nil {
		// The worker may be part way through a stream: it is not used again, and the older
		// snapshot goes too (it would bring back an older state than the user last saw).
		h.drop(p)
		s.cfg.snapshots.Remove(h.dir)
		s.mu.Lock()
		h.thawErr = "saving it after the last run failed: " + err.Error()
		s.mu.Unlock()
	}
	return err
}

// errNoState is a freeze of a worker whose Python holds no state.
var errNoState = errors.New("worker: no state to save")

// freeze asks p for the session's Python state and streams it into the store; it reports
// whether the state was saved. When it could not be (over the cap, a guest that stalls it past
// the deadline, a broken worker) the old snapshot goes too (it would bring back an older state
// than the user last saw) and the next run says why.
func (h *handle) freeze(p *proc) bool {
	s := h.s
	err := h.saveState(p)
	if err == nil {
		return true
	}
	if errors.Is(err, errNoState) {
		return false
	}
	s.cfg.snapshots.Remove(h.dir)
	why := "saving it failed: " + err.Error()
	if errors.Is(err, os.ErrDeadlineExceeded) {
		why = fmt.Sprintf("saving it did not finish within %s (an open file whose flush() never returns?), so its worker was stopped", s.cfg.freeze)
	}
	s.mu.Lock()
	h.thawErr = why
	s.mu.Unlock()
	s.cfg.log.Warn("freeze session", "dir", h.dir, "err", err, "worker", lastLine(p.stderr.String()))
	return false
}

// snapshotMax bounds a snapshot a worker may send: a worker is not trusted with the
// supervisor's disk.
func (s *Supervisor) snapshotMax() int64 {
	if c := s.cfg.setup.SnapshotCap; c > 0 {
		return c + 1<<20
	}
	return s.cfg.setup.Limits.Memory + 1<<20
}

func (h *handle) saveState(p *proc) error {
	s := h.s
	p.conn.SetDeadline(time.Now().Add(s.cfg.freeze))
	if err := writeMessage(p.conn, &message{Kind: kindFreeze}); err != nil {
		return err
	}
	reply, err := readMessage(p.conn)
	switch {
	case err != nil:
		return err
	case reply.Kind != kindFrozen:
		return fmt.Errorf("%w: want frozen, got %q", errFrame, reply.Kind)
	case reply.Error != "":
		return errors.New(reply.Error)
	case !reply.Stream:
		return errNoState
	}
	w, err := s.cfg.snapshots.Create(h.dir)
	if err != nil {
		return err
	}
	sr := newStreamReader(p.conn, s.snapshotMax())
	if _, err := io.Copy(w, sr); err != nil {
		w.Abort()
		if errors.Is(err, errStreamAborted) {
			return errors.New(strings.TrimPrefix(err.Error(), errStreamAborted.Error()+": "))
		}
		return err
	}
	return w.Commit()
}

// thaw streams the session's saved Python state, when there is one, into a new worker, by
// deadline, which is the run's whole limit when whole is set. A snapshot that cannot be used
// is removed, and the next Python run says why. It returns an error only when p is to be
// stopped: errThawTimeout when the restore did not end within the whole limit (the snapshot is
// removed), errThawShort when it did not end by a shorter deadline (it is kept), or the
// channel broke.
func (h *handle) thaw(ctx context.Context, p *proc, deadline time.Time, whole bool) error {
	s := h.s
	st := s.cfg.snapshots
	if st == nil {
		return nil
	}
	f, saved, err := st.Open(h.dir)
	if err != nil {
		return nil
	}
	defer f.Close()
	stop := watch(ctx, p)
	p.conn.SetDeadline(deadline)
	err = sendStream(p.conn, &message{Kind: kindThaw}, f)
	var reply *message
	if err == nil {
		reply, err = readMessage(p.conn)
	}
	stop()
	switch {
	case !whole && (errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded)):
		return errThawShort
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, os.ErrDeadlineExceeded):
		st.Remove(h.dir)
		s.cfg.log.Warn("thaw session: the restore did not finish in time; snapshot discarded", "dir", h.dir)
		return errThawTimeout
	case err != nil:
		// The worker died restoring it (out of memory, a crash): the same snapshot would kill
		// the next one too.
		st.Remove(h.dir)
		s.cfg.log.Warn("thaw session: the worker died; snapshot discarded", "dir", h.dir, "err", err, "worker", lastLine(p.stderr.String()))
		kind, why := p.exitReason()
		return &thawFailed{kind: kind, why: why}
	}
	if reply.Kind != kindThawed {
		return fmt.Errorf("%w: want thawed, got %q", errFrame, reply.Kind)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if reply.Error != "" {
		st.Remove(h.dir)
		h.thawErr = reply.Error
		return nil
	}
	h.restored = "Python state restored from the snapshot saved at " + saved.UTC().Format(time.RFC3339)
	if reply.Notes != "" {
		h.restored += "; " + reply.Notes
	}
	h.used[runtime.Python] = true
	delete(h.lost, runtime.Python)
	return nil
}

// ownerKey is the context key of [WithOwner].
type ownerKey struct{}

// WithOwner returns a context that tells [Supervisor.Open] who owns the session (an opaque
// key: an API key's hash). When the memory budget is full, a session's worker is preferably
// made room for by stopping its own owner's idle workers, not other owners'.
func WithOwner(ctx context.Context, owner string) context.Context {
	return context.WithValue(ctx, ownerKey{}, owner)
}

// OwnerOf returns the owner [WithOwner] put in ctx, "" when none.
func OwnerOf(ctx context.Context) string {
	o, _ := ctx.Value(ownerKey{}).(string)
	return o
}
