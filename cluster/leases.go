package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Errors of leases; they wrap to these sentinels, so use errors.Is.
var (
	// ErrLeaseHeld: another replica holds the session's lease (see [HeldError] for which).
	ErrLeaseHeld = errors.New("cluster: session is held by another replica")
	// ErrLeaseLost: the lease expired or was taken over; the holder must stop writing.
	ErrLeaseLost = errors.New("cluster: lease lost")
)

// HeldError says who holds a lease another replica asked for.
type HeldError struct {
	Holder string // the holding replica's name (its internal address)
	TTL    time.Duration
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("%v: %s (for %v more)", ErrLeaseHeld, e.Holder, e.TTL)
}

func (e *HeldError) Unwrap() error { return ErrLeaseHeld }

// Lease is a replica's right to run one session and write its checkpoints, until TTL after the
// last Acquire or Renew. Generation numbers grow with every acquisition of the session's lease.
type Lease struct {
	Session    string
	Holder     string
	Generation uint64
	value      string
}

// Leases keeps sessions' leases and the session directory in Redis. Safe for concurrent use.
type Leases struct {
	rdb *redis.Client
	ns  string // key prefix
}

// OpenLeases connects to Redis at url (redis://[user:password@]host:port[/db], or rediss://
// for TLS); keys start with ns. No request is made until the first call.
func OpenLeases(url, ns string) (*Leases, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("cluster: redis url: %w", err)
	}
	opt.DialTimeout = 2 * time.Second
	opt.ReadTimeout = 2 * time.Second
	opt.WriteTimeout = 2 * time.Second
	opt.MaxRetries = 1
	return &Leases{rdb: redis.NewClient(opt), ns: ns}, nil
}

// Close closes the connections.
func (l *Leases) Close() error { return l.rdb.Close() }

// Check makes sure Redis answers.
func (l *Leases) Check(ctx context.Context) error {
	return l.wrap(l.rdb.Ping(ctx).Err())
}

func (l *Leases) leaseKey(id string) string { return l.ns + "lease:" + id }
func (l *Leases) genKey(id string) string   { return l.ns + "gen:" + id }
func (l *Leases) warmKey(id string) string  { return l.ns + "warm:" + id }
func (l *Leases) wantKey(id string) string  { return l.ns + "want:" + id }

// acquire: KEYS lease, gen; ARGV holder, ttl ms, floor. The generation is one more than both the
// counter and floor (the newest generation the caller saw committed), so a Redis that lost its
// data never hands out a generation the object store already fenced off.
var acquire = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur then return {0, cur, redis.call('PTTL', KEYS[1])} end
local gen = redis.call('INCR', KEYS[2])
local floor = tonumber(ARGV[3])
if gen <= floor then
  gen = floor + 1
  redis.call('SET', KEYS[2], gen)
end
local v = gen .. ' ' .. ARGV[1]
redis.call('SET', KEYS[1], v, 'PX', ARGV[2])
return {gen, v, 0}
`)

// renew: KEYS lease, want; ARGV value, ttl ms. 0: lost; 1: renewed; 2: renewed, and another
// replica wants the session.
var renew = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if redis.call('EXISTS', KEYS[2]) == 1 then return 2 end
return 1
`)

// release: KEYS lease; ARGV value.
var release = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// Acquire takes session id's lease for holder for ttl, with a generation above floor. If another
// holder has it, the error is a [*HeldError].
func (l *Leases) Acquire(ctx context.Context, id, holder string, ttl time.Duration, floor uint64) (Lease, error) {
	if strings.ContainsAny(holder, " \n") || holder == "" {
		return Lease{}, fmt.Errorf("cluster: holder name %q", holder)
	}
	res, err := acquire.Run(ctx, l.rdb, []string{l.leaseKey(id), l.genKey(id)}, holder, ttl.Milliseconds(), floor).Slice()
	if err != nil {
		return Lease{}, l.wrap(err)
	}
	if len(res) != 3 {
		return Lease{}, fmt.Errorf("cluster: lease script answered %v", res)
	}
	gen, _ := res[0].(int64)
	val, _ := res[1].(string)
	if gen == 0 {
		pttl, _ := res[2].(int64)
		_, who, _ := strings.Cut(val, " ")
		return Lease{}, &HeldError{Holder: who, TTL: time.Duration(pttl) * time.Millisecond}
	}
	return Lease{Session: id, Holder: holder, Generation: uint64(gen), value: val}, nil
}

