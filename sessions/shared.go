package sessions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"wasmbox/runtime"
)

// Shared keeps sessions that several replicas serve (cluster mode: package cluster's Store).
// With it, a run holds its session (no other replica runs it meanwhile), starts from the
// session's newest committed state, and ends by committing the session's directory (record,
// history, workspace and Python snapshot), so any replica can serve the next call. A replica
// keeps holding a session while it is warm; a call another replica receives meanwhile is
// forwarded to it. The local directory is a cache: a replica drops it when the session idles
// or is evicted, and finds the session in the store again on its next call.
type Shared interface {
	// Hold takes session id for one use and makes dir its newest committed state. A session
	// the store does not have (mode HoldExisting) is an error wrapping ErrNotFound; one
	// another replica holds is an *Elsewhere; with HoldOnlyWarm, one this replica does not
	// hold already wraps ErrNotHolder.
	Hold(ctx context.Context, id, dir string, mode HoldMode) (Held, error)
	// Forward runs req in session id on the replica holder that holds it, by deadline;
	// ErrNotHolder if it no longer does.
	Forward(ctx context.Context, holder, id string, req runtime.Request, deadline time.Time) (*runtime.Result, error)
	// Want asks holder, the replica holding session id, to let it go when idle.
	Want(ctx context.Context, id, holder string) error
	// ReadFile reads a file of session id's directory (slash-separated: "session.json", its
	// record) from its newest committed state, up to max bytes; ErrNotFound if there is none.
	ReadFile(ctx context.Context, id, rel string, max int64) ([]byte, error)
	// Delete removes the session from the store.
	Delete(ctx context.Context, id string) error
	// Forget says this replica's copy of the session's directory is gone.
	Forget(id string)
	// Remove deletes session id from the store once no replica is using it (eviction,
	// expiry): a replica holding it is asked to let it go when idle. It fails if the session
	// is still in use when ctx ends.
	Remove(ctx context.Context, id string) error

	// The cluster's session directory: what the caps count, what an owner's list shows, what
	// expiry scans.

	// Admit lists new session e unless its owner has perOwner sessions listed, or the
	// cluster total; it says which cap is full (then nothing is listed).
	Admit(ctx context.Context, e Listing, perOwner, total int) (Full, error)
	// Touch updates e's listing after a use (listing it again if the directory lost it).
	Touch(ctx context.Context, e Listing) error
	// Listed returns owner's sessions, most recently used first, at most max.
	Listed(ctx context.Context, owner string, max int) ([]Listing, error)
	// Idle returns the sessions (owner's, or everyone's when owner is "") last used before t,
	// least recently used first, at most max.
	Idle(ctx context.Context, owner string, before time.Time, max int) ([]Listing, error)
	// Sweep gives this replica the directory's sweep until every has passed, if no replica
	// has it (turn); rebuild says the directory lost its content (Redis lost its data): the
	// sessions the store has (Stored) are to be listed again, then Rebuilt called.
	Sweep(ctx context.Context, every time.Duration) (turn, rebuild bool, err error)
	// Stored returns the ids of the sessions the store has, at most max.
	Stored(ctx context.Context, max int) ([]string, error)
	// Rebuilt says the directory lists every stored session again.
	Rebuilt(ctx context.Context) error
}

// Listing is a session as the cluster's directory shows it.
type Listing struct {
	ID, Owner string
	Created   time.Time
	LastUsed  time.Time
	Runs      int
	Languages []string
}

// Full says which cap [Shared.Admit] found full.
type Full int

const (
	NotFull   Full = iota
	OwnerFull      // the owner's sessions (WASMBOX_MAX_SESSIONS_PER_OWNER)
	AllFull        // the cluster's sessions (MAX_SESSIONS)
)

// HoldMode says what [Shared.Hold] may take.
type HoldMode int

const (
	HoldExisting HoldMode = iota // a session the store has
	HoldCreate                   // a session being made
	HoldOnlyWarm                 // only a session this replica holds already
)

// Elsewhere is [Shared.Hold]'s error for a session another replica holds.
type Elsewhere struct{ Holder string }

