package sessions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"sync"
	"time"

	"wasmbox/runtime"
	"wasmbox/worker"
)

// Manager owns all sessions. It is safe for concurrent use.
type Manager struct {
	cfg    config
	mu     sync.Mutex
	byID   map[string]*session
	dead   tombstones
	slots  *slots // global cap on concurrent runs, and each owner's share of it
	stop   chan struct{}
	wg     sync.WaitGroup
	syncer logSyncer // makes appended history durable within a second
	closed bool
	// adoptMu serializes bringing sessions from the shared store (cluster mode).
	adoptMu sync.Mutex
	// commits: runs answered before their commit (cluster mode, WithCommitAfterAnswer).
	commits sync.WaitGroup
}

// Backend runs sessions' code: worker processes (package worker's Supervisor) in a server,
// in-process engines (worker.Local) in tests and tools.
type Backend interface {
	// Open returns the interpreter of one session whose workspace is dir; it runs every
	// language of Languages.
	Open(ctx context.Context, dir string) (runtime.Interpreter, error)
	Languages() []runtime.Language
}

type config struct {
	dataDir       string
	engines       []runtime.Engine
	backend       Backend
	limits        runtime.Limits
	maxSessions   int
	maxPerOwner   int
	ttl           time.Duration
	maxConcurrent int
	maxQueue      int
	ownerRuns     int
	historyCap    int
	now           func() time.Time
	reapEvery     time.Duration
	log           *slog.Logger
	shared        Shared
	// commitAfterAnswer: cluster mode commits a run after its answer (WithCommitAfterAnswer).
	commitAfterAnswer bool
}

// Option configures a [Manager].
type Option func(*config) error

// WithDataDir sets the directory holding one subdirectory per session (required).
func WithDataDir(dir string) Option {
	return func(c *config) error {
		if dir == "" {
			return fmt.Errorf("sessions: data dir: must not be empty")
		}
		c.dataDir = dir
		return nil
	}
}

// WithEngine makes a language available, run in this process. An engine is not closed by the
// manager. It cannot be combined with [WithBackend].
func WithEngine(e runtime.Engine) Option {
	return func(c *config) error { c.engines = append(c.engines, e); return nil }
}

// WithBackend sets what runs the sessions' code (a worker supervisor). It is not closed by
// the manager.
func WithBackend(b Backend) Option {
	return func(c *config) error { c.backend = b; return nil }
}

// WithLimits sets the limits of every run.
func WithLimits(l runtime.Limits) Option {
	return func(c *config) error {
		l, err := l.Normalize()
		c.limits = l
		return err
	}
}

// WithMaxSessions caps the number of sessions (default 100).
func WithMaxSessions(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("sessions: max sessions %d: must be at least 1", n)
		}
		c.maxSessions = n
		return nil
	}
}

// WithMaxSessionsPerOwner caps one owner's sessions (default: a quarter of the global cap, at
// least one, see [DefaultSessionsPerOwner]). Past it, the owner's own least recently used idle
// session makes room.
func WithMaxSessionsPerOwner(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("sessions: max sessions per owner %d: must be at least 1", n)
		}
		c.maxPerOwner = n
		return nil
	}
}

// protectedFor is how long a session used by its owner cannot be evicted to make room for
// another owner.
const protectedFor = 10 * time.Minute

// WithTTL sets how long an idle session lives (default 1h).
func WithTTL(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("sessions: ttl %s: must be positive", d)
		}
		c.ttl = d
		return nil
	}
}

// WithMaxConcurrent caps runs in progress across all sessions (default 2 x CPU cores) and
// the number that may wait for a slot (default 8 x the cap; one owner may fill a quarter of
// that queue). One owner holds at most its share of the slots at any time: see
// [WithMaxRunsPerOwner].
func WithMaxConcurrent(runs, queue int) Option {
	return func(c *config) error {
		if runs < 1 || queue < 0 {
			return fmt.Errorf("sessions: max concurrent %d, queue %d: want runs >= 1, queue >= 0", runs, queue)
		}
		c.maxConcurrent, c.maxQueue = runs, queue
		return nil
	}
}

