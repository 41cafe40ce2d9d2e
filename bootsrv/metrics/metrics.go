package metrics

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "bootsrv"

// Metrics is one registry with bootsrv's collectors. Its methods are safe
// for concurrent use.
type Metrics struct {
	reg          *prometheus.Registry
	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	stateOps     *prometheus.HistogramVec
}

// New returns a registry with the HTTP and state-store collectors plus the
// Go runtime and process collectors. DHCP counters, node phases and the
// store's lost queued writes are added with RegisterDHCP, RegisterPhases
// and RegisterQueuedLost.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests by route (the mux pattern) and status code.",
		}, []string{"route", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "http", Name: "request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route (the mux pattern).",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"route"}),
		stateOps: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "state", Name: "op_duration_seconds",
			Help:    "State store (SQLite) operation latency by operation and result (ok, error).",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"op", "result"}),
	}
	m.reg.MustRegister(m.httpRequests, m.httpDuration, m.stateOps,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is the underlying registry (to add more collectors).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text format (GET /metrics).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// ObserveState records one state store operation (state.Store.SetObserver).
// op must come from a small fixed set ("commit", "write"): it is a label.
func (m *Metrics) ObserveState(op string, took time.Duration, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.stateOps.WithLabelValues(op, result).Observe(took.Seconds())
}

// RegisterQueuedLost exports the state store's count of queued writes
// (boot counters, bootsrv's own events, dynamic leases) that a failed
// commit lost; lost is called at every scrape (state.Store.QueuedLost).
func (m *Metrics) RegisterQueuedLost(lost func() uint64) error {
	return m.register("queued-writes-lost counter", prometheus.NewCounterFunc(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "state", Name: "queued_writes_lost_total",
		Help: "Queued (not waited for) state writes that a failed commit lost.",
	}, func() float64 { return float64(lost()) }))
}

// register adds c, turning a duplicate registration into an error that
// names what was registered twice.
func (m *Metrics) register(what string, c prometheus.Collector) error {
	if err := m.reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			return fmt.Errorf("metrics: %s registered twice", what)
		}
		return fmt.Errorf("metrics: register %s: %w", what, err)
	}
	return nil
}