func (e *Elsewhere) Error() string { return "sessions: the session is held by replica " + e.Holder }

// ErrNotHolder: this replica does not hold the session a forwarded call was for.
var ErrNotHolder = errors.New("sessions: this replica does not hold the session")

// Held is one use's hold on a session.
type Held interface {
	// Stale reports that Hold replaced the local directory's content: an interpreter the
	// replica keeps for the session is older than its files.
	Stale() bool
	// Commit makes the directory the session's newest committed state.
	Commit(ctx context.Context) error
	// Release ends the use.
	Release()
}

// ErrUnavailable: the shared store (cluster mode) did not answer; the call may be retried. It
// wraps ErrBusy, so the fronts answer it as they answer a busy server (HTTP 503).
var ErrUnavailable = fmt.Errorf("%w: the shared session store is unavailable", ErrBusy)

// WithShared makes the manager keep its sessions in a shared store (cluster mode).
func WithShared(sh Shared) Option {
	return func(c *config) error { c.shared = sh; return nil }
}

// sharedTimeout bounds what the store may take for committing a run or making a session.
const sharedTimeout = 15 * time.Second

// lookup finds a session, in cluster mode also in the shared store when this replica does not
// have it.
func (m *Manager) lookup(ctx context.Context, id string) (*session, error) {
	m.mu.Lock()
	s, err := m.lookupLocked(id)
	m.mu.Unlock()
	if err == nil || m.cfg.shared == nil || !errors.Is(err, ErrNotFound) || !validID(id) {
		return s, err
	}
	m.mu.Lock()
	dead := m.dead.get(id)
	m.mu.Unlock()
	if dead != nil {
		return nil, dead
	}
	return m.adopt(ctx, id)
}

