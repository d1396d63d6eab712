package mcp

import (
	"net/http"
	"strings"
	"testing"
)

// TestMCPSessions_signed: with a key, a server accepts ids another server with the same key
// issued (replicas of a cluster), and refuses ids of another key, tampered ids and unsigned ones.
func TestMCPSessions_signed(t *testing.T) {
	client := func(*http.Request) string { return "c" }
	a, b, other := newMCPSessions(client), newMCPSessions(client), newMCPSessions(client)
	a.key, b.key, other.key = []byte("cluster key"), []byte("cluster key"), []byte("another key")
	id := a.generate("c")
	if _, err := b.validate(id, "c"); err != nil {
		t.Fatalf("a replica refused its peer's id %s: %v", id, err)
	}
	if total, mine := b.count("c"); total != 1 || mine != 1 {
		t.Errorf("the adopted id is not counted: %d %d", total, mine)
	}
	if _, err := other.validate(id, "c"); err == nil {
		t.Error("a server with another key accepted the id")
	}
	tampered := id[:len("mcp-session-")] + strings.Repeat("0", 32) + id[len("mcp-session-")+32:]
	if _, err := b.validate(tampered, "c"); err == nil {
		t.Error("an id with another random part and the same signature was accepted")
	}
	plain := newMCPSessions(client)
	unsigned := plain.generate("c")
	if _, err := b.validate(unsigned, "c"); err == nil {
		t.Error("an unsigned id this server never issued was accepted")
	}
	if _, err := plain.validate(id, "c"); err == nil {
		t.Error("a server without a key accepted an id it never issued")
	}
}
