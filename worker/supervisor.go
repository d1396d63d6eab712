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
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"wasmbox/runtime"
)

// Supervisor starts, pools, binds and stops worker processes. It is safe for concurrent use.
type Supervisor struct {
	cfg     supConfig
	mu      sync.Mutex
	live    int // processes alive or starting: pooled, bound and in setup
	pool    []*proc
	handles map[*handle]struct{}
	layers  map[string]string // what the last bound worker reported
	wake    chan struct{}
	stop    chan struct{}
	wg      sync.WaitGroup
	closed  bool
}

type supConfig struct {
	exe        string
	poolSize   int
	setup      Setup
	budget     int64
	charge     int64
	idle       time.Duration
	grace      time.Duration
	namespaces bool
	langs      []runtime.Language
	now        func() time.Time
	log        *slog.Logger
	resident   int
	snapshots  SnapshotStore
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

// WithExecutable sets the wasmbox binary started in worker mode (default: this process's own).
func WithExecutable(path string) Option {
	return func(c *supConfig) error { c.exe = path; return nil }
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

// WithLanguages sets the languages workers serve (as reported by [Supervisor.Languages]).
func WithLanguages(langs ...runtime.Language) Option {
	return func(c *supConfig) error { c.langs = langs; return nil }
}

// WithLogger sets where the supervisor logs.
func WithLogger(l *slog.Logger) Option {
	return func(c *supConfig) error { c.log = l; return nil }
}

// workerOverhead is what a worker costs besides its guests' memory: the Go runtime, wazero's
// compiled python.wasm (a private copy per process), goja and buffers.
const workerOverhead = 96 << 20

// New returns a supervisor and starts filling its pool.
func New(opts ...Option) (*Supervisor, error) {
	c := supConfig{poolSize: 2, idle: 10 * time.Minute, grace: 500 * time.Millisecond,
		namespaces: NamespacesAvailable(), now: time.Now, log: slog.Default(),
		setup: Setup{Limits: runtime.DefaultLimits(), Confine: Confinement{Landlock: true, Seccomp: true}}}
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	if c.exe == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("worker: find the wasmbox binary: %w", err)
		}
		c.exe = exe
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
	c.charge = c.setup.Limits.Memory + workerOverhead
	if c.budget == 0 {
		c.budget = DefaultMemoryBudget()
	}
	if c.budget < c.charge {
		return nil, fmt.Errorf("worker: memory budget %d MiB is less than one worker's %d MiB", c.budget>>20, c.charge>>20)
	}
	s := &Supervisor{cfg: c, handles: map[*handle]struct{}{}, wake: make(chan struct{}, 1), stop: make(chan struct{})}
	s.wg.Add(2)
	go s.fill()
	go s.janitor()
	s.kick()
	return s, nil
}

// AddressSpace is the RLIMIT_AS a worker gets for guests of the given memory limit. An idle
// worker maps about 1.4 GiB (Go's arena reservations, wazero's compiled code and guard
// regions) of which it uses about 90 MiB; a guest's memory may be mapped twice while it grows
// (wazero copies linear memory, Go's heap doubles before a collection).
func AddressSpace(memory int64) int64 { return 2*memory + 3<<29 }

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
	Bound  int `json:"bound"`
}

// Stats returns how many workers exist, wait in the pool and serve sessions.
func (s *Supervisor) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Live: s.live, Pooled: len(s.pool)}
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
		out["namespaces"] = "unavailable (this user may not create user namespaces)"
	}
	out["process"] = "one worker process per session, own process group, killed with SIGKILL at the deadline; Pdeathsig"
	return out
}

func (s *Supervisor) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// fill keeps the pool full while the budget allows.
func (s *Supervisor) fill() {
	defer s.wg.Done()
	for {
		select {
		case <-s.stop:
			return
		case <-s.wake:
		}
		for {
			s.mu.Lock()
			want := !s.closed && len(s.pool) < s.cfg.poolSize && s.fitsLocked()
			if want {
				s.live++
			}
			s.mu.Unlock()
			if !want {
				break
			}
			p, err := s.start()
			s.mu.Lock()
			if err != nil || s.closed {
				s.live--
				s.mu.Unlock()
				if p != nil {
					p.kill()
				}
				if err != nil {
					s.cfg.log.Warn("start worker", "err", err)
					select {
					case <-s.stop:
						return
					case <-time.After(time.Second):
					}
				}
				continue
			}
			s.pool = append(s.pool, p)
			s.mu.Unlock()
		}
	}
}