// adopt brings a session another replica made or ran from the shared store.
func (m *Manager) adopt(ctx context.Context, id string) (*session, error) {
	m.adoptMu.Lock()
	defer m.adoptMu.Unlock()
	m.mu.Lock()
	if s, ok := m.byID[id]; ok {
		m.mu.Unlock()
		return s, nil
	}
	m.mu.Unlock()
	dir := filepath.Join(m.cfg.dataDir, "sessions", id)
	b, err := m.cfg.shared.ReadFile(ctx, id, "session.json", 1<<20)
	if err != nil {
		return nil, m.sharedErr(id, err)
	}
	var r record
	err = json.Unmarshal(b, &r)
	if err == nil && r.ID != id {
		err = fmt.Errorf("record names %q", r.ID)
	}
	if err != nil {
		return nil, fmt.Errorf("sessions: session %s in the shared store: %w", short(id), err)
	}
	// Its files come with its first hold here (the directory is older than any checkpoint).
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	s := &session{id: r.ID, owner: r.Owner, created: r.Created, lastUsed: r.LastUsed, runs: r.Runs, dir: dir,
		restored: true, langs: map[runtime.Language]bool{}, lock: make(chan struct{}, 1)}
	m.loadHistory(s, false)
	if err := os.MkdirAll(s.workspace(), 0o700); err != nil {
		return nil, err
	}
	if m.cfg.now().Sub(s.lastUsed) > m.cfg.ttl {
		why := fmt.Errorf("%w: session %s expired after %s idle; start a new one", ErrExpired, short(id), m.cfg.ttl)
		m.mu.Lock()
		m.dead.add(id, why)
		m.mu.Unlock()
		os.RemoveAll(dir)
		go m.unshare(id)
		return nil, why
	}
	if _, _, err := m.admit(s); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// reload re-reads s from its directory after a hold replaced it, and stops its interpreter,
// whose memory is older than the directory (its next run restores the committed snapshot).
func (m *Manager) reload(s *session) {
	b, err := os.ReadFile(filepath.Join(s.dir, "session.json"))
	var r record
	if err == nil {
		err = json.Unmarshal(b, &r)
	}
	m.mu.Lock()
	box := s.box
	s.box = nil
	if err == nil {
		s.runs, s.lastUsed = r.Runs, r.LastUsed
	}
	s.history = nil
	s.restored = true
	s.langs = map[runtime.Language]bool{}
	m.mu.Unlock()
	if box != nil {
		box.Close()
	}
	if err != nil {
		m.cfg.log.Warn("reload session record", "session", short(s.id), "err", err)
	}
	m.loadHistory(s, false)
}

// commit saves a run's session to the shared store: its record, its Python state (from the
// live worker, after a Python run: the other languages do not change it) and its directory.
// What failed is returned as a note for the caller to show: the run happened, but another
// replica would not see it.
func (m *Manager) commit(s *session, box runtime.Interpreter, held Held, lang runtime.Language) (note string) {
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	m.mu.Lock()
	rec := m.recordLocked(s)
	m.mu.Unlock()
	start := time.Now()
	err := m.persist(rec)
	saved := time.Now()
	if saver, ok := box.(interface{ Save(context.Context) error }); ok && err == nil && lang == runtime.Python {
		if serr := saver.Save(ctx); serr != nil {
			note += "[wasmbox] the session's Python state could not be saved after this run: " + serr.Error() + "\n"
		}
	}
	snapped := time.Now()
	if err == nil {
		err = held.Commit(ctx)
	}
	if err == nil {
		m.touchShared(ctx, s)
	}
	m.cfg.log.Debug("commit session", "session", short(s.id), "record", saved.Sub(start), "snapshot", snapped.Sub(saved), "store", time.Since(snapped))
	if err != nil {
		m.cfg.log.Warn("commit session to the shared store", "session", short(s.id), "err", err)
		note += "[wasmbox] this run's changes could not be saved to the shared session store (" + err.Error() +
			"); a call served by another replica may not see them\n"
	}
	return note
}

// commitAfter commits a run whose answer goes first (WithCommitAfterAnswer), then lets the
// session go: done releases what the run held (its hold, its lock). What failed is told with
// the session's next run here. It reports false, doing nothing, when the manager is closing
// (the caller commits before answering).
func (m *Manager) commitAfter(s *session, box runtime.Interpreter, held Held, lang runtime.Language, done func()) bool {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return false
	}
	m.commits.Add(1) // under mu, before Close's Wait
	m.mu.Unlock()
	go func() {
		defer m.commits.Done()
		defer done()
		if note := m.commit(s, box, held, lang); note != "" {
			m.mu.Lock()
			s.commitNote = strings.ReplaceAll(note, "this run's", "the previous run's")
			s.commitNote = strings.ReplaceAll(s.commitNote, "after this run", "after the previous run")
			m.mu.Unlock()
		}
	}()
	return true
}

// WithCommitAfterAnswer makes cluster mode answer a run before committing it (the session's
// next run waits for the commit): a run costs about a millisecond more than in local mode
// instead of the commit's time, and a replica that crashes may lose, besides the run in
// flight, each session's last answered run.
func WithCommitAfterAnswer(on bool) Option {
	return func(c *config) error { c.commitAfterAnswer = on; return nil }
}

// createShared makes a new session, listed already, known to the shared store.
func (m *Manager) createShared(s *session) error {
	if err := m.share(s); err != nil {
		m.unlistShared(s.id)
		return fmt.Errorf("%w (%v); try again in a moment", ErrUnavailable, err)
	}
	return nil
}

// unlistShared takes back a session whose creation failed after it was listed.
func (m *Manager) unlistShared(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), evictWait)
	defer cancel()
	if err := m.cfg.shared.Remove(ctx, id); err != nil {
		m.cfg.log.Warn("remove a session whose creation failed from the shared store", "session", short(id), "err", err)
	}
}

// share makes a new session known to the shared store.
func (m *Manager) share(s *session) error {
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	held, err := m.cfg.shared.Hold(ctx, s.id, s.dir, HoldCreate)
	if err != nil {
		return err
	}
	defer held.Release()
	return held.Commit(ctx)
}

