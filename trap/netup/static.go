package netup

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// Static is one extra interface with a reserved address: the manifest's
// Interfaces (e.g. the second iSCSI path's NIC on its own network).
type Static struct {
	Name    string // the inventory's name ("net1"), for messages
	MAC     net.HardwareAddr
	Address netip.Prefix
}

// ParseStatic checks one manifest interface ("MAC", "ADDR/BITS").
func ParseStatic(name, mac, addr string) (Static, error) {
	hw, err := net.ParseMAC(mac)
	if err != nil {
		return Static{}, fmt.Errorf("interface %s: mac %q: %w", name, mac, err)
	}
	p, err := netip.ParsePrefix(addr)
	if err != nil {
		return Static{}, fmt.Errorf("interface %s: address %q: want ADDR/BITS (is the address inside an inventory network?)", name, addr)
	}
	return Static{Name: name, MAC: hw, Address: p}, nil
}

// UpStatic sets every interface up with its address: the link is found by
// MAC, raised, and given the address (an address already there is fine, so
// re-running is safe). No DHCP, no routes beyond the subnet's. It works on
// all of them and returns the errors of the ones that failed, each naming
// the interface and its MAC.
func UpStatic(ops Ops, ifcs []Static) error {
	if len(ifcs) == 0 {
		return nil
	}
	links, err := ops.Links()
	if err != nil {
		return fmt.Errorf("list links: %w", err)
	}
	var errs []error
	for _, s := range ifcs {
		var link *Link
		for i := range links {
			if !links[i].Loopback && bytes.Equal(links[i].MAC, s.MAC) {
				link = &links[i]
				break
			}
		}
		if link == nil {
			errs = append(errs, fmt.Errorf("interface %s: no link with MAC %s (links: %s)", s.Name, s.MAC, names(links)))
			continue
		}
		if !link.Up {
			if err := ops.SetUp(link.Name); err != nil {
				errs = append(errs, fmt.Errorf("interface %s: set link %s up: %w", s.Name, link.Name, err))
				continue
			}
		}
		if err := ops.AddAddr(link.Name, s.Address); err != nil && !isExist(err) {
			errs = append(errs, fmt.Errorf("interface %s: add address %s to %s: %w", s.Name, s.Address, link.Name, err))
		}
	}
	return errors.Join(errs...)
}

// String is "net1 52:54:00:19:00:21 198.19.0.21/24".
func (s Static) String() string {
	return strings.TrimSpace(fmt.Sprintf("%s %s %s", s.Name, s.MAC, s.Address))
}
