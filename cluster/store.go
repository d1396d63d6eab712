package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Errors of the store; they wrap to these sentinels, so use errors.Is.
var (
	// ErrGone: the shared store has no such session (never committed, or deleted).
	ErrGone = errors.New("cluster: the session is not in the shared store")
	// ErrNotHeld: this replica does not hold the session (a forwarded call came too late).
	ErrNotHeld = errors.New("cluster: this replica does not hold the session")
)

// Modes of [Store.Hold].
type Mode int

const (
	Existing Mode = iota // a session the store has
	Create               // a new session
	OnlyWarm             // only a session this replica holds already (a forwarded call)
)

// Store is what one replica uses to run sessions that every replica shares. A replica holds a
// session's lease while it keeps the session warm: from its first use until it has been idle
// for warmFor, or another replica asks for it ([Leases.Want]), or the replica stops. Every run
// ends by committing the session's directory, so a replica that dies loses only the run in
// flight. Another replica's call for a held session is forwarded to its holder (by the caller;
// the error names the holder) instead of moving the session. Safe for concurrent use.
type Store struct {
	leases  *Leases
	cps     *Checkpoints
	holder  string
	ttl     time.Duration
	warmFor time.Duration

	mu     sync.Mutex
	local  map[string]uint64 // session id -> the checkpoint its local directory holds
	warm   map[string]*warm
	closed bool
	done   chan struct{}
	wg     sync.WaitGroup
	// stopListen ends the subscription to other replicas' requests.
	stopListen context.CancelFunc
}

// warm is a session this replica holds.
type warm struct {
	id      string
	lease   Lease
	holding *Holding
	busy    chan struct{} // taken by the Hold in use
	last    time.Time     // guarded by Store.mu
	wanted  atomic.Bool
	dropped atomic.Bool // given up: a waiter that gets busy looks again
	lost    atomic.Pointer[error]
}

// NewStore makes a replica's store. holder names the replica to the others (the address they
// forward calls to); ttl is how long a lease outlives its holder's last renewal (renewed every
// ttl/3); an idle session's lease is given up after warmFor.
func NewStore(leases *Leases, cps *Checkpoints, holder string, ttl, warmFor time.Duration) *Store {
	st := &Store{leases: leases, cps: cps, holder: holder, ttl: ttl, warmFor: warmFor,
		local: map[string]uint64{}, warm: map[string]*warm{}, done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	st.stopListen = cancel
	st.wg.Add(2)
	go st.keep()
	go st.listen(ctx)
	return st
}

// Holder is the replica's name.
func (st *Store) Holder() string { return st.holder }

// Hold takes session id for one use (a run, a file operation) and brings dir to its newest
// committed checkpoint if the replica's copy is older. A session another replica holds is a
// [*HeldError] naming it; a session the store lacks (mode Existing) is ErrGone; mode OnlyWarm
// takes only a session this replica holds already, else ErrNotHeld.
func (st *Store) Hold(ctx context.Context, id, dir string, mode Mode) (*Hold, error) {
	for {
		st.mu.Lock()
		if st.closed {
			st.mu.Unlock()
			return nil, fmt.Errorf("%w: the replica is stopping", ErrUnavailable)
		}
		w := st.warm[id]
		st.mu.Unlock()
		if w == nil {
			break
		}
		select {
		case w.busy <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		switch {
		case w.dropped.Load():
			<-w.busy // given up while this waited: look again
		case w.lost.Load() != nil:
			st.drop(w) // lost while idle: take it again
		default:
			h := &Hold{st: st, w: w, dir: dir}
			// The local copy may have gone (evicted) while the lease stayed: restore it.
			seq := w.holding.Head().Seq
			st.mu.Lock()
			have, ok := st.local[id]
			st.mu.Unlock()
			if !ok || have != seq {
				h.stale = true
				if err := w.holding.Restore(ctx, dir); err != nil {
					st.drop(w)
					return nil, err
				}
				st.mu.Lock()
				st.local[id] = seq
				st.mu.Unlock()
			}
			return h, nil
		}
	}
	if mode == OnlyWarm {
		return nil, fmt.Errorf("%w: %s", ErrNotHeld, id)
	}
	head, _, err := st.cps.ReadHead(ctx, id)
	if err != nil {
		return nil, err
	}
	if head.Seq == 0 && mode != Create {
		return nil, fmt.Errorf("%w: %s", ErrGone, id)
	}
	lease, err := st.leases.Acquire(ctx, id, st.holder, st.ttl, head.Generation)
	if err != nil {
		return nil, err
	}
	holding, err := st.cps.Open(ctx, id, lease)
	if err != nil {
		st.release(lease)
		return nil, err
	}
	seq := holding.Head().Seq
	if seq == 0 && mode != Create {
		st.release(lease)
		return nil, fmt.Errorf("%w: %s", ErrGone, id)
	}
	h := &Hold{st: st, dir: dir}
	st.mu.Lock()
	have, ok := st.local[id]
	st.mu.Unlock()
	if !ok || have != seq {
		h.stale = true
		if seq > 0 {
			if err := holding.Restore(ctx, dir); err != nil {
				st.release(lease)
				return nil, err
			}
		}
		st.mu.Lock()
		st.local[id] = seq
		st.mu.Unlock()
	}
	w := &warm{id: id, lease: lease, holding: holding, busy: make(chan struct{}, 1)}
	w.busy <- struct{}{}
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		st.release(lease)
		return nil, fmt.Errorf("%w: the replica is stopping", ErrUnavailable)
	}
	w.last = time.Now()
	st.warm[id] = w
	st.mu.Unlock()
	h.w = w
	return h, nil
}

// Want asks holder, the replica holding session id, to give it up as soon as it is idle.
func (st *Store) Want(ctx context.Context, id, holder string) error {
	return st.leases.Want(ctx, id, holder, st.ttl)
}

// listen gives up, as soon as they are idle, the sessions other replicas ask for.
func (st *Store) listen(ctx context.Context) {
	defer st.wg.Done()
	st.leases.Wanted(ctx, st.holder, func(id string) {
		st.mu.Lock()
		w := st.warm[id]
		st.mu.Unlock()
		if w == nil {
			return
		}
		w.wanted.Store(true) // a Hold in use gives it up at its Release
		if tryLock(w.busy) {
			st.drop(w)
		}
	})
}

// keep renews the leases of warm sessions and gives up those idle for warmFor or wanted by
// another replica.
func (st *Store) keep() {
	defer st.wg.Done()
	t := time.NewTicker(st.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-st.done:
			return
		case <-t.C:
		}
		st.mu.Lock()
		list := make([]*warm, 0, len(st.warm))
		for _, w := range st.warm {
			list = append(list, w)
		}
		st.mu.Unlock()
		for _, w := range list {
			ctx, cancel := context.WithTimeout(context.Background(), st.ttl/3)
			wanted, err := st.leases.Renew(ctx, w.lease, st.ttl)
			cancel()
			if errors.Is(err, ErrLeaseLost) {
				w.lost.Store(&err)
			}
			if wanted {
				w.wanted.Store(true)
			}
			st.mu.Lock()
			idle := time.Since(w.last) > st.warmFor
			st.mu.Unlock()
			if (idle || wanted || err != nil && errors.Is(err, ErrLeaseLost)) && tryLock(w.busy) {
				st.drop(w)
			}
		}
	}
}

