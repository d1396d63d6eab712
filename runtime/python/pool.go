package python

import (
	"context"
	"sync"
	"time"
)

// pool keeps up to n started guests ready; one goroutine refills it in the background.
type pool struct {
	refill bool
	ready  chan *guest
	need   chan struct{}
	stop   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
}

func newPool(n int, refill bool, start func(context.Context) (*guest, error)) *pool {
	p := &pool{refill: refill, ready: make(chan *guest, n), need: make(chan struct{}, n), stop: make(chan struct{})}
	if n == 0 {
		return p
	}
	for range n {
		p.need <- struct{}{}
	}
	p.wg.Add(1)
	go p.fill(start)
	return p
}

func (p *pool) fill(start func(context.Context) (*guest, error)) {
	defer p.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-p.stop
		cancel()
	}()
	for {
		select {
		case <-p.stop:
			return
		case <-p.need:
		}
		g, err := start(ctx)
		if err != nil {
			p.want()
			select { // do not spin if starting fails (e.g. out of memory)
			case <-p.stop:
				return
			case <-time.After(time.Second):
			}
			continue
		}
		select {
		case p.ready <- g:
		case <-p.stop:
			g.in.Close()
			return
		}
	}
}

func (p *pool) want() {
	select {
	case p.need <- struct{}{}:
	default:
	}
}

// get returns a started guest, or nil when none is ready.
func (p *pool) get() *guest {
	select {
	case g := <-p.ready:
		if p.refill {
			p.want()
		}
		return g
	default:
		return nil
	}
}

func (p *pool) size() int { return len(p.ready) }

func (p *pool) close() {
	p.once.Do(func() {
		close(p.stop)
		p.wg.Wait()
		for {
			select {
			case g := <-p.ready:
				g.in.Close()
			default:
				return
			}
		}
	})
}