func (s *Supervisor) fitsLocked() bool {
	if s.cfg.resident > 0 && s.bound() >= s.cfg.resident {
		return false
	}
	return int64(s.live+1)*s.cfg.charge <= s.cfg.budget
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

// start spawns a worker and waits until its engines are ready.
func (s *Supervisor) start() (*proc, error) {
	p, err := startWorker(spawnOptions{exe: s.cfg.exe, namespaces: s.cfg.namespaces, memory: s.cfg.setup.Limits.Memory})
	if err != nil {
		return nil, err
	}
	// A snapshot is at most the cap (or, without one, a little over the guest's memory).
	p.blobMax = int(s.cfg.setup.Limits.Memory) + 1<<20
	if c := s.cfg.setup.SnapshotCap; c > 0 {
		p.blobMax = int(c) + 1<<20
	}
	setup := s.cfg.setup
	reply, err := p.call(&message{Kind: kindSetup, Setup: &setup}, time.Now().Add(2*time.Minute))
	if err == nil && reply.Kind != kindReady {
		err = fmt.Errorf("%w: want ready, got %q", errFrame, reply.Kind)
	}
	if err == nil && reply.Error != "" {
		err = errors.New(reply.Error)
	}
	if err != nil {
		p.kill()
		return nil, fmt.Errorf("worker: set up: %w (worker said: %s)", err, strings.TrimSpace(p.stderr.String()))
	}
	return p, nil
}

// acquire returns a started worker: from the pool, or a new one. When the budget is spent it
// stops the least recently used idle worker of another session; when there is none, it fails
// with [runtime.ErrBusy].
func (s *Supervisor) acquire(self *handle) (*proc, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	for len(s.pool) > 0 {
		p := s.pool[0]
		s.pool = s.pool[1:]
		if p.alive() {
			s.mu.Unlock()
			s.kick()
			return p, nil
		}
		s.live--
		p.conn.Close()
	}
	if !s.fitsLocked() {
		victim := s.idlestLocked(self)
		if victim == nil {
			s.mu.Unlock()
			return nil, fmt.Errorf("%w: the memory budget of %d MiB is taken by %d running sessions; try again in a few seconds",
				runtime.ErrBusy, s.cfg.budget>>20, s.live)
		}
		// The victim's share of the budget passes to this caller directly, so nothing else
		// can take it in between. Its Python state is saved first (see handle.park).
		p := victim.p
		victim.p = nil
		python := victim.used[runtime.Python]
		s.mu.Unlock()
		victim.park(p, python)
		victim.runMu.Unlock()
	} else {
		s.live++
		s.mu.Unlock()
	}
	p, err := s.start()
	if err != nil {
		s.mu.Lock()
		s.live--
		s.mu.Unlock()
		return nil, err
	}
	s.kick()
	return p, nil
}

// idlestLocked finds the bound worker idle the longest, not self's and not running, and
// returns it with its runMu held (so no run starts on it while it is parked).
func (s *Supervisor) idlestLocked(self *handle) *handle {
	var idle []*handle
	for h := range s.handles {
		if h != self && h.p != nil && !h.running {
			idle = append(idle, h)
		}
	}
	slices.SortFunc(idle, func(a, b *handle) int { return a.lastUsed.Compare(b.lastUsed) })
	for _, h := range idle {
		if h.runMu.TryLock() {
			return h
		}
	}
	return nil
}

// release forgets a worker that is gone or being stopped.
func (s *Supervisor) release() {
	s.mu.Lock()
	s.live--
	s.mu.Unlock()
	s.kick()
}

// janitor stops workers idle for longer than the idle timeout.
func (s *Supervisor) janitor() {
	defer s.wg.Done()
	every := min(s.cfg.idle/4, 30*time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.StopIdle(s.cfg.idle)
		}
	}
}

// StopIdle stops the workers of sessions idle for longer than d; it returns how many.
func (s *Supervisor) StopIdle(d time.Duration) int {
	now := s.cfg.now()
	var victims []parked
	s.mu.Lock()
	for h := range s.handles {
		if h.p != nil && !h.running && now.Sub(h.lastUsed) > d && h.runMu.TryLock() {
			victims = append(victims, parked{h, h.p, h.used[runtime.Python]})
			h.p = nil
			s.live--
		}
	}
	s.mu.Unlock()
	parkAll(victims)
	if len(victims) > 0 {
		s.kick()
	}
	return len(victims)
}

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
	return nil
}

// Open returns the interpreter of one session whose workspace is dir. It starts no process:
// the first run binds a worker.
func (s *Supervisor) Open(ctx context.Context, dir string) (runtime.Interpreter, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	h := &handle{s: s, dir: dir, lost: map[runtime.Language]bool{}, used: map[runtime.Language]bool{}, lastUsed: s.cfg.now()}
	s.handles[h] = struct{}{}
	return h, nil
}

// handle is one session's link to its worker. Fields but runMu are guarded by the
// supervisor's mu; runMu serializes runs.
type handle struct {
	s        *Supervisor
	dir      string
	runMu    sync.Mutex
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
		s.live--
	}
	s.mu.Unlock()
	if p != nil {
		p.kill()
		s.kick()
	}
	return nil
}

