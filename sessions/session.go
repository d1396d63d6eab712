// Package sessions keeps wasmbox's sessions: random ids that act as capabilities, owners, one
// workspace directory each, per-language interpreters, history, idle expiry, caps on sessions
// and on concurrent runs, and persistence of metadata across restarts. It knows nothing of HTTP
// or MCP, and nothing of any language beyond the [runtime.Engine] contract.
package sessions

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	"wasmbox/runtime"
)

// Errors returned by the [Manager]; they wrap to these sentinels, so use errors.Is.
var (
	ErrNotFound = errors.New("sessions: session not found")
	ErrExpired  = errors.New("sessions: session expired")
	ErrEvicted  = errors.New("sessions: session evicted")
	ErrBusy     = errors.New("sessions: server busy")
	ErrLanguage = errors.New("sessions: language not available")
	ErrClosed   = errors.New("sessions: manager closed")
)

// Info describes a session to its users.
type Info struct {
	ID        string    `json:"session_id"`
	Created   time.Time `json:"created"`
	LastUsed  time.Time `json:"last_used"`
	Runs      int       `json:"runs"`
	Languages []string  `json:"languages"`
	Restored  bool      `json:"restored,omitempty"`
	ExpiresIn string    `json:"expires_in"`
	Workspace string    `json:"-"`
}

// Entry is one run in a session's history.
type Entry struct {
	Language   runtime.Language  `json:"language"`
	Code       string            `json:"code"`
	Success    bool              `json:"success"`
	ErrorKind  runtime.ErrorKind `json:"error_kind,omitempty"`
	Output     string            `json:"output"`
	Time       time.Time         `json:"time"`
	DurationMS int64             `json:"duration_ms"`
}

// Limits on what history keeps of each run.
const (
	historyOutput = 500
	historyCode   = 16 << 10
)

// session is the manager's record of one session. Fields other than lock are guarded by
// Manager.mu; lock serializes runs.
type session struct {
	id       string
	owner    string // hash of the owner identity
	created  time.Time
	lastUsed time.Time
	dir      string // session directory: metadata and workspace/
	history  []Entry
	runs     int
	restored bool                      // loaded from disk: interpreter state was lost in a restart
	active   int                       // runs in progress or waiting for the lock
	box      runtime.Interpreter       // runs every language of the session; nil until the first run
	langs    map[runtime.Language]bool // languages run since the session was created or loaded
	lock     chan struct{}
	files    sync.Mutex // serializes uploads, whose room is measured before they write
	gone     bool
	saveSeq  uint64 // records made for saving, the latest numbered highest
	// commitNote says what failed in the commit of a run answered before it (cluster mode,
	// WithCommitAfterAnswer); the next run's stderr tells it.
	commitNote string
	logged     int // lines in the history log (see historyLog)

	// saveMu serializes writes of session.json and the removal of the session's directory, so
	// a save never recreates a file in a directory being removed.
	saveMu   sync.Mutex
	savedSeq uint64 // the record on disk; guarded by saveMu
	removed  bool   // the directory is gone; guarded by saveMu
}

func (s *session) workspace() string { return s.dir + "/workspace" }

func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b[:])
}

// ownerKey hashes an owner identity so API keys are never kept in memory maps or on disk.
func ownerKey(owner string) string {
	sum := sha256.Sum256([]byte("wasmbox-owner:" + owner))
	return hex.EncodeToString(sum[:16])
}

// validID reports whether id has the shape of a session id (32 lowercase hex digits).
func validID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// tombstones remembers why recent sessions ended, so using their ids gives a useful error.
type tombstones struct {
	mu    sync.Mutex
	why   map[string]error
	order []string
}

const maxTombstones = 10000

func (t *tombstones) add(id string, why error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.why == nil {
		t.why = map[string]error{}
	}
	if _, ok := t.why[id]; !ok {
		t.order = append(t.order, id)
	}
	t.why[id] = why
	if len(t.order) > maxTombstones {
		delete(t.why, t.order[0])
		t.order = t.order[1:]
	}
}

func (t *tombstones) get(id string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.why[id]
}