// unshare removes a deleted or expired session from the shared store.
func (m *Manager) unshare(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	if err := m.cfg.shared.Delete(ctx, id); err != nil {
		m.cfg.log.Warn("delete session from the shared store", "session", short(id), "err", err)
	}
}

// dropLocked removes this replica's copy of s (cluster mode: the store keeps the session).
func (m *Manager) dropLocked(s *session) { m.removeLocked(s) }

// holdForRun holds s for a run by req.Deadline, or has the replica holding it run req
// (forwarded): then the result is that run's. onlyWarm takes only a hold this replica has.
func (m *Manager) holdForRun(ctx context.Context, s *session, req runtime.Request, onlyWarm bool) (Held, *runtime.Result, error) {
	mode := HoldExisting
	if onlyWarm {
		mode = HoldOnlyWarm
	}
	for {
		held, err := m.cfg.shared.Hold(ctx, s.id, s.dir, mode)
		var ew *Elsewhere
		if err == nil || !errors.As(err, &ew) || onlyWarm {
			return held, nil, err
		}
		res, ferr := m.cfg.shared.Forward(ctx, ew.Holder, s.id, req, req.Deadline)
		if ferr == nil {
			return nil, res, nil
		}
		// The holder is letting the session go (try again soon), or did not answer (stopped,
		// gone: its lease ends within its TTL).
		pause := 10 * time.Millisecond
		if !errors.Is(ferr, ErrNotHolder) {
			m.cfg.log.Debug("forward to the holding replica", "session", short(s.id), "holder", ew.Holder, "err", ferr)
			pause = 200 * time.Millisecond
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, nil, fmt.Errorf("%w: replica %s holds the session and did not run the call (%v)", ErrUnavailable, ew.Holder, ferr)
		case <-t.C:
		}
	}
}

// holdForFiles holds s for a file operation, asking a replica that holds it to let it go.
func (m *Manager) holdForFiles(ctx context.Context, s *session) (Held, error) {
	asked := false
	delay := 10 * time.Millisecond
	for {
		held, err := m.cfg.shared.Hold(ctx, s.id, s.dir, HoldExisting)
		var ew *Elsewhere
		if err == nil || !errors.As(err, &ew) {
			return held, err
		}
		if !asked {
			asked = true
			if err := m.cfg.shared.Want(ctx, s.id, ew.Holder); err != nil {
				return nil, err
			}
		}
		delay = min(2*delay, 250*time.Millisecond)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
	}
}

// sharedHistory is session id's history as last committed (every run commits before it
// answers), whichever replica ran it.
func (m *Manager) sharedHistory(id string) ([]Entry, error) {
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	b, err := m.cfg.shared.ReadFile(ctx, id, historyLog, 64<<20)
	if errors.Is(err, ErrNotFound) {
		return []Entry{}, nil // no run yet
	}
	if err != nil {
		return nil, m.sharedErr(id, err)
	}
	lines, _ := parseLog(b)
	out := make([]Entry, 0, len(lines))
	for _, l := range lines {
		out = append(out, l.Entry)
	}
	if over := len(out) - m.cfg.historyCap; over > 0 {
		out = out[over:]
	}
	return out, nil
}

// sharedErr says what a failed hold means to the caller.
func (m *Manager) sharedErr(id string, err error) error {
	var ew *Elsewhere
	switch {
	case errors.As(err, &ew):
		return fmt.Errorf("%w: replica %s holds session %s; try again in a moment", ErrUnavailable, ew.Holder, short(id))
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrNotHolder):
		return fmt.Errorf("%w: no session %s; it may have expired or been deleted; start a new one", ErrNotFound, short(id))
	case errors.Is(err, context.Canceled):
		return err
	}
	return fmt.Errorf("%w (%v); try again in a moment", ErrUnavailable, err)
}

// listingLocked is what the cluster's directory shows of s.
func (m *Manager) listingLocked(s *session) Listing {
	info := m.infoLocked(s)
	return Listing{ID: s.id, Owner: s.owner, Created: s.created, LastUsed: s.lastUsed, Runs: s.runs, Languages: info.Languages}
}