// WithMaxRunsPerOwner caps the runs one owner has in progress at once (default: half the
// slots of [WithMaxConcurrent], at least one; never more than all of them). The cap holds at
// all times, not only while others wait: the slots one owner cannot take are always free for
// the next owner that comes. An owner's runs past it wait for one of its own to end.
func WithMaxRunsPerOwner(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("sessions: max runs per owner %d: must be at least 1", n)
		}
		c.ownerRuns = n
		return nil
	}
}

// DefaultSessionsPerOwner is the per-owner session cap when none is set: a quarter of the
// sessions, so at least four owners can each hold their whole share and one owner can never
// take the server from everyone else, while a single user (a laptop, one agent) still gets 25
// of the default 100. It is at least 2 (a client can start a session while keeping another),
// never more than maxSessions: only a server of two sessions or fewer can be held by one owner.
func DefaultSessionsPerOwner(maxSessions int) int { return min(maxSessions, max(2, maxSessions/4)) }

// WithHistoryCap sets how many runs each session's history keeps (default 100).
func WithHistoryCap(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("sessions: history cap %d: must be at least 1", n)
		}
		c.historyCap = n
		return nil
	}
}

// WithClock replaces time.Now (for tests of expiry).
func WithClock(now func() time.Time) Option {
	return func(c *config) error { c.now = now; return nil }
}

// WithReapInterval sets how often idle sessions are looked for (default a quarter of the TTL,
// at least a second and at most a minute; 0 turns
// the background reaper off, leaving [Manager.Reap] to the caller).
func WithReapInterval(d time.Duration) Option {
	return func(c *config) error { c.reapEvery = d; return nil }
}

// WithLogger sets where the manager logs.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error { c.log = l; return nil }
}

// New returns a manager; sessions left in the data dir by a previous process are loaded (their
// files and history are intact, their interpreter state is gone).
func New(opts ...Option) (*Manager, error) {
	c := config{
		limits:        runtime.DefaultLimits(),
		maxSessions:   100,
		ttl:           time.Hour,
		maxConcurrent: 2 * goruntime.NumCPU(),
		historyCap:    100,
		now:           time.Now,
		reapEvery:     -1, // a quarter of the TTL, from a second to a minute
		log:           slog.Default(),
	}
	c.maxQueue = 8 * c.maxConcurrent
	for _, o := range opts {
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	if c.dataDir == "" {
		return nil, fmt.Errorf("sessions: data dir: not set")
	}
	if c.reapEvery < 0 {
		c.reapEvery = min(max(c.ttl/4, time.Second), time.Minute)
	}
	if c.maxPerOwner == 0 {
		c.maxPerOwner = DefaultSessionsPerOwner(c.maxSessions)
	}
	c.maxPerOwner = min(c.maxPerOwner, c.maxSessions)
	switch {
	case c.backend != nil && len(c.engines) > 0:
		return nil, fmt.Errorf("sessions: engines and a backend: use one")
	case c.backend == nil:
		local, err := worker.NewLocal(c.engines...)
		if err != nil {
			return nil, err
		}
		c.backend = local
	}
	if err := os.MkdirAll(filepath.Join(c.dataDir, "sessions"), 0o700); err != nil {
		return nil, fmt.Errorf("sessions: create data dir: %w", err)
	}
	m := &Manager{cfg: c, byID: map[string]*session{}, slots: newSlots(c.maxConcurrent, c.ownerRuns, c.maxQueue), stop: make(chan struct{})}
	m.load()
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.syncer.run(m.stop)
	}()
	if c.reapEvery > 0 {
		m.wg.Add(1)
		go m.reaper()
	}
	return m, nil
}

// Limits returns the limits every run gets.
func (m *Manager) Limits() runtime.Limits { return m.cfg.limits }

// TTL returns how long an idle session lives.
func (m *Manager) TTL() time.Duration { return m.cfg.ttl }

// MaxSessionsPerOwner returns the cap on one owner's sessions.
func (m *Manager) MaxSessionsPerOwner() int { return m.cfg.maxPerOwner }

// MaxSessions returns the cap on sessions.
func (m *Manager) MaxSessions() int { return m.cfg.maxSessions }

// MaxConcurrent returns the cap on concurrent runs.
func (m *Manager) MaxConcurrent() int { return m.cfg.maxConcurrent }

