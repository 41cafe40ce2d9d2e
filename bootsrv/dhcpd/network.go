package dhcpd

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// DefaultLease is the lease time of a network that does not set one.
const DefaultLease = 12 * time.Hour

// Network is one IPv4 subnet the server hands out addresses in.
type Network struct {
	Name string
	// Interface is the server's interface this network's clients broadcast
	// on (inventory `interface:`). Empty: the interface holding an address
	// inside Subnet (see ties.go).
	Interface string
	Subnet    netip.Prefix
	// Server is the boot server's address as clients of this network reach
	// it: next-server (siaddr) and the server identifier (option 54).
	Server netip.Addr
	// Gateway is sent as the router (option 3) when valid.
	Gateway netip.Addr
	// DynamicStart..DynamicEnd (inclusive) is the pool for MACs without a
	// reservation. Both invalid: no dynamic pool, unknown MACs are ignored.
	DynamicStart, DynamicEnd netip.Addr
	// Lease is the lease time; zero means DefaultLease.
	Lease time.Duration
}

// HasPool reports whether the network hands out dynamic addresses.
func (n *Network) HasPool() bool {
	return n.DynamicStart.IsValid() && n.DynamicEnd.IsValid()
}

// LeaseTime returns the network's lease time, DefaultLease when unset.
func (n *Network) LeaseTime() time.Duration {
	if n.Lease <= 0 {
		return DefaultLease
	}
	return n.Lease
}

// Validate checks one network's fields.
func (n *Network) Validate() error {
	if n.Name == "" {
		return errors.New("network: field name is empty")
	}
	if !n.Subnet.IsValid() || !n.Subnet.Addr().Is4() {
		return fmt.Errorf("network %s: field subnet %q is not an IPv4 prefix", n.Name, n.Subnet)
	}
	if !n.Server.IsValid() || !n.Server.Is4() {
		return fmt.Errorf("network %s: field server %q is not an IPv4 address", n.Name, n.Server)
	}
	if n.Gateway.IsValid() && !n.Subnet.Contains(n.Gateway) {
		return fmt.Errorf("network %s: field gateway %s is outside subnet %s", n.Name, n.Gateway, n.Subnet)
	}
	if n.DynamicStart.IsValid() != n.DynamicEnd.IsValid() {
		return fmt.Errorf("network %s: fields dynamic start and end must be set together", n.Name)
	}
	if n.HasPool() {
		if !n.Subnet.Contains(n.DynamicStart) || !n.Subnet.Contains(n.DynamicEnd) {
			return fmt.Errorf("network %s: dynamic range %s-%s is outside subnet %s", n.Name, n.DynamicStart, n.DynamicEnd, n.Subnet)
		}
		if n.DynamicEnd.Less(n.DynamicStart) {
			return fmt.Errorf("network %s: dynamic range %s-%s ends before it starts", n.Name, n.DynamicStart, n.DynamicEnd)
		}
	}
	if n.Lease < 0 {
		return fmt.Errorf("network %s: field lease %s is negative", n.Name, n.Lease)
	}
	return nil
}

// ValidateNetworks checks every network and that names are unique.
func ValidateNetworks(nets []Network) error {
	seen := make(map[string]bool, len(nets))
	for i := range nets {
		if err := nets[i].Validate(); err != nil {
			return err
		}
		if seen[nets[i].Name] {
			return fmt.Errorf("network %s: name used twice", nets[i].Name)
		}
		seen[nets[i].Name] = true
	}
	return nil
}

// containing returns the network whose subnet contains a, or nil. The most
// specific (longest) prefix wins when subnets overlap.
func containing(nets []Network, a netip.Addr) *Network {
	var best *Network
	for i := range nets {
		if nets[i].Subnet.Contains(a) && (best == nil || nets[i].Subnet.Bits() > best.Subnet.Bits()) {
			best = &nets[i]
		}
	}
	return best
}

// named returns the network called name, or nil.
func named(nets []Network, name string) *Network {
	for i := range nets {
		if nets[i].Name == name {
			return &nets[i]
		}
	}
	return nil
}
