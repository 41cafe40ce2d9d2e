package metrics

import (
	"log/slog"

	"github.com/disklesstrap/disklesstrap/bootsrv/dhcpd"
	"github.com/prometheus/client_golang/prometheus"
)

// dhcpOutcomes maps the outcome label to its counter in dhcpd.Stats.
var dhcpOutcomes = []struct {
	label string
	get   func(*dhcpd.Stats) uint64
}{
	{"offer", func(s *dhcpd.Stats) uint64 { return s.Offers }},
	{"ack", func(s *dhcpd.Stats) uint64 { return s.Acks }},
	{"nak", func(s *dhcpd.Stats) uint64 { return s.Naks }},
	{"inform", func(s *dhcpd.Stats) uint64 { return s.Informs }},
	{"release", func(s *dhcpd.Stats) uint64 { return s.Releases }},
	{"decline", func(s *dhcpd.Stats) uint64 { return s.Declines }},
	{"ignore", func(s *dhcpd.Stats) uint64 { return s.Ignored }},
}

var (
	descDHCPReceived  = prometheus.NewDesc(namespace+"_dhcp_received_total", "Parsed DHCP requests by message type.", []string{"type"}, nil)
	descDHCPOutcomes  = prometheus.NewDesc(namespace+"_dhcp_outcomes_total", "DHCP decisions by outcome.", []string{"outcome"}, nil)
	descDHCPMalformed = prometheus.NewDesc(namespace+"_dhcp_malformed_total", "DHCP packets that did not parse.", nil, nil)
	descDHCPErrors    = prometheus.NewDesc(namespace+"_dhcp_errors_total", "DHCP lease store, read and send failures.", nil, nil)
	descNodes         = prometheus.NewDesc(namespace+"_nodes", "Nodes by the phase of their last event (none: never heard of).", []string{"phase"}, nil)
)

// dhcpCollector reads the DHCP server's counters at scrape time.
type dhcpCollector struct{ stats func() dhcpd.Stats }

func (c dhcpCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descDHCPReceived
	ch <- descDHCPOutcomes
	ch <- descDHCPMalformed
	ch <- descDHCPErrors
}

func (c dhcpCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	for typ, n := range s.Received {
		ch <- prometheus.MustNewConstMetric(descDHCPReceived, prometheus.CounterValue, float64(n), typ)
	}
	for _, o := range dhcpOutcomes {
		ch <- prometheus.MustNewConstMetric(descDHCPOutcomes, prometheus.CounterValue, float64(o.get(&s)), o.label)
	}
	ch <- prometheus.MustNewConstMetric(descDHCPMalformed, prometheus.CounterValue, float64(s.Malformed))
	ch <- prometheus.MustNewConstMetric(descDHCPErrors, prometheus.CounterValue, float64(s.Errors))
}

// RegisterDHCP exports the DHCP server's counters; stats is called at every
// scrape (dhcpd.Server.Stats).
func (m *Metrics) RegisterDHCP(stats func() dhcpd.Stats) error {
	return m.register("dhcp collector", dhcpCollector{stats})
}

// phaseCollector counts nodes by phase at scrape time.
type phaseCollector struct {
	count func() (map[string]int, error)
	log   *slog.Logger
}

func (c phaseCollector) Describe(ch chan<- *prometheus.Desc) { ch <- descNodes }

func (c phaseCollector) Collect(ch chan<- prometheus.Metric) {
	counts, err := c.count()
	if err != nil {
		c.log.Warn("metrics: count nodes by phase", "err", err)
		ch <- prometheus.NewInvalidMetric(descNodes, err)
		return
	}
	for phase, n := range counts {
		ch <- prometheus.MustNewConstMetric(descNodes, prometheus.GaugeValue, float64(n), phase)
	}
}

// RegisterPhases exports nodes by phase; count is called at every scrape
// (see PhaseCounts). log (nil: slog.Default) receives count's errors.
func (m *Metrics) RegisterPhases(count func() (map[string]int, error), log *slog.Logger) error {
	if log == nil {
		log = slog.Default()
	}
	return m.register("phase collector", phaseCollector{count, log})
}

// PhaseNone is the phase label of inventory nodes bootsrv never heard of.
const PhaseNone = "none"

// PhaseOther is the phase label that absorbs phases beyond MaxPhases.
const PhaseOther = "other"

// MaxPhases bounds the distinct phase labels PhaseCounts returns: phases are
// strings agents send, and a label must not grow without bound.
const MaxPhases = 32

// PhaseCounts counts nodes by phase: every name in nodes (the inventory)
// once, with the phase phaseOf reports for it, PhaseNone when it has none.
// Phases of nodes outside the inventory (discovered MACs) are counted from
// extra. Past MaxPhases distinct phases, the rest count as PhaseOther.
func PhaseCounts(nodes []string, phaseOf map[string]string, extra []string) map[string]int {
	out := make(map[string]int)
	add := func(p string) {
		if p == "" {
			p = PhaseNone
		}
		if _, seen := out[p]; !seen && len(out) >= MaxPhases-1 && p != PhaseOther {
			p = PhaseOther
		}
		out[p]++
	}
	for _, n := range nodes {
		add(phaseOf[n])
	}
	for _, p := range extra {
		add(p)
	}
	return out
}
