package cluster

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The session directory: which sessions the cluster has, whose they are and when each was last
// used, kept in Redis beside the leases. It is what the caps count, what an owner's list shows
// and what expiry scans; the object store stays the truth of a session's content. One sorted
// set holds every session by last use, one per owner holds the owner's, and a string per
// session holds its owner and what a listing shows of it.

// Listing is one session in the directory.
type Listing struct {
	ID, Owner string
	LastUsed  time.Time
	Info      []byte // what the caller shows of the session (opaque here), at most maxInfo bytes
}

// Full says which cap [Leases.Admit] found full.
type Full int

const (
	NotFull   Full = iota
	OwnerFull      // the owner has its most sessions listed
	AllFull        // the cluster has its most sessions listed
)

// maxInfo bounds a listing's info, so a directory entry costs a known amount of Redis.
const maxInfo = 4 << 10

func (l *Leases) allKey() string                  { return l.ns + "dir:all" }
func (l *Leases) ownerSetKey(owner string) string { return l.ns + "dir:owner:" + owner }
func (l *Leases) infoKey(id string) string        { return l.ns + "dir:info:" + id }

// admit: KEYS all, owner set, info; ARGV id, last use (ms), per owner, total, owner + "\n" + info.
// A session listed already is only updated; otherwise the caps are checked and it is added.
var admit = redis.NewScript(`
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then return 1 end
  if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 2 end
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('SET', KEYS[3], ARGV[5])
return 0
`)

// unlist: KEYS all, info; ARGV id, owner-set key prefix.
var unlist = redis.NewScript(`
local v = redis.call('GET', KEYS[2])
if v then
  local owner = string.match(v, '^[^\n]*')
  redis.call('ZREM', ARGV[2] .. owner, ARGV[1])
end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
return 0
`)

func checkListing(e Listing) error {
	if e.ID == "" || e.Owner == "" || strings.ContainsAny(e.Owner, "\n ") || len(e.Info) > maxInfo {
		return fmt.Errorf("cluster: listing of %q: bad id, owner or info (%d bytes)", e.ID, len(e.Info))
	}
	return nil
}

// Admit lists session e unless its owner has perOwner sessions listed or the cluster total
// (then it says which cap is full and lists nothing). A session listed already is updated.
// Both caps hold however many replicas admit at once.
func (l *Leases) Admit(ctx context.Context, e Listing, perOwner, total int) (Full, error) {
	if err := checkListing(e); err != nil {
		return NotFull, err
	}
	n, err := admit.Run(ctx, l.rdb, []string{l.allKey(), l.ownerSetKey(e.Owner), l.infoKey(e.ID)},
		e.ID, e.LastUsed.UnixMilli(), perOwner, total, e.Owner+"\n"+string(e.Info)).Int()
	if err != nil {
		return NotFull, l.wrap(err)
	}
	return Full(n), nil
}

// Touch updates session e's listing (its last use and info), listing it again if Redis lost
// it; the caps are not checked (the session exists).
func (l *Leases) Touch(ctx context.Context, e Listing) error {
	_, err := l.Admit(ctx, e, 1<<30, 1<<30)
	return err
}

// Unlist removes session id from the directory.
func (l *Leases) Unlist(ctx context.Context, id string) error {
	_, err := unlist.Run(ctx, l.rdb, []string{l.allKey(), l.infoKey(id)}, id, l.ns+"dir:owner:").Result()
	return l.wrap(err)
}

// Listed returns owner's sessions, most recently used first, at most max.
func (l *Leases) Listed(ctx context.Context, owner string, max int) ([]Listing, error) {
	zs, err := l.rdb.ZRevRangeWithScores(ctx, l.ownerSetKey(owner), 0, int64(max)-1).Result()
	if err != nil {
		return nil, l.wrap(err)
	}
	return l.listings(ctx, zs)
}

// Idle returns the sessions last used before t (owner's, or everyone's when owner is ""),
// least recently used first, at most max.
func (l *Leases) Idle(ctx context.Context, owner string, before time.Time, max int) ([]Listing, error) {
	key := l.allKey()
	if owner != "" {
		key = l.ownerSetKey(owner)
	}
	zs, err := l.rdb.ZRangeByScoreWithScores(ctx, key, &redis.ZRangeBy{
		Min: "-inf", Max: "(" + strconv.FormatInt(before.UnixMilli(), 10), Count: int64(max)}).Result()
	if err != nil {
		return nil, l.wrap(err)
	}
	return l.listings(ctx, zs)
}

// Count returns how many sessions the directory lists (owner's, or everyone's when owner is "").
func (l *Leases) Count(ctx context.Context, owner string) (int, error) {
	key := l.allKey()
	if owner != "" {
		key = l.ownerSetKey(owner)
	}
	n, err := l.rdb.ZCard(ctx, key).Result()
	return int(n), l.wrap(err)
}

