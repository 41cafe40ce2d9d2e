package dhcpd

import (
	"net/netip"
	"time"
)

// Outcome is what the server does with a request.
type Outcome int

// The outcomes of Decide.
const (
	OutcomeIgnore  Outcome = iota // no reply
	OutcomeOffer                  // DHCPOFFER
	OutcomeAck                    // DHCPACK to a REQUEST
	OutcomeNak                    // DHCPNAK
	OutcomeInform                 // DHCPACK to an INFORM (no address, no lease)
	OutcomeRelease                // RELEASE handled, no reply
	OutcomeDecline                // DECLINE handled, no reply
)

func (o Outcome) String() string {
	switch o {
	case OutcomeOffer:
		return "offer"
	case OutcomeAck:
		return "ack"
	case OutcomeNak:
		return "nak"
	case OutcomeInform:
		return "inform"
	case OutcomeRelease:
		return "release"
	case OutcomeDecline:
		return "decline"
	}
	return "ignore"
}

// Decision is the result of Decide, for the reply and the logs.
type Decision struct {
	Outcome  Outcome
	Request  Request
	Network  *Network      // nil when no network matched
	Addr     netip.Addr    // the client's address (yiaddr), when there is one
	Static   bool          // Addr comes from a reservation
	Lease    time.Duration // lease time sent (0 for INFORM and NAK)
	Filename string        // boot file or boot script URL, "" for none
	Reason   string        // why ignored or refused
}