// MaxRunsPerOwner returns the cap on one owner's concurrent runs.
func (m *Manager) MaxRunsPerOwner() int { return m.slots.perOwner }

// Languages returns the languages that have an engine.
func (m *Manager) Languages() []runtime.Language {
	out := append([]runtime.Language(nil), m.cfg.backend.Languages()...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func (m *Manager) hasLanguage(l runtime.Language) bool {
	for _, have := range m.cfg.backend.Languages() {
		if have == l {
			return true
		}
	}
	return false
}

// Count returns the number of live sessions.
func (m *Manager) Count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.byID)
}

// Create starts a session owned by owner (an API key or a connection id). Its directory is
// made and its record saved durably before it is returned; no disk I/O happens under the
// manager's lock.
func (m *Manager) Create(owner string) (Info, error) {
	key := ownerKey(owner)
	now := m.cfg.now()
	s := &session{
		id: newID(), owner: key, created: now, lastUsed: now,
		langs: map[runtime.Language]bool{}, lock: make(chan struct{}, 1),
	}
	s.dir = filepath.Join(m.cfg.dataDir, "sessions", s.id)
	if err := os.MkdirAll(s.workspace(), 0o700); err != nil {
		return Info{}, fmt.Errorf("sessions: create workspace: %w", err)
	}
	if m.cfg.shared != nil {
		// The cluster's caps first: making room there ends this replica's copies too.
		if err := m.listShared(s); err != nil {
			os.RemoveAll(s.dir)
			return Info{}, err
		}
	}
	info, rec, err := m.admit(s)
	if err != nil {
		os.RemoveAll(s.dir)
		if m.cfg.shared != nil {
			m.unlistShared(s.id)
		}
		return Info{}, err
	}
	err = m.persist(rec)
	if err == nil && m.cfg.shared != nil {
		err = m.createShared(s)
	}
	if err != nil {
		m.mu.Lock()
		if !s.gone {
			m.endLocked(s, fmt.Errorf("%w: session %s could not be saved; start a new one", ErrNotFound, short(s.id)))
		}
		m.mu.Unlock()
		return Info{}, err
	}
	return info, nil
}

// admit adds s to the sessions if the caps allow, evicting an idle one if need be.
func (m *Manager) admit(s *session) (Info, saveRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return Info{}, saveRecord{}, ErrClosed
	}
	key := s.owner
	if n := m.ownedLocked(key); n >= m.cfg.maxPerOwner {
		if !m.evictLocked(key, key) {
			return Info{}, saveRecord{}, m.ownerFullErr(n)
		}
	}
	if len(m.byID) >= m.cfg.maxSessions {
		if !m.evictLocked(key, "") {
			return Info{}, saveRecord{}, m.allFullErr()
		}
	}
	m.byID[s.id] = s
	return m.infoLocked(s), m.recordLocked(s), nil
}

func (m *Manager) ownedLocked(key string) int {
	n := 0
	for _, s := range m.byID {
		if s.owner == key {
			n++
		}
	}
	return n
}

// evictLocked ends one idle session to make room for requester; it reports whether one was
// found. With only set, it takes only's least recently used idle session. Otherwise it takes
// the least recently used idle session of the owner holding the most sessions, among those
// it may take: the requester's own, and other owners' sessions idle for longer than
// protectedFor. One tenant's burst never takes a session another tenant is using.
func (m *Manager) evictLocked(requester, only string) bool {
	count := map[string]int{}
	for _, s := range m.byID {
		count[s.owner]++
	}
	now := m.cfg.now()
	var lru *session
	for _, s := range m.byID {
		switch {
		case s.active != 0:
			continue
		case only != "" && s.owner != only:
			continue
		case s.owner != requester && now.Sub(s.lastUsed) < protectedFor:
			continue
		}
		if lru == nil || count[s.owner] > count[lru.owner] ||
			count[s.owner] == count[lru.owner] && s.lastUsed.Before(lru.lastUsed) {
			lru = s
		}
	}
	if lru == nil {
		return false
	}
	why := m.evictedErr(lru.id, only != "")
	if m.cfg.shared != nil {
		m.dropLocked(lru) // the shared store keeps it
		return true
	}
	m.endLocked(lru, why)
	return true
}