func tryLock(c chan struct{}) bool {
	select {
	case c <- struct{}{}:
		return true
	default:
		return false
	}
}

// drop gives up w, whose busy the caller holds and which it lets go (a Hold waiting for it
// sees it dropped and takes the lease anew).
func (st *Store) drop(w *warm) {
	st.mu.Lock()
	if st.warm[w.id] == w {
		delete(st.warm, w.id)
	}
	st.mu.Unlock()
	if w.lost.Load() == nil && !w.dropped.Load() {
		st.release(w.lease)
	}
	w.dropped.Store(true)
	<-w.busy
}

func (st *Store) release(l Lease) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = st.leases.Release(ctx, l)
}

// Has reports whether the store has session id.
func (st *Store) Has(ctx context.Context, id string) (bool, error) {
	h, _, err := st.cps.ReadHead(ctx, id)
	return h.Seq > 0, err
}

// ReadFile reads a file of session id's newest checkpoint (its record), without a lease.
func (st *Store) ReadFile(ctx context.Context, id, rel string, max int64) ([]byte, error) {
	return st.cps.ReadFile(ctx, id, rel, max)
}

// Delete removes session id from the store and Redis.
func (st *Store) Delete(ctx context.Context, id string) error {
	st.mu.Lock()
	delete(st.local, id)
	w := st.warm[id]
	delete(st.warm, id)
	st.mu.Unlock()
	if w != nil {
		w.dropped.Store(true)
		st.release(w.lease)
	}
	return errors.Join(st.cps.Delete(ctx, id), st.leases.Forget(ctx, id), st.leases.Unlist(ctx, id))
}

