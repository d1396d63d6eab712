package front

import (
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the Prometheus series behind /metrics, in a registry of the server's own.
type metrics struct {
	reg      *prometheus.Registry
	runs     *prometheus.CounterVec
	duration *prometheus.HistogramVec
	rejected *prometheus.CounterVec
	requests *prometheus.HistogramVec
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
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wasmbox_http_post_duration_seconds",
			Help:    "Time the server spends on a POST, from its headers read to its response written, by route (mcp, sse, api, librechat, other).",
			Buckets: []float64{0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30, 120},
		}, []string{"route"}),
	}
	m.reg.MustRegister(m.runs, m.duration, m.rejected, m.requests,
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
	if cfg.PythonLoads != nil {
		for i, how := range []string{"skeleton", "validated"} {
			m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "wasmbox_worker_python_loads_total",
				Help:        "Workers started with Python, by how they loaded python.wasm's machine code: from the cache without validating python.wasm again (skeleton) or validating it first (validated, 0.4 s slower).",
				ConstLabels: prometheus.Labels{"how": how}}, func() float64 {
				sk, va := cfg.PythonLoads()
				return float64([]int64{sk, va}[i])
			}))
		}
	}
	return m
}

// timed records how long each POST takes, by the route it is for.
func (f *Front) timed(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		next.ServeHTTP(w, r)
		f.metrics.requests.WithLabelValues(routeOf(strings.TrimPrefix(r.URL.Path, f.cfg.BasePath))).Observe(time.Since(start).Seconds())
	})
}

// routeOf names the route of path for metrics: a fixed set, whatever paths clients send.
func routeOf(path string) string {
	switch {
	case path == "/mcp": // the streamable HTTP endpoint of package mcp
		return "mcp"
	case strings.HasPrefix(path, "/api/"):
		return "api"
	case strings.HasPrefix(path, "/librechat/"):
		return "librechat"
	case strings.HasPrefix(path, "/message"), strings.HasPrefix(path, "/gradio_api/"):
		return "sse"
	}
	return "other"
}