// ownerFullErr says a client holds its most sessions (n), none of which could make room.
func (m *Manager) ownerFullErr(n int) error {
	return fmt.Errorf("%w: you hold %d sessions, the most one client may hold (WASMBOX_MAX_SESSIONS_PER_OWNER), and all are running code; wait for one to finish, or delete one you no longer need",
		ErrBusy, n)
}

// allFullErr says the server (or cluster) holds its most sessions, none of which could make room.
func (m *Manager) allFullErr() error {
	return fmt.Errorf("%w: all %d sessions are in use; try again in a few minutes or delete one of yours", ErrBusy, m.cfg.maxSessions)
}

// evictedErr is what a later call for session id, evicted to make room, is told: for a newer
// session of the same client (own), or for anyone's.
func (m *Manager) evictedErr(id string, own bool) error {
	if own {
		return fmt.Errorf("%w: session %s was evicted to make room for a newer session of the same client (at most %d sessions per client); start a new one",
			ErrEvicted, short(id), m.cfg.maxPerOwner)
	}
	return fmt.Errorf("%w: session %s was evicted to make room (at most %d sessions); start a new one", ErrEvicted, short(id), m.cfg.maxSessions)
}

// endLocked removes s, closes its interpreters and deletes its directory; why is what a later
// call for it is told.
func (m *Manager) endLocked(s *session, why error) {
	m.dead.add(s.id, why)
	m.removeLocked(s)
}

// removeLocked takes s out of the manager, then closes its interpreters and deletes its
// directory in the background.
func (m *Manager) removeLocked(s *session) {
	delete(m.byID, s.id)
	s.gone = true
	box := s.box
	s.box = nil
	dir := s.dir
	if m.cfg.shared != nil {
		// Cluster mode may bring the session back here before the removal below runs: its
		// directory moves aside now (a temporary name the startup sweep also removes), so
		// the removal never takes the new copy.
		aside := fmt.Sprintf("%s%sgone-%d", dir, tmpInfix, time.Now().UnixNano())
		if os.Rename(dir, aside) == nil {
			dir = aside
		}
		m.cfg.shared.Forget(s.id)
	}
	go func() {
		if box != nil {
			box.Close()
		}
		s.saveMu.Lock()
		defer s.saveMu.Unlock()
		s.removed = true
		if err := os.RemoveAll(dir); err != nil {
			m.cfg.log.Warn("remove session directory", "session", short(s.id), "err", err)
		}
	}()
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8] + "…"
	}
	return id
}

// lookupLocked finds a live session or explains why there is none.
func (m *Manager) lookupLocked(id string) (*session, error) {
	if s, ok := m.byID[id]; ok {
		return s, nil
	}
	if why := m.dead.get(id); why != nil {
		return nil, why
	}
	if !validID(id) {
		return nil, fmt.Errorf("%w: %q is not a session id (want the 32 hex digits a new session is given)", ErrNotFound, id)
	}
	return nil, fmt.Errorf("%w: no session %s; it may have expired or been deleted; start a new one", ErrNotFound, short(id))
}