// Remove deletes session id (eviction, expiry) once no replica uses it: the replica holding it
// is asked to let it go when idle, and the deletion takes the session's lease, so no replica
// commits the session again. A session still in use when ctx ends is an error wrapping
// [ErrLeaseHeld].
func (st *Store) Remove(ctx context.Context, id string) error {
	asked := false
	delay := 5 * time.Millisecond
	for {
		st.mu.Lock()
		w := st.warm[id]
		st.mu.Unlock()
		if w != nil {
			select { // held here: once idle, let it go
			case w.busy <- struct{}{}:
				st.drop(w)
			case <-ctx.Done():
				return fmt.Errorf("%w: %s is in use here", ErrLeaseHeld, id)
			}
			continue
		}
		lease, err := st.leases.Acquire(ctx, id, st.holder, st.ttl, 0)
		var held *HeldError
		if errors.As(err, &held) {
			if !asked && held.Holder != st.holder {
				asked = true
				if err := st.Want(ctx, id, held.Holder); err != nil {
					return err
				}
			}
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return err
			case <-t.C:
			}
			delay = min(2*delay, 100*time.Millisecond)
			continue
		}
		if err != nil {
			return err
		}
		defer st.release(lease)
		return st.Delete(ctx, id)
	}
}

// Sessions returns the ids of the sessions the store has objects of, at most max.
func (st *Store) Sessions(ctx context.Context, max int) ([]string, error) {
	return st.cps.Sessions(ctx, max)
}

// Forget drops what the replica remembers of session id's local directory (it was removed).
func (st *Store) Forget(id string) {
	st.mu.Lock()
	delete(st.local, id)
	st.mu.Unlock()
}

// Close gives up every lease once its use ends (each session committed after its last run),
// so other replicas take the sessions over at once.
func (st *Store) Close() {
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return
	}
	st.closed = true
	list := make([]*warm, 0, len(st.warm))
	for _, w := range st.warm {
		list = append(list, w)
	}
	st.mu.Unlock()
	close(st.done)
	st.stopListen()
	st.wg.Wait()
	for _, w := range list {
		ctx, cancel := context.WithTimeout(context.Background(), st.ttl)
		select {
		case w.busy <- struct{}{}:
			st.drop(w)
			w.holding.Pruned() // the last commit's deletions, so a stop leaves no garbage
		case <-ctx.Done():
		}
		cancel()
	}
}

// Hold is one use of a session this replica holds.
type Hold struct {
	st    *Store
	w     *warm
	dir   string
	stale bool
	once  sync.Once
}

// Stale reports whether Hold replaced the local directory's content: the session's interpreter
// in memory, if any, is older than its files.
func (h *Hold) Stale() bool { return h.stale }

// Generation is the lease's generation.
func (h *Hold) Generation() uint64 { return h.w.lease.Generation }

// Commit writes the session's directory as its next checkpoint.
func (h *Hold) Commit(ctx context.Context) error {
	if lost := h.w.lost.Load(); lost != nil {
		h.st.Forget(h.w.id)
		return *lost
	}
	if err := h.w.holding.Commit(ctx, h.dir); err != nil {
		if errors.Is(err, ErrLeaseLost) {
			h.w.lost.Store(&err)
		}
		h.st.Forget(h.w.id)
		return err
	}
	h.st.mu.Lock()
	h.st.local[h.w.id] = h.w.holding.Head().Seq
	h.st.mu.Unlock()
	return nil
}

// Release ends the use; the replica keeps the lease while the session is warm (see [Store]).
func (h *Hold) Release() {
	h.once.Do(func() {
		h.st.mu.Lock()
		h.w.last = time.Now()
		h.st.mu.Unlock()
		if h.w.lost.Load() != nil || h.w.wanted.Load() {
			h.st.drop(h.w)
			return
		}
		<-h.w.busy
	})
}

// SkipTemp leaves out of checkpoints the temporary files durable writes leave in a session's
// directory (never anything under its workspace, which is the guest's).
func SkipTemp(rel string) bool {
	return !strings.HasPrefix(rel, "workspace/") && rel != "workspace" && strings.Contains(rel, ".tmp")
}

// FromEnv opens cluster mode from WASMBOX_STORE and WASMBOX_REDIS_URL (both set, or neither:
// local mode, nil), with holder as the replica's name.
func FromEnv(getenv func(string) string, holder string, ttl, warmFor time.Duration) (*Store, *Objects, *Leases, error) {
	storeURL, redisURL := getenv("WASMBOX_STORE"), getenv("WASMBOX_REDIS_URL")
	if storeURL == "" && redisURL == "" {
		return nil, nil, nil, nil
	}
	if storeURL == "" || redisURL == "" {
		return nil, nil, nil, errors.New("cluster mode needs both WASMBOX_STORE (s3://bucket/prefix) and WASMBOX_REDIS_URL (redis://host:port)")
	}
	cfg, err := ParseStore(storeURL, getenv)
	if err != nil {
		return nil, nil, nil, err
	}
	objects, err := OpenObjects(cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	prefix := cfg.Prefix
	leases, err := OpenLeases(redisURL, "wasmbox:"+cfg.Bucket+"/"+prefix)
	if err != nil {
		return nil, nil, nil, err
	}
	if holder == "" {
		holder, _ = os.Hostname()
	}
	return NewStore(leases, NewCheckpoints(objects, SkipTemp), holder, ttl, warmFor), objects, leases, nil
}
