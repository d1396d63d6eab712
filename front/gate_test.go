package front

import (
	"errors"
	"testing"
)

func TestGate_caps(t *testing.T) {
	t.Parallel()
	g := NewGate(3, 2)
	a1, err := g.Enter("a")
	if err != nil {
		t.Fatalf("a's first: %v", err)
	}
	if _, err := g.Enter("a"); err != nil {
		t.Fatalf("a's second: %v", err)
	}
	if _, err := g.Enter("a"); !errors.Is(err, ErrOwnerBusy) {
		t.Fatalf("a's third: got %v, want ErrOwnerBusy", err)
	}
	if _, err := g.Enter("b"); err != nil {
		t.Fatalf("b's first: %v", err)
	}
	if _, err := g.Enter("c"); !errors.Is(err, ErrServerBusy) {
		t.Fatalf("c at a full gate: got %v, want ErrServerBusy", err)
	}
	a1()
	a1() // a second leave gives nothing back twice
	if _, err := g.Enter("c"); err != nil {
		t.Fatalf("c after a left: %v", err)
	}
	if _, err := g.Enter("d"); !errors.Is(err, ErrServerBusy) {
		t.Fatalf("d: got %v, want ErrServerBusy (a's double leave must not free two places)", err)
	}
	if len(g.perOwner) != 3 {
		t.Errorf("owners counted: got %d, want 3 (a, b, c)", len(g.perOwner))
	}
}
