package librechat

import (
	"container/list"
	"crypto/sha256"
	"sync"
	"time"
)

// Bounds of the runtime session hints one server remembers: each entry is a fixed ~300 bytes
// (hashes of the caller and the hint, whatever their length, a session id, list and map
// overhead), so they hold at most about 15 MiB.
const (
	maxHints         = 50_000
	maxHintsPerOwner = 256
	hintIdle         = 24 * time.Hour
)

// hintSessions maps (caller, runtime session hint) to a session: LibreChat's statefulSessions
// ask for one session per conversation. Hints are request input, so the map is bounded in
// count (in total and per caller), in bytes (hints are kept as hashes) and in time (a hint
// unused for its idle time is forgotten). Past a bound the least recently used hint goes, the
// caller's own first: a forgotten hint costs only a new session. It is safe for concurrent use.
type hintSessions struct {
	mu       sync.Mutex
	max, per int
	idle     time.Duration
	now      func() time.Time
	lru      *list.List // of *hint, most recently used at the front
	byKey    map[[32]byte]*list.Element
	byOwner  map[[32]byte]*list.List // of *list.Element in lru, per owner, most recent at the front
}

type hint struct {
	key, owner [32]byte
	session    string
	used       time.Time
	ownerElem  *list.Element
}

func newHintSessions(max, per int, idle time.Duration) *hintSessions {
	return &hintSessions{max: max, per: per, idle: idle, now: time.Now,
		lru: list.New(), byKey: map[[32]byte]*list.Element{}, byOwner: map[[32]byte]*list.List{}}
}

func hintKeys(owner, name string) (key, ownerKey [32]byte) {
	ownerKey = sha256.Sum256([]byte(owner))
	key = sha256.Sum256(append(append(ownerKey[:0:0], ownerKey[:]...), name...))
	return key, ownerKey
}

// get returns the session hint name of owner maps to.
func (h *hintSessions) get(owner, name string) (string, bool) {
	key, _ := hintKeys(owner, name)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.expireLocked()
	e, ok := h.byKey[key]
	if !ok {
		return "", false
	}
	x := e.Value.(*hint)
	x.used = h.now()
	h.lru.MoveToFront(e)
	h.byOwner[x.owner].MoveToFront(x.ownerElem)
	return x.session, true
}

// put maps hint name of owner to session id.
func (h *hintSessions) put(owner, name, id string) {
	key, ownerKey := hintKeys(owner, name)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.expireLocked()
	if e, ok := h.byKey[key]; ok {
		x := e.Value.(*hint)
		x.session, x.used = id, h.now()
		h.lru.MoveToFront(e)
		h.byOwner[x.owner].MoveToFront(x.ownerElem)
		return
	}
	mine := h.byOwner[ownerKey]
	if mine == nil {
		mine = list.New()
		h.byOwner[ownerKey] = mine
	}
	if mine.Len() >= h.per {
		h.removeLocked(mine.Back().Value.(*list.Element))
	} else if h.lru.Len() >= h.max {
		h.removeLocked(h.lru.Back())
	}
	x := &hint{key: key, owner: ownerKey, session: id, used: h.now()}
	e := h.lru.PushFront(x)
	x.ownerElem = mine.PushFront(e)
	h.byKey[key] = e
}

// expireLocked forgets hints idle for longer than h.idle, oldest first.
func (h *hintSessions) expireLocked() {
	now := h.now()
	for e := h.lru.Back(); e != nil && now.Sub(e.Value.(*hint).used) > h.idle; e = h.lru.Back() {
		h.removeLocked(e)
	}
}

func (h *hintSessions) removeLocked(e *list.Element) {
	x := h.lru.Remove(e).(*hint)
	delete(h.byKey, x.key)
	mine := h.byOwner[x.owner]
	mine.Remove(x.ownerElem)
	if mine.Len() == 0 {
		delete(h.byOwner, x.owner)
	}
}

// len reports how many hints are remembered.
func (h *hintSessions) len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lru.Len()
}
