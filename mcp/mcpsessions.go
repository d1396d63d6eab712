package mcp

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"
)

// mcpSessions issues and checks the Mcp-Session-Id of streamable HTTP, as the spec asks: an id
// the server never issued, or one deleted, gets 404, so the client starts a new MCP session.
// It remembers at most maxMCPSessions ids, forgetting those idle longest, so a flood of
// initializations cannot grow it without bound. It is safe for concurrent use.
type mcpSessions struct {
	mu   sync.Mutex
	live map[string]time.Time
	now  func() time.Time
}

const (
	maxMCPSessions  = 100_000
	mcpSessionIdle  = 24 * time.Hour
	mcpSessionIDLen = 16
)

func newMCPSessions() *mcpSessions {
	return &mcpSessions{live: map[string]time.Time{}, now: time.Now}
}

// Generate implements server.SessionIdManager.
func (m *mcpSessions) Generate() string {
	var b [mcpSessionIDLen]byte
	rand.Read(b[:])
	id := "mcp-session-" + hex.EncodeToString(b[:])
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.live) >= maxMCPSessions {
		m.forgetOldestLocked()
	}
	m.live[id] = m.now()
	return id
}

func (m *mcpSessions) forgetOldestLocked() {
	now := m.now()
	var oldest string
	var at time.Time
	for id, t := range m.live {
		if now.Sub(t) > mcpSessionIdle {
			delete(m.live, id)
			continue
		}
		if oldest == "" || t.Before(at) {
			oldest, at = id, t
		}
	}
	if len(m.live) >= maxMCPSessions && oldest != "" {
		delete(m.live, oldest)
	}
}

// Validate implements server.SessionIdManager: unknown ids are an error (404).
func (m *mcpSessions) Validate(id string) (isTerminated bool, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.live[id]
	if !ok || m.now().Sub(t) > mcpSessionIdle {
		delete(m.live, id)
		return false, fmt.Errorf("unknown or ended MCP session %q; initialize a new one", id)
	}
	m.live[id] = m.now()
	return false, nil
}

// Terminate implements server.SessionIdManager (DELETE /mcp).
func (m *mcpSessions) Terminate(id string) (isNotAllowed bool, err error) {
	m.mu.Lock()
	delete(m.live, id)
	m.mu.Unlock()
	return false, nil
}