func (l *Leases) listings(ctx context.Context, zs []redis.Z) ([]Listing, error) {
	if len(zs) == 0 {
		return nil, nil
	}
	keys := make([]string, len(zs))
	for i, z := range zs {
		keys[i] = l.infoKey(z.Member.(string))
	}
	vals, err := l.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, l.wrap(err)
	}
	out := make([]Listing, 0, len(zs))
	for i, z := range zs {
		e := Listing{ID: z.Member.(string), LastUsed: time.UnixMilli(int64(z.Score))}
		if v, ok := vals[i].(string); ok {
			owner, info, _ := strings.Cut(v, "\n")
			e.Owner, e.Info = owner, []byte(info)
		}
		out = append(out, e)
	}
	return out, nil
}

// Turn gives holder the named periodic job for ttl if no replica has it (so one replica at a
// time sweeps the directory); it reports whether holder got it.
func (l *Leases) Turn(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	ok, err := l.rdb.SetNX(ctx, l.ns+"turn:"+name, holder, ttl).Result()
	return ok, l.wrap(err)
}

// Mark sets the named flag, and Marked says whether it is set: a flag is lost with Redis's data,
// which is how a replica learns that the directory must be built again from the store.
func (l *Leases) Mark(ctx context.Context, name string) error {
	return l.wrap(l.rdb.Set(ctx, l.ns+"mark:"+name, "1", 0).Err())
}

// Marked reports whether flag name is set.
func (l *Leases) Marked(ctx context.Context, name string) (bool, error) {
	n, err := l.rdb.Exists(ctx, l.ns+"mark:"+name).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return false, l.wrap(err)
	}
	return n == 1, nil
}

// take: KEYS the allowance; ARGV the interval between requests (µs), the burst. A generic cell
// rate algorithm on Redis's clock: the key holds the theoretical arrival time of the next
// request, and a request is allowed while that is at most burst intervals ahead of now.
var take = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local nxt = tat + interval
if nxt - now > interval * burst then return 0 end
redis.call('SET', KEYS[1], nxt, 'PX', math.ceil((nxt - now) / 1000))
return 1
`)

// Take counts one request of key against an allowance of perMinute requests a minute (at most
// perMinute at once), shared by every replica, and reports whether it is within it.
func (l *Leases) Take(ctx context.Context, key string, perMinute int) (bool, error) {
	if perMinute <= 0 || strings.ContainsAny(key, " \n") || key == "" {
		return false, fmt.Errorf("cluster: rate of %q: %d a minute", key, perMinute)
	}
	interval := time.Minute.Microseconds() / int64(perMinute)
	n, err := take.Run(ctx, l.rdb, []string{l.ns + "rate:" + key}, interval, perMinute).Int()
	if err != nil {
		return false, l.wrap(err)
	}
	return n == 1, nil
}

// LibreChat's runtime session hints: a hash per caller (its key a digest of the caller, its
// fields digests of hints, its values session ids), at most maxHintsPerCaller fields (past it
// an arbitrary one goes: a forgotten hint costs a new session), gone a day after its last use.
const (
	maxHintsPerCaller = 256
	hintIdle          = 24 * time.Hour
)

// hintGet: KEYS the caller's hints; ARGV the hint, the idle time (ms).
var hintGet = redis.NewScript(`
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return v
`)

// hintSet: KEYS the caller's hints; ARGV the hint, the session, the most fields, the idle time (ms).
var hintSet = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then
  redis.call('HDEL', KEYS[1], redis.call('HRANDFIELD', KEYS[1]))
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 0
`)

func validDigest(s string) bool {
	return len(s) > 0 && len(s) <= 64 && strings.Trim(s, "0123456789abcdef") == ""
}

// Hint returns the session caller's hint names ("" if none); both are hex digests.
func (l *Leases) Hint(ctx context.Context, caller, hint string) (string, error) {
	if !validDigest(caller) || !validDigest(hint) {
		return "", fmt.Errorf("cluster: hint %q of %q: want hex digests", hint, caller)
	}
	v, err := hintGet.Run(ctx, l.rdb, []string{l.ns + "hints:" + caller}, hint, hintIdle.Milliseconds()).Text()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return v, l.wrap(err)
}

// SetHint makes caller's hint name session.
func (l *Leases) SetHint(ctx context.Context, caller, hint, session string) error {
	if !validDigest(caller) || !validDigest(hint) || session == "" || len(session) > 64 {
		return fmt.Errorf("cluster: hint %q of %q: want hex digests and a session id", hint, caller)
	}
	_, err := hintSet.Run(ctx, l.rdb, []string{l.ns + "hints:" + caller}, hint, session, maxHintsPerCaller, hintIdle.Milliseconds()).Result()
	return l.wrap(err)
}
