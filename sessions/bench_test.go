package sessions

import (
	"context"
	"sync/atomic"
	"testing"
)

// BenchmarkManager_Run is the sessions layer's cost of one warm run (the backend answers at
// once), eight sessions in parallel, each with a full history: the run's bookkeeping and its
// record on disk.
func BenchmarkManager_Run(b *testing.B) {
	m, _, _ := newManager(b, b.TempDir())
	var ids []string
	for range 8 {
		s, _ := m.Create("o")
		for range m.cfg.historyCap {
			m.Run(context.Background(), s.ID, py("limit"))
		}
		ids = append(ids, s.ID)
	}
	var next atomic.Int64
	b.ResetTimer()
	b.SetParallelism(1)
	b.RunParallel(func(pb *testing.PB) {
		id := ids[int(next.Add(1)-1)%len(ids)]
		for pb.Next() {
			if _, err := m.Run(context.Background(), id, py("limit")); err != nil {
				b.Error(err)
			}
		}
	})
}
