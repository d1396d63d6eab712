package front

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the Prometheus series behind /metrics, in a registry of the server's own.
type metrics struct {
	reg      *prometheus.Registry
	runs     *prometheus.CounterVec
	duration *prometheus.HistogramVec
	rejected *prometheus.CounterVec
}

func newMetrics(cfg Config) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wasmbox_runs_total", Help: "Runs by language and outcome (success or the error kind).",
		}, []string{"language", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "wasmbox_run_duration_seconds", Help: "Wall-clock duration of runs, including waiting for the session.",
			Buckets: []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"language"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wasmbox_rejected_requests_total", Help: "Requests refused, by reason.",
		}, []string{"reason"}),
	}
	m.reg.MustRegister(m.runs, m.duration, m.rejected,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "wasmbox_active_sessions", Help: "Live sessions."},
			func() float64 { return float64(cfg.Sessions.Count()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "wasmbox_pool_size", Help: "Started interpreters waiting in the warm pool."},
			func() float64 {
				if cfg.PoolSize == nil {
					return 0
				}
				return float64(cfg.PoolSize())
			}),
	)
	return m
}
