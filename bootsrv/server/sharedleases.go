package server

import (
	"net"
	"net/netip"
	"time"

	"github.com/disklesstrap/disklesstrap/bootsrv/dhcpd"
	"github.com/disklesstrap/disklesstrap/bootsrv/state"
)

// sharedLeases is DHCP's lease pool when the state is shared by replicas
// (bootsrv --state-db postgres://...): every allocation is a transaction
// in the shared database (state.Store.AllocLease), so two replicas never
// hand one address to two MACs. SQLite bootsrv keeps dhcpd.MemLeases.
type sharedLeases struct{ st *state.Store }

func (l sharedLeases) Lease(mac net.HardwareAddr, network string, start, end netip.Addr, ttl time.Duration, isReserved func(netip.Addr) bool) (netip.Addr, error) {
	return l.st.AllocLease(mac.String(), network, start, end, ttl, isReserved)
}

func (l sharedLeases) Release(mac net.HardwareAddr) error { return l.st.DeleteLease(mac.String()) }

func (l sharedLeases) Lookup(mac net.HardwareAddr) (dhcpd.Lease, bool) {
	x, ok, err := l.st.LeaseOf(mac.String())
	if err != nil || !ok {
		return dhcpd.Lease{}, false
	}
	return dhcpd.Lease{MAC: mac, Network: x.Network, Addr: x.IP, Expires: x.Expires}, true
}

// dhcpLeases is the lease pool DHCP allocates from.
func (s *Server) dhcpLeases() dhcpd.Leases {
	if s.store.Shared() {
		return sharedLeases{s.store}
	}
	return s.leases
}
