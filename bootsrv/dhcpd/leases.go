package dhcpd

import (
	"errors"
	"net"
	"net/netip"
	"time"
)

// ErrPoolExhausted is returned by Leases.Lease when no address is free.
var ErrPoolExhausted = errors.New("dynamic pool exhausted")

// Leases hands out dynamic addresses to MACs without a reservation.
//
// Lease returns the address leased to mac in network within start..end
// (inclusive), allocating one if mac has none there, and extends the lease to
// at least now+ttl. isReserved (may be nil) tells addresses that belong to a
// static reservation: they are never handed out. Release forgets mac's lease.
// Implementations must be safe for concurrent use.
type Leases interface {
	Lease(mac net.HardwareAddr, network string, start, end netip.Addr, ttl time.Duration, isReserved func(netip.Addr) bool) (netip.Addr, error)
	Release(mac net.HardwareAddr) error
}

// LeaseLookup is optionally implemented by a Leases: Lookup returns mac's
// current lease without changing anything. Decide uses it to check that a
// RELEASE names the client's own address.
type LeaseLookup interface {
	Lookup(mac net.HardwareAddr) (Lease, bool)
}

// Decliner is optionally implemented by a Leases: Decline drops mac's lease
// on addr and keeps addr out of the pool for a while, because the client
// found it in use (DHCPDECLINE).
type Decliner interface {
	Decline(mac net.HardwareAddr, addr netip.Addr) error
}

// Lease is one dynamic lease, as persisted and restored.
type Lease struct {
	MAC     net.HardwareAddr
	Network string
	Addr    netip.Addr
	Expires time.Time
}

// Expired reports whether the lease ran out at now.
func (l Lease) Expired(now time.Time) bool { return !l.Expires.After(now) }

// u32 converts an IPv4 address to a number.
func u32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// fromU32 converts a number to an IPv4 address.
func fromU32(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// inRange reports whether a is in start..end (inclusive).
func inRange(a, start, end netip.Addr) bool {
	return a.IsValid() && !a.Less(start) && !end.Less(a)
}