// Wait is Acquire, retried while another replica holds the lease, until ctx ends.
func (l *Leases) Wait(ctx context.Context, id, holder string, ttl time.Duration, floor uint64) (Lease, error) {
	delay := 5 * time.Millisecond
	for {
		lease, err := l.Acquire(ctx, id, holder, ttl, floor)
		if !errors.Is(err, ErrLeaseHeld) {
			return lease, err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return Lease{}, err
		case <-t.C:
		}
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// Renew extends the lease to ttl from now, or says it was lost; wanted reports that another
// replica asked for the session ([Leases.Want]).
func (l *Leases) Renew(ctx context.Context, lease Lease, ttl time.Duration) (wanted bool, err error) {
	n, err := renew.Run(ctx, l.rdb, []string{l.leaseKey(lease.Session), l.wantKey(lease.Session)}, lease.value, ttl.Milliseconds()).Int()
	if err != nil {
		return false, l.wrap(err)
	}
	if n == 0 {
		return false, fmt.Errorf("%w: session %s generation %d", ErrLeaseLost, lease.Session, lease.Generation)
	}
	return n == 2, nil
}

// HolderOf names the replica holding session id's lease, "" if none does.
func (l *Leases) HolderOf(ctx context.Context, id string) (string, error) {
	v, err := l.rdb.Get(ctx, l.leaseKey(id)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", l.wrap(err)
	}
	_, who, _ := strings.Cut(v, " ")
	return who, nil
}

// Want asks the replica holding session id to give it up when it is next idle, for ttl: the
// holder sees it at its next renewal, and at once if it listens ([Leases.Wanted]) and holder
// names it.
func (l *Leases) Want(ctx context.Context, id, holder string, ttl time.Duration) error {
	if err := l.rdb.Set(ctx, l.wantKey(id), "1", ttl).Err(); err != nil {
		return l.wrap(err)
	}
	if holder != "" {
		return l.wrap(l.rdb.Publish(ctx, l.ns+"want:"+holder, id).Err())
	}
	return nil
}

// Wanted calls f with the id of every session another replica asks holder for, until ctx
// ends (messages sent while Redis was unreachable are lost; renewals catch those).
func (l *Leases) Wanted(ctx context.Context, holder string, f func(id string)) {
	sub := l.rdb.Subscribe(ctx, l.ns+"want:"+holder)
	defer sub.Close()
	ch := sub.Channel()
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-ch:
			if !ok {
				return
			}
			f(m.Payload)
		}
	}
}

// Release gives the lease up if it is still the holder's.
func (l *Leases) Release(ctx context.Context, lease Lease) error {
	_, err := release.Run(ctx, l.rdb, []string{l.leaseKey(lease.Session)}, lease.value).Result()
	return l.wrap(err)
}

// SetWarm records that holder keeps session id's state in memory, for ttl (the session
// directory routing uses; correctness never depends on it).
func (l *Leases) SetWarm(ctx context.Context, id, holder string, ttl time.Duration) error {
	return l.wrap(l.rdb.Set(ctx, l.warmKey(id), holder, ttl).Err())
}

// Warm says which replica keeps session id warm, "" if none is recorded.
func (l *Leases) Warm(ctx context.Context, id string) (string, error) {
	v, err := l.rdb.Get(ctx, l.warmKey(id)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return v, l.wrap(err)
}

// ClearWarm removes the record if holder is the one recorded.
func (l *Leases) ClearWarm(ctx context.Context, id, holder string) error {
	_, err := release.Run(ctx, l.rdb, []string{l.warmKey(id)}, holder).Result()
	return l.wrap(err)
}

// Forget removes everything Redis keeps of session id (after the session's deletion).
func (l *Leases) Forget(ctx context.Context, id string) error {
	return l.wrap(l.rdb.Del(ctx, l.leaseKey(id), l.genKey(id), l.warmKey(id), l.wantKey(id)).Err())
}

// Secret returns the cluster's shared secret called name (32 bytes), made by the first replica
// to ask. Redis keeps it without expiry; a Redis that lost its data gets a new one, and what was
// signed with the old one is refused by replicas that read the new one.
func (l *Leases) Secret(ctx context.Context, name string) ([]byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	key := l.ns + "secret:" + name
	if err := l.rdb.SetNX(ctx, key, hex.EncodeToString(b), 0).Err(); err != nil {
		return nil, l.wrap(err)
	}
	v, err := l.rdb.Get(ctx, key).Result()
	if err != nil {
		return nil, l.wrap(err)
	}
	return hex.DecodeString(v)
}

func (l *Leases) wrap(err error) error {
	if err == nil || errors.Is(err, redis.Nil) {
		return nil
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "connection refused") ||
		strings.Contains(err.Error(), "LOADING") || errors.Is(err, redis.ErrClosed) {
		return fmt.Errorf("%w: redis: %v", ErrUnavailable, err)
	}
	return fmt.Errorf("cluster: redis: %w", err)
}