// Run implements [runtime.Interpreter].
func (h *handle) Run(ctx context.Context, req runtime.Request) (*runtime.Result, error) {
	h.runMu.Lock()
	defer h.runMu.Unlock()
	s := h.s
	limits := req.Limits
	if limits == (runtime.Limits{}) {
		limits = s.cfg.setup.Limits
	}
	req.Limits = limits.WithDefaults()

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
	if p == nil {
		var err error
		if p, err = h.bind(); err != nil {
			return nil, err
		}
	}

	start := time.Now()
	deadline := start.Add(req.Limits.Timeout + s.cfg.grace)
	watched := make(chan struct{})
	stopWatch := context.AfterFunc(ctx, func() {
		defer close(watched)
		p.conn.SetDeadline(time.Now())
	})
	reply, err := p.call(&message{Kind: kindRun, Request: &req}, deadline)
	if !stopWatch() {
		<-watched // it ran: let it finish before the next call sets its own deadline
	}

	s.mu.Lock()
	lostBefore := h.lost[req.Language]
	delete(h.lost, req.Language)
	h.used[req.Language] = true
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

// bind takes a worker and confines it to the session's workspace.
func (h *handle) bind() (*proc, error) {
	s := h.s
	p, err := s.acquire(h)
	if err != nil {
		return nil, err
	}
	reply, err := p.call(&message{Kind: kindBind, Bind: h.dir}, time.Now().Add(30*time.Second))
	if err == nil && (reply.Kind != kindBound || reply.Error != "") {
		err = fmt.Errorf("%w: bind: %s %s", errFrame, reply.Kind, reply.Error)
	}
	if err != nil {
		p.kill()
		s.release()
		return nil, fmt.Errorf("worker: bind to workspace: %w (worker said: %s)", err, strings.TrimSpace(p.stderr.String()))
	}
	h.thaw(p)
	s.mu.Lock()
	s.layers = reply.Info
	if h.closed || s.closed {
		s.mu.Unlock()
		p.kill()
		s.release()
		return nil, ErrClosed
	}
	h.p = p
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
		s.release()
	}
}

// freezeTimeout bounds saving or restoring one session's state.
const freezeTimeout = 30 * time.Second

// SnapshotStore keeps each session's saved Python state for the supervisor. Package sessions
// provides it: the state is part of the session on disk. Its keys are the workspace
// directories given to [Supervisor.Open]. Implementations are safe for concurrent use.
type SnapshotStore interface {
	// Load returns the saved state and when it was saved; an error wrapping
	// os.ErrNotExist when there is none.
	Load(workspace string) (data []byte, saved time.Time, err error)
	// Save replaces the saved state.
	Save(workspace string, data []byte) error
	// Remove forgets the saved state.
	Remove(workspace string)
	// Saved reports when the state was saved, if there is one.
	Saved(workspace string) (time.Time, bool)
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
// worker continues from it. The caller holds h.runMu and has taken p from h.
func (h *handle) park(p *proc, python bool) {
	frozen := python && h.s.cfg.snapshots != nil && h.freeze(p)
	p.kill()
	s := h.s
	s.mu.Lock()
	h.lostAll()
	if frozen {
		delete(h.lost, runtime.Python)
	}
	s.mu.Unlock()
}

// freeze asks p for the session's Python state and stores it; it reports whether it did.
func (h *handle) freeze(p *proc) bool {
	log := h.s.cfg.log
	reply, err := p.call(&message{Kind: kindFreeze}, time.Now().Add(freezeTimeout))
	if err == nil && reply.Kind != kindFrozen {
		err = fmt.Errorf("%w: want frozen, got %q", errFrame, reply.Kind)
	}
	if err == nil && reply.Error != "" {
		err = errors.New(reply.Error)
	}
	st := h.s.cfg.snapshots
	if err != nil {
		// Over the snapshot cap, or the guest is broken: the old snapshot would bring back an
		// older state than the user last saw, so it goes too, and the next run says why.
		st.Remove(h.dir)
		h.s.mu.Lock()
		h.thawErr = "saving it failed: " + err.Error()
		h.s.mu.Unlock()
		log.Warn("freeze session", "dir", h.dir, "err", err)
		return false
	}
	if len(reply.data) == 0 {
		return false
	}
	if err := st.Save(h.dir, reply.data); err != nil {
		log.Warn("store session snapshot", "dir", h.dir, "err", err)
		return false
	}
	return true
}

// thaw hands a new worker the session's saved Python state, when there is one. A snapshot
// that cannot be used is removed, and the next Python run says why.
func (h *handle) thaw(p *proc) {
	st := h.s.cfg.snapshots
	if st == nil {
		return
	}
	data, saved, err := st.Load(h.dir)
	if err != nil {
		return
	}
	reply, err := p.call(withBlob(&message{Kind: kindThaw}, data), time.Now().Add(freezeTimeout))
	if err == nil && reply.Kind != kindThawed {
		err = fmt.Errorf("%w: want thawed, got %q", errFrame, reply.Kind)
	}
	if err == nil && reply.Error != "" {
		err = errors.New(reply.Error)
	}
	s := h.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		st.Remove(h.dir)
		h.thawErr = err.Error()
		return
	}
	h.restored = "Python state restored from the snapshot saved at " + saved.UTC().Format(time.RFC3339)
	if reply.Notes != "" {
		h.restored += "; " + reply.Notes
	}
	h.used[runtime.Python] = true
	delete(h.lost, runtime.Python)
}
