package server

import (
	"net/http"

	"github.com/disklesstrap/disklesstrap/bootsrv/dhcpd"
	"github.com/disklesstrap/disklesstrap/bootsrv/metrics"
	"github.com/disklesstrap/disklesstrap/bootsrv/state"
)

// MetricsPath is where bootsrv's HTTP listener serves Prometheus metrics
// (package bootsrv/metrics lists the families).
const MetricsPath = "/metrics"

// initMetrics creates the registry and hooks the state store into it
// (New). DHCP is registered by Run when it serves DHCP.
func (s *Server) initMetrics() error {
	s.metrics = metrics.New()
	s.store.SetObserver(s.metrics.ObserveState)
	if err := s.metrics.RegisterPhases(s.phaseCounts, s.log); err != nil {
		return err
	}
	if err := s.metrics.RegisterStateBackend(s.store.Shared(), s.store.Degraded); err != nil {
		return err
	}
	return s.metrics.RegisterQueuedLost(s.store.QueuedLost)
}

// registerDHCP exports the DHCP server's counters. Only a second Run of
// the same Server can fail here; the counters of the first stay.
func (s *Server) registerDHCP(d *dhcpd.Server) {
	if err := s.metrics.RegisterDHCP(d.Stats); err != nil {
		s.log.Warn("metrics: dhcp counters", "err", err)
	}
}

// handler serves GET /metrics and counts every other request by the API
// mux pattern it matched.
func (s *Server) handler(apiHandler http.Handler) http.Handler {
	counted := s.metrics.Middleware(apiHandler)
	scrape := s.metrics.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == MetricsPath && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			scrape.ServeHTTP(w, r)
			return
		}
		counted.ServeHTTP(w, r)
	})
}

// phaseCounts counts inventory nodes by the phase of their last event, and
// discovered unknown MACs under their own phases.
func (s *Server) phaseCounts() (map[string]int, error) {
	st, err := s.store.Status(nil)
	if err != nil {
		return nil, err
	}
	nodes := s.Cluster().Nodes()
	names := make([]string, len(nodes))
	known := make(map[string]bool, len(nodes))
	for i, n := range nodes {
		names[i] = n.Name
		known[n.Name] = true
	}
	phaseOf := make(map[string]string, len(st))
	var extra []string
	for n, x := range st {
		if known[n] {
			phaseOf[n] = x.Phase
		} else if x.Phase != "" {
			extra = append(extra, x.Phase)
		}
	}
	return metrics.PhaseCounts(names, phaseOf, extra), nil
}

// queueLease hands a lease change from MemLeases to the state store,
// which coalesces changes by MAC and commits them in the background
// (state.Store.QueueLease); nothing is dropped.
func (s *Server) queueLease(l dhcpd.Lease, deleted bool) {
	err := s.store.QueueLease(state.Lease{MAC: l.MAC.String(), IP: l.Addr, Network: l.Network, Expires: l.Expires}, deleted)
	if err != nil {
		s.log.Warn("lease not stored", "mac", l.MAC.String(), "err", err)
	}
}
