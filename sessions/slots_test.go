package sessions

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// waiting is how many runs of owner wait for a slot.
func (s *slots) waitingOf(owner string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waiting[owner]
}

// TestSlots_ownerCap: an owner never holds more than its share, even with slots free and nobody
// else waiting; another owner takes the rest at once.
func TestSlots_ownerCap(t *testing.T) {
	s := newSlots(4, 0, 32) // share 2
	ctx := context.Background()
	for range 2 {
		if err := s.acquire(ctx, "greedy"); err != nil {
			t.Fatal(err)
		}
	}
	third := make(chan error, 1)
	go func() { third <- s.acquire(ctx, "greedy") }()
	waitFor(t, func() bool { return s.waitingOf("greedy") == 1 })
	for i := range 2 {
		short, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := s.acquire(short, "polite")
		cancel()
		if err != nil {
			t.Fatalf("polite's run %d with two slots free: %v, want a slot at once", i, err)
		}
	}
	select {
	case err := <-third:
		t.Fatalf("greedy got a third slot (%v), want it to wait for one of its own", err)
	default:
	}
	s.release("polite") // a free slot, but greedy is at its share: it stays free
	select {
	case err := <-third:
		t.Fatalf("greedy got a slot freed by polite (%v), over its share", err)
	case <-time.After(50 * time.Millisecond):
	}
	s.release("greedy") // greedy's own run ended: its waiter goes
	if err := <-third; err != nil {
		t.Fatal(err)
	}
	if used, waiting := s.load(); used != 3 || waiting != 0 {
		t.Errorf("used %d, waiting %d; want 3, 0", used, waiting)
	}
}

// TestSlots_fewestFirst: a freed slot goes to the waiting owner that holds the fewest, before
// an owner that asked earlier but holds more.
func TestSlots_fewestFirst(t *testing.T) {
	s := newSlots(3, 2, 32)
	ctx := context.Background()
	for _, o := range []string{"a", "a", "b"} {
		if err := s.acquire(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	got := make(chan string, 2)
	go func() { s.acquire(ctx, "b"); got <- "b" }()
	waitFor(t, func() bool { return s.waitingOf("b") == 1 })
	go func() { s.acquire(ctx, "c"); got <- "c" }()
	waitFor(t, func() bool { return s.waitingOf("c") == 1 })
	s.release("a")
	if first := <-got; first != "c" {
		t.Errorf("the freed slot went to %s (holding 1), want c (holding none)", first)
	}
	s.release("a")
	if second := <-got; second != "b" {
		t.Errorf("got %s, want b", second)
	}
}

// TestSlots_queueBounds: one owner may fill only its part of the queue; the queue as a whole is
// bounded; a waiter gives up with its context and leaves nothing behind.
func TestSlots_queueBounds(t *testing.T) {
	s := newSlots(2, 1, 9) // share 1, owner queue max(1, 9/4) = 2
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.acquire(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); s.acquire(ctx, "a") }()
	}
	waitFor(t, func() bool { return s.waitingOf("a") == 2 })
	if err := s.acquire(ctx, "a"); !errors.Is(err, errOwnerQueueFull) {
		t.Errorf("a's third waiter: %v, want errOwnerQueueFull", err)
	}
	for i := range 8 { // one takes the free slot, the others fill the rest of the queue
		owner := fmt.Sprintf("o%d", i/2)
		wg.Add(1)
		go func() { defer wg.Done(); s.acquire(ctx, owner) }()
	}
	waitFor(t, func() bool { _, w := s.load(); return w == 9 })
	if err := s.acquire(ctx, "late"); !errors.Is(err, errQueueFull) {
		t.Errorf("with the queue full: %v, want errQueueFull", err)
	}
	cancel()
	wg.Wait()
	if _, w := s.load(); w != 0 {
		t.Errorf("%d waiters left after their contexts ended", w)
	}
	if used, _ := s.load(); used != 2 {
		t.Errorf("%d slots used, want the 2 taken before", used)
	}
}

// TestSlots_hostile: many owners acquiring, giving up and releasing at random never push an
// owner past its share or the slots past their number, and every slot comes back.
func TestSlots_hostile(t *testing.T) {
	s := newSlots(4, 2, 1000)
	var wg sync.WaitGroup
	var bad sync.Once
	for g := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := fmt.Sprintf("o%d", g%7)
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rand.IntN(2000))*time.Microsecond)
			defer cancel()
			if s.acquire(ctx, owner) != nil {
				return
			}
			s.mu.Lock()
			if s.active[owner] > s.perOwner || s.used > s.max {
				bad.Do(func() {
					t.Errorf("owner %s holds %d (share %d), used %d of %d", owner, s.active[owner], s.perOwner, s.used, s.max)
				})
			}
			s.mu.Unlock()
			time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond)
			s.release(owner)
		}()
	}
	wg.Wait()
	if used, waiting := s.load(); used != 0 || waiting != 0 {
		t.Errorf("after all: used %d, waiting %d", used, waiting)
	}
}