// touchShared updates s's listing in the cluster's directory after a use.
func (m *Manager) touchShared(ctx context.Context, s *session) {
	m.mu.Lock()
	e := m.listingLocked(s)
	m.mu.Unlock()
	if err := m.cfg.shared.Touch(ctx, e); err != nil {
		m.cfg.log.Warn("update the session directory", "session", short(s.id), "err", err)
	}
}

// evictTries bounds how many sessions one new session may try to remove to make room, and
// evictWait how long it waits for each to be idle.
const (
	evictTries = 4
	evictWait  = time.Second
)

// listShared lists new session s in the cluster's directory within the caps, which count every
// replica's sessions. To make room it removes, least recently used first, an idle session of
// its owner (owner's cap), or one of its owner's or another owner's idle for protectedFor (the
// cluster's cap), as evictLocked does on one machine; a session in use is skipped.
func (m *Manager) listShared(s *session) error {
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	err := m.listSharedCtx(ctx, s)
	if err != nil && !errors.Is(err, ErrBusy) {
		err = fmt.Errorf("%w (%v); try again in a moment", ErrUnavailable, err)
	}
	return err
}

func (m *Manager) listSharedCtx(ctx context.Context, s *session) error {
	sh := m.cfg.shared
	m.mu.Lock()
	e := m.listingLocked(s)
	m.mu.Unlock()
	tried := map[string]bool{s.id: true}
	for {
		full, err := sh.Admit(ctx, e, m.cfg.maxPerOwner, m.cfg.maxSessions)
		if err != nil || full == NotFull {
			return err
		}
		now := m.cfg.now()
		cands, err := sh.Idle(ctx, s.owner, now, evictTries)
		if err != nil {
			return err
		}
		if full == AllFull {
			others, err := sh.Idle(ctx, "", now.Add(-protectedFor), evictTries)
			if err != nil {
				return err
			}
			cands = append(cands, others...)
			sort.Slice(cands, func(i, j int) bool { return cands[i].LastUsed.Before(cands[j].LastUsed) })
		}
		removed := false
		for _, c := range cands {
			if tried[c.ID] || len(tried) > evictTries {
				continue
			}
			tried[c.ID] = true
			rctx, cancel := context.WithTimeout(ctx, evictWait)
			err := sh.Remove(rctx, c.ID)
			cancel()
			if err == nil {
				m.removedShared(c.ID, m.evictedErr(c.ID, full == OwnerFull))
				removed = true
				break
			}
			m.cfg.log.Debug("evict a session of the directory", "session", short(c.ID), "err", err)
		}
		if !removed {
			if full == OwnerFull {
				return m.ownerFullErr(m.cfg.maxPerOwner)
			}
			return m.allFullErr()
		}
	}
}

// removedShared ends this replica's copy of a session removed from the store; why is what a
// later call for it is told here.
func (m *Manager) removedShared(id string, why error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.byID[id]; ok {
		m.endLocked(s, why)
		return
	}
	m.dead.add(id, why)
}

// listedShared is owner's sessions as the cluster's directory lists them, with what this
// replica knows better (a session it is running) taking the directory's place.
func (m *Manager) listedShared(owner string) ([]Info, error) {
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	list, err := m.cfg.shared.Listed(ctx, owner, m.cfg.maxPerOwner)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.cfg.now()
	out := make([]Info, 0, len(list))
	for _, e := range list {
		if s, ok := m.byID[e.ID]; ok && !s.lastUsed.Before(e.LastUsed) {
			out = append(out, m.infoLocked(s))
			continue
		}
		left := max(m.cfg.ttl-now.Sub(e.LastUsed), 0)
		out = append(out, Info{ID: e.ID, Created: e.Created, LastUsed: e.LastUsed, Runs: e.Runs, Languages: e.Languages,
			ExpiresIn: left.Round(time.Second).String()})
	}
	return out, nil
}