// Get returns a session's info.
func (m *Manager) Get(id string) (Info, error) {
	if _, err := m.lookupShared(id); err != nil {
		return Info{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s, err := m.lookupLocked(id)
	if err != nil {
		return Info{}, err
	}
	return m.infoLocked(s), nil
}

// lookupShared is lookup with the time a call without its own deadline gives the store.
func (m *Manager) lookupShared(id string) (*session, error) {
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	return m.lookup(ctx, id)
}

func (m *Manager) infoLocked(s *session) Info {
	var langs []string
	for l := range s.langs {
		langs = append(langs, string(l))
	}
	sort.Strings(langs)
	left := m.cfg.ttl - m.cfg.now().Sub(s.lastUsed)
	if left < 0 {
		left = 0
	}
	return Info{ID: s.id, Created: s.created, LastUsed: s.lastUsed, Runs: s.runs, Languages: langs,
		Restored: s.restored, ExpiresIn: left.Round(time.Second).String(), Workspace: s.workspace()}
}

// List returns owner's sessions, most recently used first.
func (m *Manager) List(owner string) []Info {
	key := ownerKey(owner)
	if m.cfg.shared != nil {
		list, err := m.listedShared(key)
		if err == nil {
			return list
		}
		m.cfg.log.Warn("list sessions from the directory (listing this replica's)", "err", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Info
	for _, s := range m.byID {
		if s.owner == key {
			out = append(out, m.infoLocked(s))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LastUsed.After(out[j].LastUsed) })
	return out
}

// History returns a session's runs, oldest first.
func (m *Manager) History(id string) ([]Entry, error) {
	if _, err := m.lookupShared(id); err != nil {
		return nil, err
	}
	if m.cfg.shared != nil {
		return m.sharedHistory(id)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s, err := m.lookupLocked(id)
	if err != nil {
		return nil, err
	}
	return append([]Entry(nil), s.history...), nil
}

// Delete ends a session and removes its workspace.
func (m *Manager) Delete(id string) error {
	s, err := m.lookupShared(id)
	if err != nil {
		return err
	}
	if m.cfg.shared != nil {
		// Cluster mode: the session is held first (a replica holding it lets it go), so no
		// replica commits it again once its objects are gone.
		ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
		defer cancel()
		held, err := m.holdForFiles(ctx, s)
		if err != nil {
			return m.sharedErr(id, err)
		}
		defer held.Release()
		if err := m.cfg.shared.Delete(ctx, id); err != nil {
			return fmt.Errorf("%w (%v); try again", ErrUnavailable, err)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s, err = m.lookupLocked(id)
	if err != nil {
		return err
	}
	m.endLocked(s, fmt.Errorf("%w: session %s was deleted; start a new one", ErrNotFound, short(id)))
	return nil
}

// Run runs req in session id. Runs of one session are serialized: a second run waits for the
// first. A run also waits for one of the global slots; when too many are already waiting it
// fails with ErrBusy at once. The time limit counts from the call: what it waited for is taken
// from its run's limit (see [runtime.Request.Deadline]), so every call is answered within it.
func (m *Manager) Run(ctx context.Context, id string, req runtime.Request) (*runtime.Result, error) {
	return m.run(ctx, id, req, time.Time{}, false)
}

// RunHeld runs req in session id by deadline, only if this replica holds the session (cluster
// mode: a call another replica forwarded); ErrNotHolder otherwise.
func (m *Manager) RunHeld(ctx context.Context, id string, req runtime.Request, deadline time.Time) (*runtime.Result, error) {
	if m.cfg.shared == nil {
		return nil, ErrNotHolder
	}
	return m.run(ctx, id, req, deadline, true)
}

func (m *Manager) run(ctx context.Context, id string, req runtime.Request, deadline time.Time, onlyWarm bool) (*runtime.Result, error) {
	if !m.hasLanguage(req.Language) {
		return nil, fmt.Errorf("%w: %s (available: %v)", ErrLanguage, req.Language, m.Languages())
	}
	req.Limits = m.cfg.limits
	req.Deadline = time.Now().Add(req.Limits.Timeout)
	if !deadline.IsZero() && deadline.Before(req.Deadline) {
		req.Deadline = deadline
	}
	if m.cfg.shared != nil {
		lctx, cancel := context.WithDeadline(ctx, req.Deadline)
		_, err := m.lookup(lctx, id)
		cancel()
		if err != nil {
			return nil, err
		}
	}
	m.mu.Lock()
	s, err := m.lookupLocked(id)
	if err != nil {
		m.mu.Unlock()
		return nil, err
	}
	s.active++
	s.lastUsed = m.cfg.now()
	m.mu.Unlock()
	leave := func() {
		m.mu.Lock()
		s.active--
		s.lastUsed = m.cfg.now()
		m.mu.Unlock()
	}
	// detached: the run's commit goes on after its answer and releases the session (the
	// deferred releases below are its).
	detached := false
	defer func() {
		if !detached {
			leave()
		}
	}()

	wait, cancel := context.WithDeadline(ctx, req.Deadline)
	defer cancel()
	select {
	case s.lock <- struct{}{}:
	case <-wait.Done():
		return nil, fmt.Errorf("%w: session %s is still running an earlier request after %s; try again when it is done", ErrBusy, short(id), req.Limits.Timeout)
	}
	defer func() {
		if !detached {
			<-s.lock
		}
	}()

	// Cluster mode: the session is held (or the call forwarded to the replica holding it)
	// before a slot is taken, so no replica waits for another's slot while holding its own.
	var held Held
	if m.cfg.shared != nil {
		var forwarded *runtime.Result
		held, forwarded, err = m.holdForRun(wait, s, req, onlyWarm)
		if forwarded != nil {
			forwarded.ImagesDone = true
			return forwarded, nil
		}
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				m.mu.Lock()
				if !s.gone {
					m.endLocked(s, fmt.Errorf("%w: session %s was deleted; start a new one", ErrNotFound, short(id)))
				}
				m.mu.Unlock()
			}
			return nil, m.sharedErr(id, err)
		}
		defer func() {
			if !detached {
				held.Release()
			}
		}()
		if held.Stale() {
			m.reload(s)
		}
	}

	switch err := m.slots.acquire(wait, s.owner); {
	case errors.Is(err, errOwnerQueueFull):
		return nil, fmt.Errorf("%w: you already have %d runs in progress (the most one client may have, WASMBOX_OWNER_MAX_RUNS) and %d waiting; wait for them to finish",
			ErrBusy, m.slots.perOwner, m.slots.ownerQueue)
	case errors.Is(err, errQueueFull):
		return nil, fmt.Errorf("%w: %d runs are queued; try again in a moment", ErrBusy, m.cfg.maxQueue)
	case err != nil:
		return nil, fmt.Errorf("%w: no execution slot became free within %s (at most %d runs at once, %d per client); try again in a moment",
			ErrBusy, req.Limits.Timeout, m.cfg.maxConcurrent, m.slots.perOwner)
	}
	defer m.slots.release(s.owner)

	m.mu.Lock()
	if s.gone {
		m.mu.Unlock()
		return nil, m.goneErr(id)
	}
	box := s.box
	restored := s.restored
	fresh := !s.langs[req.Language]
	m.mu.Unlock()
	if box == nil {
		box, err = m.cfg.backend.Open(worker.WithOwner(ctx, s.owner), s.workspace())
		if err != nil {
			return nil, fmt.Errorf("sessions: start interpreter: %w", err)
		}
		m.mu.Lock()
		if s.gone {
			m.mu.Unlock()
			box.Close()
			return nil, m.goneErr(id)
		}
		s.box = box
		m.mu.Unlock()
	}
	started := m.cfg.now()
	res, err := box.Run(ctx, req)
	if errors.Is(err, runtime.ErrBusy) {
		return nil, fmt.Errorf("%w: %v", ErrBusy, err)
	}
	if err != nil {
		return nil, err
	}
	if fresh && restored && res.StateRestored == "" {
		// The server restarted since this session last ran: its files and history are here,
		// its variables are not (the backend restores Python's from a snapshot when it can).
		res.StateReset = true
	}
	m.mu.Lock()
	s.runs++
	s.langs[req.Language] = true
	e := entry(req, res, started)
	s.history = append(s.history, e)
	if over := len(s.history) - m.cfg.historyCap; over > 0 {
		s.history = append([]Entry(nil), s.history[over:]...)
	}
	// The run goes to the session's history log (see historyLog), which is rewritten whole
	// when it holds twice the cap.
	now := m.cfg.now()
	s.logged++
	created := s.logged == 1
	var compact []logLine
	if s.logged > 2*m.cfg.historyCap {
		compact = logLines(s.history, s.runs, now)
		s.logged = len(compact)
	}
	line, err := json.Marshal(logLine{Runs: s.runs, LastUsed: now, Entry: e})
	m.mu.Unlock()
	if err == nil {
		err = m.appendRun(s, append(line, '\n'), created, compact)
	}
	if err != nil {
		// The run happened and its result stands; its entry stays in memory, and the next
		// rewrite of the log (at twice the cap, or at the next start if the tail is torn)
		// keeps it.
		m.cfg.log.Error("save session history", "session", short(s.id), "err", err)
	}
	m.mu.Lock()
	if s.commitNote != "" {
		res.Stderr = s.commitNote + res.Stderr
		s.commitNote = ""
	}
	m.mu.Unlock()
	if held != nil && m.cfg.commitAfterAnswer {
		detached = m.commitAfter(s, box, held, req.Language, func() {
			held.Release()
			<-s.lock
			leave()
		})
	}
	if held != nil && !detached {
		res.Stderr += m.commit(s, box, held, req.Language)
	}
	return res, nil
}

// goneErr says why a session that was found has gone since.
func (m *Manager) goneErr(id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if why := m.dead.get(id); why != nil {
		return why
	}
	return fmt.Errorf("%w: session %s moved to the shared store while this call waited; try again", ErrUnavailable, short(id))
}

func entry(req runtime.Request, res *runtime.Result, at time.Time) Entry {
	code := req.Code
	if len(code) > historyCode {
		code = code[:historyCode] + "\n… (truncated)"
	}
	out := res.Stdout + res.Stderr
	if len(out) > historyOutput {
		out = out[:historyOutput]
	}
	e := Entry{Language: req.Language, Code: code, Success: res.OK(), Output: out, Time: at.UTC(), DurationMS: res.Duration.Milliseconds()}
	if res.Error != nil {
		e.ErrorKind = res.Error.Kind
	}
	return e
}

// Reap ends sessions idle for longer than the TTL; it returns how many it ended.
func (m *Manager) Reap() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.cfg.now()
	n := 0
	for _, s := range m.byID {
		if s.active == 0 && now.Sub(s.lastUsed) > m.cfg.ttl {
			if m.cfg.shared != nil {
				// Another replica may have used it since: only this copy goes, and the
				// store's copy expires when a replica next finds it idle past the TTL.
				m.dropLocked(s)
			} else {
				m.endLocked(s, fmt.Errorf("%w: session %s expired after %s idle; start a new one", ErrExpired, short(s.id), m.cfg.ttl))
			}
			n++
		}
	}
	return n
}

func (m *Manager) reaper() {
	defer m.wg.Done()
	t := time.NewTicker(m.cfg.reapEvery)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			if n := m.Reap(); n > 0 {
				m.cfg.log.Info("expired idle sessions", "count", n)
			}
			if m.cfg.shared != nil {
				m.sweepShared()
			}
		}
	}
}

// WaitCommits waits for the commits of runs answered before them (cluster mode,
// WithCommitAfterAnswer); a server stopping calls it before it stops the workers those
// commits save the Python state of.
func (m *Manager) WaitCommits() { m.commits.Wait() }

// Close stops the reaper and every interpreter. Session directories stay on disk, so a new
// manager on the same data dir lists the sessions again.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	m.commits.Wait() // runs answered before their commit: committed from live interpreters
	m.mu.Lock()
	var boxes []runtime.Interpreter
	var recs []saveRecord
	for _, s := range m.byID {
		recs = append(recs, m.recordLocked(s))
		if s.box != nil {
			boxes = append(boxes, s.box)
		}
	}
	m.mu.Unlock()
	close(m.stop)
	m.wg.Wait()
	var errs []error
	for _, r := range recs {
		errs = append(errs, m.persist(r))
	}
	for _, b := range boxes {
		b.Close()
	}
	return errors.Join(errs...)
}

// record is a session as written to <dir>/session.json. Its history is in the session's
// history log; History is read from records of earlier versions only.
type record struct {
	ID       string    `json:"id"`
	Owner    string    `json:"owner"`
	Created  time.Time `json:"created"`
	LastUsed time.Time `json:"last_used"`
	Runs     int       `json:"runs"`
	History  []Entry   `json:"history,omitempty"`
}

// saveRecord is a session's record, encoded under the manager's lock, to be written after it.
type saveRecord struct {
	s    *session
	seq  uint64
	data []byte
	err  error
}

// recordLocked encodes s's record; [Manager.persist] writes it.
func (m *Manager) recordLocked(s *session) saveRecord {
	s.saveSeq++
	b, err := json.Marshal(record{ID: s.id, Owner: s.owner, Created: s.created, LastUsed: s.lastUsed, Runs: s.runs})
	return saveRecord{s: s, seq: s.saveSeq, data: b, err: err}
}

// persist writes r to its session's session.json durably (see [writeFileAtomic]), unless a
// newer record is already there or the session's directory is gone.
func (m *Manager) persist(r saveRecord) error {
	if r.err != nil {
		return fmt.Errorf("sessions: encode session %s: %w", short(r.s.id), r.err)
	}
	s := r.s
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	if s.removed || r.seq <= s.savedSeq {
		return nil
	}
	if err := writeFileAtomic(filepath.Join(s.dir, "session.json"), r.data); err != nil {
		return err
	}
	s.savedSeq = r.seq
	return nil
}

// loadHistory adds s's history log to what its record held. A log with a torn tail is
// rewritten; so is the history of a record of an earlier version (legacy), which then loses it.
func (m *Manager) loadHistory(s *session, legacy bool) {
	path := filepath.Join(s.dir, historyLog)
	lines, torn, err := readLog(path)
	if err != nil {
		m.cfg.log.Warn("read session history", "session", short(s.id), "err", err)
	}
	for _, l := range lines {
		s.history = append(s.history, l.Entry)
		s.runs = max(s.runs, l.Runs)
		if l.LastUsed.After(s.lastUsed) {
			s.lastUsed = l.LastUsed
		}
	}
	if over := len(s.history) - m.cfg.historyCap; over > 0 {
		s.history = append([]Entry(nil), s.history[over:]...)
	}
	s.logged = len(lines)
	if !torn && !legacy {
		return
	}
	keep := logLines(s.history, s.runs, s.lastUsed)
	if err := writeLog(path, keep); err != nil {
		m.cfg.log.Warn("rewrite session history", "session", short(s.id), "err", err)
		return
	}
	s.logged = len(keep)
	if legacy {
		s.saveSeq++
		b, err := json.Marshal(record{ID: s.id, Owner: s.owner, Created: s.created, LastUsed: s.lastUsed, Runs: s.runs})
		if err == nil {
			err = writeFileAtomic(filepath.Join(s.dir, "session.json"), b)
		}
		if err != nil {
			m.cfg.log.Warn("rewrite session record", "session", short(s.id), "err", err)
		}
	}
}

// load reads the sessions a previous process left in the data dir, and sweeps what a crash
// can leave behind: temporary files of durable writes, and session directories without a
// readable record (a crash between making a session's directory and saving its record).
func (m *Manager) load() {
	root := filepath.Join(m.cfg.dataDir, "sessions")
	entries, err := os.ReadDir(root)
	if err != nil {
		m.cfg.log.Warn("read the sessions directory", "err", err)
		return
	}
	swept := 0
	for _, e := range entries {
		dir := filepath.Join(root, e.Name())
		if !e.IsDir() || !validID(e.Name()) {
			if isTemp(e.Name()) || !e.IsDir() {
				os.RemoveAll(dir) // a temporary file, or a removed session's directory set aside
				swept++
			}
			continue
		}
		if files, err := os.ReadDir(dir); err == nil {
			for _, f := range files {
				if isTemp(f.Name()) || f.Name() == "session.json.tmp" {
					os.Remove(filepath.Join(dir, f.Name()))
					swept++
				}
			}
		}
		p := filepath.Join(dir, "session.json")
		b, err := os.ReadFile(p)
		var r record
		if err == nil {
			err = json.Unmarshal(b, &r)
		}
		if err != nil || r.ID != e.Name() {
			m.cfg.log.Warn("removing a session directory without a readable record", "dir", dir, "err", err)
			os.RemoveAll(dir)
			swept++
			continue
		}
		s := &session{id: r.ID, owner: r.Owner, created: r.Created, lastUsed: r.LastUsed, runs: r.Runs,
			history: r.History, dir: dir, restored: true,
			langs: map[runtime.Language]bool{}, lock: make(chan struct{}, 1)}
		m.loadHistory(s, len(r.History) > 0)
		os.MkdirAll(s.workspace(), 0o700)
		m.byID[s.id] = s
	}
	if swept > 0 {
		syncDir(root)
		m.cfg.log.Info("swept what an earlier process left unfinished", "entries", swept)
	}
	if n := len(m.byID); n > 0 {
		m.cfg.log.Info("restored sessions from the data dir", "count", n, "dir", m.cfg.dataDir)
	}
}
