package mcp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/server"

	"wasmbox/front"
)

// Bounds of the MCP sessions of streamable HTTP (Mcp-Session-Id): each keeps some state in the
// protocol server, and anyone may initialize one, so they are capped per client address and in
// total, and forgotten after MCPSessionIdle unused.
const (
	DefaultMaxMCPSessions          = 10_000
	DefaultMaxMCPSessionsPerClient = 64
	DefaultMCPSessionIdle          = 2 * time.Hour
	mcpSessionIDLen                = 16
)

// WithSessionKey makes the server sign the Mcp-Session-Ids it issues with key and accept ids
// signed with it that it did not issue: replicas of a cluster given one key serve each other's
// MCP sessions. An id ended on one replica stays valid on the others until idle too long.
func WithSessionKey(key []byte) Option {
	return func(s *Server) { s.sessions.key = key }
}

// WithMCPSessionLimits sets the caps on streamable HTTP's MCP sessions, in total and per client
// address, and their idle time (zero values keep the defaults).
func WithMCPSessionLimits(total, perClient int, idle time.Duration) Option {
	return func(s *Server) {
		if total > 0 {
			s.sessions.max = total
		}
		if perClient > 0 {
			s.sessions.per = perClient
		}
		if idle > 0 {
			s.sessions.idle = idle
		}
	}
}

// mcpSessions issues and checks the Mcp-Session-Id of streamable HTTP, as the spec asks: an id
// the server never issued, one deleted or one idle too long gets 404, so the client starts a
// new MCP session. A client past its cap loses its own oldest session; past the total, new
// sessions are refused before the protocol server sees them ([mcpSessions.gate]) (should a
// race pass one anyway, the oldest session is forgotten). It is safe for concurrent use.
type mcpSessions struct {
	clientOf func(*http.Request) string
	max, per int
	idle     time.Duration
	now      func() time.Time
	// key, when set, signs the ids, and an id signed with it that this server does not know
	// is taken as its own: replicas of a cluster share the key, so an MCP connection whose
	// requests land on different replicas keeps working.
	key []byte

	mu       sync.Mutex
	live     map[string]*mcpSession
	byClient map[string]int
}

type mcpSession struct {
	last   time.Time
	client string
}

func newMCPSessions(clientOf func(*http.Request) string) *mcpSessions {
	return &mcpSessions{clientOf: clientOf, max: DefaultMaxMCPSessions, per: DefaultMaxMCPSessionsPerClient,
		idle: DefaultMCPSessionIdle, now: time.Now, live: map[string]*mcpSession{}, byClient: map[string]int{}}
}

// ResolveSessionIdManager implements server.SessionIdManagerResolver: ids are made and counted
// for the client that sent r.
func (m *mcpSessions) ResolveSessionIdManager(r *http.Request) server.SessionIdManager {
	client := ""
	if r != nil {
		client = m.clientOf(r)
	}
	return clientSessions{m: m, client: client}
}

// clientSessions is the sessions of one client, as server.SessionIdManager.
type clientSessions struct {
	m      *mcpSessions
	client string
}

func (c clientSessions) Generate() string                  { return c.m.generate(c.client) }
func (c clientSessions) Validate(id string) (bool, error)  { return c.m.validate(id, c.client) }
func (c clientSessions) Terminate(id string) (bool, error) { return c.m.terminate(id) }

func (m *mcpSessions) generate(client string) string {
	var b [mcpSessionIDLen]byte
	rand.Read(b[:])
	id := "mcp-session-" + hex.EncodeToString(b[:])
	if m.key != nil {
		id += "-" + m.sign(id)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.addLocked(id, client)
	return id
}

// sign is the signature a signed id carries after its random part.
func (m *mcpSessions) sign(id string) string {
	h := hmac.New(sha256.New, m.key)
	h.Write([]byte(id))
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// signed reports whether id carries this key's signature.
func (m *mcpSessions) signed(id string) bool {
	if m.key == nil {
		return false
	}
	i := strings.LastIndexByte(id, '-')
	return i > 0 && hmac.Equal([]byte(id[i+1:]), []byte(m.sign(id[:i])))
}

// addLocked records a live session of client, within the caps.
func (m *mcpSessions) addLocked(id, client string) {
	m.expireLocked()
	if m.byClient[client] >= m.per {
		m.forgetOldestLocked(func(s *mcpSession) bool { return s.client == client })
	}
	if len(m.live) >= m.max {
		m.forgetOldestLocked(func(*mcpSession) bool { return true })
	}
	m.live[id] = &mcpSession{last: m.now(), client: client}
	m.byClient[client]++
}

// expireLocked forgets sessions idle too long (a walk of at most the total cap).
func (m *mcpSessions) expireLocked() {
	now := m.now()
	for id, s := range m.live {
		if now.Sub(s.last) > m.idle {
			m.deleteLocked(id)
		}
	}
}

func (m *mcpSessions) forgetOldestLocked(match func(*mcpSession) bool) {
	var oldest string
	var at time.Time
	for id, s := range m.live {
		if match(s) && (oldest == "" || s.last.Before(at)) {
			oldest, at = id, s.last
		}
	}
	if oldest != "" {
		m.deleteLocked(oldest)
	}
}

func (m *mcpSessions) deleteLocked(id string) {
	s, ok := m.live[id]
	if !ok {
		return
	}
	delete(m.live, id)
	if m.byClient[s.client]--; m.byClient[s.client] <= 0 {
		delete(m.byClient, s.client)
	}
}

func (m *mcpSessions) validate(id, client string) (isTerminated bool, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.live[id]
	if !ok && m.signed(id) {
		// Issued by another replica of the cluster.
		m.addLocked(id, client)
		return false, nil
	}
	if !ok || m.now().Sub(s.last) > m.idle {
		m.deleteLocked(id)
		return false, fmt.Errorf("unknown or ended MCP session %q; initialize a new one", id)
	}
	s.last = m.now()
	return false, nil
}

func (m *mcpSessions) terminate(id string) (isNotAllowed bool, err error) {
	m.mu.Lock()
	m.deleteLocked(id)
	m.mu.Unlock()
	return false, nil
}

// gate refuses a request that would start an MCP session (a POST without Mcp-Session-Id) when
// the server holds its most (503), after forgetting those idle too long. A client at its own
// cap is not refused: its oldest session is forgotten ([mcpSessions.generate]), as clients
// seldom end the sessions they abandon and one that restarts must not be locked out.
func (m *mcpSessions) gate(g *streamGate, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.Header.Get(server.HeaderKeySessionID) == "" {
			client := m.clientOf(r)
			m.mu.Lock()
			m.expireLocked()
			full := len(m.live) >= m.max && m.byClient[client] < m.per
			m.mu.Unlock()
			if full {
				g.front.Reject("mcp_sessions")
				w.Header().Set("Retry-After", "60")
				front.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"error": fmt.Sprintf("the server holds %d MCP sessions, its most; retry later", m.max)})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// count reports the live sessions, in total and of client.
func (m *mcpSessions) count(client string) (total, ofClient int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.live), m.byClient[client]
}
