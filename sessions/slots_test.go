package sessions

import (
	"context"
	"testing"
	"time"
)

// TestSlots_fair: while another owner waits, an owner holding half the slots or more gets no
// new one; with nobody else waiting it may use them all.
func TestSlots_fair(t *testing.T) {
	s := newSlots(4)
	ctx := context.Background()
	for range 4 { // nobody else waits: greedy may take every slot
		if err := s.acquire(ctx, "greedy"); err != nil {
			t.Fatal(err)
		}
	}
	got := make(chan string, 2)
	go func() { s.acquire(ctx, "greedy"); got <- "greedy" }()
	waitFor(t, func() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.waiting["greedy"] == 1 })
	go func() { s.acquire(ctx, "polite"); got <- "polite" }()
	waitFor(t, func() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.waiting["polite"] == 1 })
	s.release("greedy") // greedy still holds 3 of 4: the freed slot goes to polite
	if first := <-got; first != "polite" {
		t.Errorf("the freed slot went to %s, want polite", first)
	}
	s.release("greedy") // nobody else waits now: greedy's waiter gets it
	select {
	case who := <-got:
		if who != "greedy" {
			t.Errorf("got %s", who)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("greedy never got a slot though nobody else waited")
	}
	// A waiter gives up with its context.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := s.acquire(short, "late"); err == nil {
		t.Error("acquire with every slot taken succeeded")
	}
}

// TestSlots_bothAtShare: two owners each holding half and both waiting do not wait for each
// other beside a free slot.
func TestSlots_bothAtShare(t *testing.T) {
	s := newSlots(5) // share 2
	ctx := context.Background()
	for _, o := range []string{"a", "a", "c", "c"} {
		if err := s.acquire(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	s.mu.Lock()
	s.used = s.max // the fifth slot is busy elsewhere for now
	s.mu.Unlock()
	got := make(chan string, 2)
	go func() { s.acquire(ctx, "a"); got <- "a" }()
	go func() { s.acquire(ctx, "c"); got <- "c" }()
	waitFor(t, func() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.waiting["a"] == 1 && s.waiting["c"] == 1 })
	s.mu.Lock()
	s.used--
	s.broadcastLocked()
	s.mu.Unlock()
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("a free slot stayed free while two owners at their share waited for each other")
	}
}
