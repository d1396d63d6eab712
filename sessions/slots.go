package sessions

import (
	"context"
	"errors"
	"sync"
)

// Errors of [slots.acquire] when a run may not even wait.
var (
	errQueueFull      = errors.New("sessions: run queue full")
	errOwnerQueueFull = errors.New("sessions: owner's run queue full")
)

// slots are the execution slots shared by all sessions. Every owner holds at most perOwner of
// them at all times, whether or not anyone else is waiting right now: a tenant's long runs can
// never leave a newcomer without a slot, because at least max-perOwner slots are always out of
// that tenant's reach. A freed slot goes to the waiting owner holding the fewest (the first
// to ask among equals), so an owner that holds none is served before one that holds some.
//
// The queue is bounded too: maxQueue waiters in all, and ownerQueue of one owner, so one owner
// cannot fill the queue and make everyone else's calls fail as busy.
//
// slots is safe for concurrent use.
type slots struct {
	mu         sync.Mutex
	max        int
	perOwner   int
	maxQueue   int
	ownerQueue int
	used       int
	active     map[string]int // runs in progress, by owner
	waiting    map[string]int // runs waiting, by owner
	queue      []*slotWaiter  // in arrival order
}

type slotWaiter struct {
	owner   string
	granted chan struct{} // closed when the slot is this waiter's
}

// newSlots returns n slots of which one owner may hold perOwner (0: max(1, n/2)), with room for
// queue waiters (of one owner: max(1, queue/4), at least perOwner).
func newSlots(n, perOwner, queue int) *slots {
	if perOwner <= 0 {
		perOwner = max(1, n/2)
	}
	perOwner = min(perOwner, n)
	return &slots{max: n, perOwner: perOwner, maxQueue: queue, ownerQueue: max(perOwner, queue/4, 1),
		active: map[string]int{}, waiting: map[string]int{}}
}

// acquire takes a slot for owner: at once when one is free and owner holds fewer than its
// share, else after waiting its turn, until ctx is done. It fails at once, with errQueueFull or
// errOwnerQueueFull, when the queue has no room.
func (s *slots) acquire(ctx context.Context, owner string) error {
	s.mu.Lock()
	// Free slots never sit beside a waiter that may take them (see dispatchLocked), so a free
	// slot is this caller's if its owner is under its share.
	if s.used < s.max && s.active[owner] < s.perOwner {
		s.used++
		s.active[owner]++
		s.mu.Unlock()
		return nil
	}
	switch {
	case s.waiting[owner] >= s.ownerQueue:
		s.mu.Unlock()
		return errOwnerQueueFull
	case len(s.queue) >= s.maxQueue:
		s.mu.Unlock()
		return errQueueFull
	}
	w := &slotWaiter{owner: owner, granted: make(chan struct{})}
	s.queue = append(s.queue, w)
	s.waiting[owner]++
	s.dispatchLocked()
	s.mu.Unlock()

	select {
	case <-w.granted:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-w.granted: // granted as the context ended: give it back
		s.releaseLocked(owner)
	default:
		s.dequeueLocked(w)
	}
	return ctx.Err()
}

func (s *slots) dequeueLocked(w *slotWaiter) {
	for i, q := range s.queue {
		if q == w {
			s.queue = append(s.queue[:i], s.queue[i+1:]...)
			break
		}
	}
	if s.waiting[w.owner]--; s.waiting[w.owner] <= 0 {
		delete(s.waiting, w.owner)
	}
}

// dispatchLocked hands free slots to waiters: each to the eligible waiter (under its owner's
// share) whose owner holds the fewest, the earliest among equals.
func (s *slots) dispatchLocked() {
	for s.used < s.max {
		var best *slotWaiter
		for _, w := range s.queue {
			n := s.active[w.owner]
			if n >= s.perOwner {
				continue
			}
			if best == nil || n < s.active[best.owner] {
				best = w
			}
		}
		if best == nil {
			return
		}
		s.dequeueLocked(best)
		s.used++
		s.active[best.owner]++
		close(best.granted)
	}
}

// release gives owner's slot back.
func (s *slots) release(owner string) {
	s.mu.Lock()
	s.releaseLocked(owner)
	s.mu.Unlock()
}

func (s *slots) releaseLocked(owner string) {
	s.used--
	if s.active[owner]--; s.active[owner] <= 0 {
		delete(s.active, owner)
	}
	s.dispatchLocked()
}

// load returns the slots in use and the runs waiting (for tests and metrics).
func (s *slots) load() (used, waiting int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used, len(s.queue)
}
