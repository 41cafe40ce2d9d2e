package metrics

import "github.com/prometheus/client_golang/prometheus"

// RegisterStateBackend exports which state backend bootsrv runs on and,
// for a database shared by replicas, whether it is reachable:
// state_degraded is 1 while the replica serves its last known state
// read-only (docs/scale-out.md).
func (m *Metrics) RegisterStateBackend(shared bool, degraded func() bool) error {
	v := 0.0
	if shared {
		v = 1
	}
	if err := m.register("state-shared gauge", prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: namespace, Subsystem: "state", Name: "shared",
		Help: "1: the state is a PostgreSQL database shared by bootsrv replicas; 0: this server's SQLite file.",
	}, func() float64 { return v })); err != nil {
		return err
	}
	return m.register("state-degraded gauge", prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: namespace, Subsystem: "state", Name: "degraded",
		Help: "1 while the shared state database is unreachable: boots are served from the last known state, changes are refused.",
	}, func() float64 {
		if degraded() {
			return 1
		}
		return 0
	}))
}