// sweepShared, on the one replica whose turn it is, lists the store's sessions in the
// directory again if Redis lost it, then deletes the sessions idle for longer than the TTL
// from the store (on one machine Reap does this).
func (m *Manager) sweepShared() {
	sh := m.cfg.shared
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	turn, rebuild, err := sh.Sweep(ctx, m.cfg.reapEvery*9/10) // one replica per interval
	if err != nil || !turn {
		if err != nil {
			m.cfg.log.Warn("sweep the session directory", "err", err)
		}
		return
	}
	if rebuild {
		// Its own time: it reads every stored session's record (a few milliseconds each).
		rctx, rcancel := context.WithTimeout(context.Background(), rebuildTimeout)
		err := m.rebuildShared(rctx)
		rcancel()
		if err != nil {
			m.cfg.log.Warn("list the store's sessions in the directory again", "err", err)
			return
		}
	}
	n := 0
	for {
		idle, err := sh.Idle(ctx, "", m.cfg.now().Add(-m.cfg.ttl), 100)
		if err != nil {
			m.cfg.log.Warn("sweep the session directory", "err", err)
			break
		}
		gone := 0
		for _, e := range idle {
			if m.usedSince(ctx, e) {
				continue // the directory missed a use (Redis was down): listed again
			}
			rctx, rcancel := context.WithTimeout(ctx, evictWait)
			err := sh.Remove(rctx, e.ID)
			rcancel()
			if err != nil {
				continue // in use after all: it is no longer idle, or goes at the next sweep
			}
			m.removedShared(e.ID, fmt.Errorf("%w: session %s expired after %s idle; start a new one", ErrExpired, short(e.ID), m.cfg.ttl))
			gone++
		}
		n += gone
		if gone == 0 || len(idle) < 100 {
			break
		}
	}
	if n > 0 {
		m.cfg.log.Info("expired idle sessions from the shared store", "count", n)
	}
}

// usedSince reports whether session e's committed record says it was used within the TTL,
// although the directory says otherwise (a use whose listing update failed); it lists it again
// then.
func (m *Manager) usedSince(ctx context.Context, e Listing) bool {
	b, err := m.cfg.shared.ReadFile(ctx, e.ID, "session.json", 1<<20)
	if err != nil {
		return false // gone, or unreadable: the removal decides
	}
	var r record
	if json.Unmarshal(b, &r) != nil || m.cfg.now().Sub(r.LastUsed) > m.cfg.ttl {
		return false
	}
	e.LastUsed, e.Runs = r.LastUsed, r.Runs
	if err := m.cfg.shared.Touch(ctx, e); err != nil {
		m.cfg.log.Warn("update the session directory", "session", short(e.ID), "err", err)
	}
	return true
}

// rebuildTimeout bounds a directory rebuild's time (about 2 ms a session on a store next to
// the replica: maxRebuild of them fit).
const rebuildTimeout = 10 * time.Minute

// maxRebuild bounds the sessions a directory rebuild reads from the store.
const maxRebuild = 100_000

// rebuildShared lists every session of the store in the directory again, from its committed
// record (after Redis lost its data: without it the caps would count too few sessions and
// expiry would miss sessions nobody calls again).
func (m *Manager) rebuildShared(ctx context.Context) error {
	sh := m.cfg.shared
	ids, err := sh.Stored(ctx, maxRebuild)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if !validID(id) {
			continue
		}
		b, err := sh.ReadFile(ctx, id, "session.json", 1<<20)
		if errors.Is(err, ErrNotFound) {
			continue // deleted meanwhile, or not committed yet (its creator lists it)
		}
		if err != nil {
			return err
		}
		var r record
		if err := json.Unmarshal(b, &r); err != nil || r.ID != id {
			m.cfg.log.Warn("session record in the shared store", "session", short(id), "err", err)
			continue
		}
		e := Listing{ID: id, Owner: r.Owner, Created: r.Created, LastUsed: r.LastUsed, Runs: r.Runs}
		if err := sh.Touch(ctx, e); err != nil {
			return err
		}
	}
	m.cfg.log.Info("listed the shared store's sessions in the directory again", "sessions", len(ids))
	return sh.Rebuilt(ctx)
}
