package sessions

import (
	"context"
	"sync"
)

// slots are the execution slots shared by all sessions. While others wait, no owner holds more
// than half of them: one tenant's long runs slow the others at most by half.
type slots struct {
	mu      sync.Mutex
	max     int
	used    int
	active  map[string]int // runs in progress, by owner
	waiting map[string]int // runs waiting, by owner
	changed chan struct{}  // closed and replaced whenever a slot is released
}

func newSlots(n int) *slots {
	return &slots{max: n, active: map[string]int{}, waiting: map[string]int{}, changed: make(chan struct{})}
}

// share is the most one owner may hold while another waits.
func (s *slots) share() int { return max(1, s.max/2) }

// othersWaitLocked reports whether an owner other than owner waits that holds less than its
// share, and so would take a free slot. (Owners all at their share do not wait for each other.)
func (s *slots) othersWaitLocked(owner string) bool {
	for o, n := range s.waiting {
		if o != owner && n > 0 && s.active[o] < s.share() {
			return true
		}
	}
	return false
}

// acquire takes a slot for owner, waiting until one is free and owner's turn has come, or
// until ctx is done.
func (s *slots) acquire(ctx context.Context, owner string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waiting[owner]++
	defer func() {
		if s.waiting[owner]--; s.waiting[owner] == 0 {
			delete(s.waiting, owner)
		}
	}()
	for {
		if s.used < s.max && (s.active[owner] < s.share() || !s.othersWaitLocked(owner)) {
			s.used++
			s.active[owner]++
			return nil
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
			s.mu.Lock()
		case <-ctx.Done():
			s.mu.Lock()
			s.broadcastLocked() // who waited behind this waiter may go now
			return ctx.Err()
		}
	}
}

func (s *slots) broadcastLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// release gives owner's slot back.
func (s *slots) release(owner string) {
	s.mu.Lock()
	s.used--
	if s.active[owner]--; s.active[owner] == 0 {
		delete(s.active, owner)
	}
	s.broadcastLocked()
	s.mu.Unlock()
}
