package librechat

import (
	"fmt"
	goruntime "runtime"
	"strings"
	"testing"
	"time"
)

// TestHintSessions_million: a million distinct hints, some of them long, keep the map within
// its count and its bytes; a caller flooding hints evicts only its own.
func TestHintSessions_million(t *testing.T) {
	h := newHintSessions(maxHints, maxHintsPerOwner, hintIdle)
	goruntime.GC()
	var before goruntime.MemStats
	goruntime.ReadMemStats(&before)
	long := strings.Repeat("x", 4096)
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	for i := range n {
		hint := fmt.Sprint(i)
		if i%100 == 0 {
			hint += long // long hints cost no more than short ones
		}
		// Many callers (addresses), each with many hints.
		h.put(fmt.Sprint("ip:", i%1000), hint, "s")
	}
	goruntime.GC()
	var after goruntime.MemStats
	goruntime.ReadMemStats(&after)
	grew := int64(after.HeapInuse) - int64(before.HeapInuse)
	t.Logf("%d hints: %d kept, heap grew %.1f MiB", n, h.len(), float64(grew)/(1<<20))
	if h.len() > maxHints {
		t.Errorf("got %d hints kept, want at most %d", h.len(), maxHints)
	}
	if grew > 32<<20 {
		t.Errorf("the heap grew by %d MiB, want under 32 MiB", grew>>20)
	}
	// One caller alone keeps at most its share, and does not push out another's.
	h2 := newHintSessions(100, 10, hintIdle)
	h2.put("victim", "conversation", "s-victim")
	for i := range 1000 {
		h2.put("flooder", fmt.Sprint(i), "s")
	}
	if id, ok := h2.get("victim", "conversation"); !ok || id != "s-victim" {
		t.Errorf("the victim's hint after a flood: got %q %v, want s-victim", id, ok)
	}
	if got := h2.len(); got != 11 {
		t.Errorf("got %d hints, want 11 (the flooder's 10 and the victim's)", got)
	}
	if id, ok := h2.get("flooder", "999"); !ok || id != "s" {
		t.Error("the flooder's latest hint was forgotten")
	}
	if _, ok := h2.get("flooder", "0"); ok {
		t.Error("the flooder's oldest hint was kept past its share")
	}
}

// TestHintSessions_expiry: a hint unused for its idle time is forgotten; use keeps it.
func TestHintSessions_expiry(t *testing.T) {
	now := time.Unix(0, 0)
	h := newHintSessions(10, 10, time.Hour)
	h.now = func() time.Time { return now }
	h.put("a", "old", "s1")
	h.put("a", "used", "s2")
	now = now.Add(50 * time.Minute)
	h.get("a", "used")
	now = now.Add(20 * time.Minute)
	if _, ok := h.get("a", "old"); ok {
		t.Error("a hint idle past its time was kept")
	}
	if id, ok := h.get("a", "used"); !ok || id != "s2" {
		t.Errorf("a hint in use: got %q %v, want s2", id, ok)
	}
	// Same hint, another caller: another entry.
	h.put("b", "used", "s3")
	if id, _ := h.get("a", "used"); id != "s2" {
		t.Errorf("caller a's hint after b's: got %q, want s2", id)
	}
	// Replacing keeps one entry.
	h.put("b", "used", "s4")
	if id, _ := h.get("b", "used"); id != "s4" || h.len() != 2 {
		t.Errorf("replaced: got %q and %d entries, want s4 and 2", id, h.len())
	}
}
