package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// ErrGone: the shared store has no such session (never committed, or deleted).
var ErrGone = errors.New("cluster: the session is not in the shared store")

// Store is what one replica uses to run sessions that every replica shares: a run holds the
// session's lease, starts from the newest committed checkpoint and ends by committing the next.
// Safe for concurrent use.
type Store struct {
	leases *Leases
	cps    *Checkpoints
	holder string
	ttl    time.Duration

	mu    sync.Mutex
	local map[string]uint64 // session id -> the checkpoint its local directory holds
}

// NewStore makes a replica's store. holder names the replica to the others (its internal
// address); ttl is how long a lease outlives its holder's last renewal (renewed every ttl/3
// while held).
func NewStore(leases *Leases, cps *Checkpoints, holder string, ttl time.Duration) *Store {
	return &Store{leases: leases, cps: cps, holder: holder, ttl: ttl, local: map[string]uint64{}}
}

// Holder is the replica's name.
func (st *Store) Holder() string { return st.holder }

// Hold takes session id's lease, waiting while another replica holds it (until ctx ends), and
// brings dir to the newest committed checkpoint if it does not hold it already. Unless create is
// set, a session the store does not have is ErrGone.
func (st *Store) Hold(ctx context.Context, id, dir string, create bool) (*Hold, error) {
	head, _, err := st.cps.ReadHead(ctx, id)
	if err != nil {
		return nil, err
	}
	if head.Seq == 0 && !create {
		return nil, fmt.Errorf("%w: %s", ErrGone, id)
	}
	lease, err := st.leases.Wait(ctx, id, st.holder, st.ttl, head.Generation)
	if err != nil {
		return nil, err
	}
	h := &Hold{st: st, id: id, dir: dir, lease: lease, done: make(chan struct{})}
	h.holding, err = st.cps.Open(ctx, id, lease)
	if err != nil {
		st.release(lease)
		return nil, err
	}
	seq := h.holding.Head().Seq
	if seq == 0 && !create {
		st.release(lease)
		return nil, fmt.Errorf("%w: %s", ErrGone, id)
	}
	st.mu.Lock()
	have, ok := st.local[id]
	st.mu.Unlock()
	if !ok || have != seq {
		h.stale = true
		if seq > 0 || !create {
			if err := h.holding.Restore(ctx, dir); err != nil {
				st.release(lease)
				return nil, err
			}
		}
		st.mu.Lock()
		st.local[id] = seq
		st.mu.Unlock()
	}
	go h.renew()
	return h, nil
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

// Delete removes session id from the store and Redis.
func (st *Store) Delete(ctx context.Context, id string) error {
	st.mu.Lock()
	delete(st.local, id)
	st.mu.Unlock()
	return errors.Join(st.cps.Delete(ctx, id), st.leases.Forget(ctx, id))
}

// Forget drops what the replica remembers of session id's local directory (it was removed).
func (st *Store) Forget(id string) {
	st.mu.Lock()
	delete(st.local, id)
	st.mu.Unlock()
}

// Hold is a replica's hold on one session for one run.
type Hold struct {
	st      *Store
	id, dir string
	lease   Lease
	holding *Holding
	stale   bool
	done    chan struct{}
	once    sync.Once
	lost    error // set by renew; read after done
	mu      sync.Mutex
}

// Stale reports whether Hold replaced the local directory's content: the session's interpreter
// in memory, if any, is older than its files.
func (h *Hold) Stale() bool { return h.stale }

// Generation is the lease's generation.
func (h *Hold) Generation() uint64 { return h.lease.Generation }

// Commit writes the session's directory as its next checkpoint.
func (h *Hold) Commit(ctx context.Context) error {
	h.mu.Lock()
	lost := h.lost
	h.mu.Unlock()
	if lost != nil {
		h.st.Forget(h.id)
		return lost
	}
	if err := h.holding.Commit(ctx, h.dir); err != nil {
		h.st.Forget(h.id)
		return err
	}
	h.st.mu.Lock()
	h.st.local[h.id] = h.holding.Head().Seq
	h.st.mu.Unlock()
	return nil
}

// Release gives the lease up.
func (h *Hold) Release() {
	h.once.Do(func() {
		close(h.done)
		h.st.release(h.lease)
	})
}

// renew keeps the lease while the hold lasts.
func (h *Hold) renew() {
	t := time.NewTicker(h.st.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-h.done:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), h.st.ttl/3)
			err := h.st.leases.Renew(ctx, h.lease, h.st.ttl)
			cancel()
			if errors.Is(err, ErrLeaseLost) {
				h.mu.Lock()
				h.lost = err
				h.mu.Unlock()
				return
			}
		}
	}
}

// SkipTemp leaves out of checkpoints the temporary files durable writes leave in a session's
// directory (never anything under its workspace, which is the guest's).
func SkipTemp(rel string) bool {
	return !strings.HasPrefix(rel, "workspace/") && rel != "workspace" && strings.Contains(rel, ".tmp")
}

// FromEnv opens cluster mode from WASMBOX_STORE and WASMBOX_REDIS_URL (both set, or neither:
// local mode, nil), with holder as the replica's name.
func FromEnv(getenv func(string) string, holder string, ttl time.Duration) (*Store, *Objects, *Leases, error) {
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
	return NewStore(leases, NewCheckpoints(objects, SkipTemp), holder, ttl), objects, leases, nil
}
