package worker

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"wasmbox/runtime"
)

// TestNew_selfExe: by default workers are started from /proc/self/exe (the running binary,
// even after its file was replaced), and must report this binary's build.
func TestNew_selfExe(t *testing.T) {
	s, err := New(WithPoolSize(0), WithMemoryBudget(4<<30))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.cfg.exe != selfExe || s.cfg.build != BuildID() || s.cfg.argv0 == "" {
		t.Errorf("exe %q build %q argv0 %q; want %q and this binary's build", s.cfg.exe, s.cfg.build, s.cfg.argv0, selfExe)
	}
	if _, err := New(WithExecutable(t.TempDir() + "/missing")); err == nil {
		t.Error("a missing executable was accepted")
	}
	if _, err := New(WithFreezeTimeout(0)); err == nil {
		t.Error("a freeze timeout of 0 was accepted")
	}
	if _, err := New(WithFreezeTimeout(-time.Second)); err == nil {
		t.Error("a negative freeze timeout was accepted")
	}
}

// TestAcquire_parkingFull: with the budget spent and maxParking workers already being stopped
// for others, a new session is told busy at once rather than lent more memory.
func TestAcquire_parkingFull(t *testing.T) {
	s, err := New(WithPoolSize(0), WithMemoryBudget(1<<30))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ip, _ := s.Open(WithOwner(context.Background(), "a"), t.TempDir())
	h := ip.(*handle)
	if h.owner != "a" || OwnerOf(context.Background()) != "" {
		t.Errorf("owner %q", h.owner)
	}
	s.mu.Lock()
	s.live = int(s.cfg.budget / s.cfg.charge)
	s.parking = maxParking
	s.mu.Unlock()
	_, err = s.acquire(context.Background(), h)
	if !errors.Is(err, runtime.ErrBusy) || !strings.Contains(err.Error(), "try again") {
		t.Errorf("got %v, want busy with a retry hint", err)
	}
	s.mu.Lock()
	s.live, s.parking = 0, 0
	s.mu.Unlock()
}
