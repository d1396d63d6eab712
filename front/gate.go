package front

import (
	"errors"
	"sync"
)

// Errors of [Gate.Enter]: which cap refused the work.
var (
	ErrOwnerBusy  = errors.New("front: the caller has its most of this work in progress")
	ErrServerBusy = errors.New("front: the server has its most of this work in progress")
)

// Gate bounds one kind of work in progress (uploads, MCP file reads): at most max at once,
// and at most perOwner of them for one owner. Nobody waits at a gate: work over a cap is
// refused, and the caller tells its client to retry. It is safe for concurrent use.
type Gate struct {
	mu       sync.Mutex
	total    int
	perOwner map[string]int
	max, per int
}

// NewGate returns a [Gate] with the two caps.
func NewGate(max, perOwner int) *Gate {
	return &Gate{perOwner: map[string]int{}, max: max, per: perOwner}
}

// Caps returns the gate's caps: in total, and per owner.
func (g *Gate) Caps() (max, perOwner int) { return g.max, g.per }

// Enter admits one piece of work of owner, or returns [ErrOwnerBusy] or [ErrServerBusy].
// Admitted, the caller calls leave when the work is over; calling it again does nothing.
func (g *Gate) Enter(owner string) (leave func(), err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.perOwner[owner] >= g.per:
		return nil, ErrOwnerBusy
	case g.total >= g.max:
		return nil, ErrServerBusy
	}
	g.total++
	g.perOwner[owner]++
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			defer g.mu.Unlock()
			g.total--
			if g.perOwner[owner]--; g.perOwner[owner] <= 0 {
				delete(g.perOwner, owner)
			}
		})
	}, nil
}
