package dhcpd

import (
	"sync/atomic"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// Stats is a snapshot of the server's counters (for Prometheus later).
type Stats struct {
	// Received counts parsed requests by message type name ("DISCOVER",
	// "REQUEST", ...); packets that did not parse are in Malformed.
	Received  map[string]uint64
	Malformed uint64
	Offers    uint64
	Acks      uint64
	Naks      uint64
	Informs   uint64
	Releases  uint64
	Declines  uint64
	Ignored   uint64
	Errors    uint64 // lease store, send and read failures
}

type counters struct {
	received  [256]atomic.Uint64
	malformed atomic.Uint64
	outcome   [OutcomeDecline + 1]atomic.Uint64
	errors    atomic.Uint64
}

func (c *counters) snapshot() Stats {
	s := Stats{Received: make(map[string]uint64)}
	for i := range c.received {
		if v := c.received[i].Load(); v != 0 {
			s.Received[dhcpv4.MessageType(i).String()] = v
		}
	}
	s.Malformed = c.malformed.Load()
	s.Offers = c.outcome[OutcomeOffer].Load()
	s.Acks = c.outcome[OutcomeAck].Load()
	s.Naks = c.outcome[OutcomeNak].Load()
	s.Informs = c.outcome[OutcomeInform].Load()
	s.Releases = c.outcome[OutcomeRelease].Load()
	s.Declines = c.outcome[OutcomeDecline].Load()
	s.Ignored = c.outcome[OutcomeIgnore].Load()
	s.Errors = c.errors.Load()
	return s
}
