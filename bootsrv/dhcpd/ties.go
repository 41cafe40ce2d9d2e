package dhcpd

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
)

// Ties: which of the server's interfaces belong to which network. A direct
// (unrelayed) request is answered only when it arrives on an interface tied
// to a network; everything else (an uplink, a management LAN) gets silence.
//
// An interface is tied to the network whose Interface names it; failing
// that, to the most specific network without an Interface whose subnet
// holds one of the interface's IPv4 addresses. Nothing else: there is no
// "lone network" fallback.

// tieNetwork returns the name of the network tied to the interface called
// link with addresses addrs, or "".
func tieNetwork(nets []Network, link string, addrs []netip.Addr) string {
	for i := range nets {
		if nets[i].Interface != "" && nets[i].Interface == link {
			return nets[i].Name
		}
	}
	var best *Network
	for i := range nets {
		n := &nets[i]
		if n.Interface != "" {
			continue
		}
		for _, a := range addrs {
			if n.Subnet.Contains(a) && (best == nil || n.Subnet.Bits() > best.Subnet.Bits()) {
				best = n
			}
		}
	}
	if best == nil {
		return ""
	}
	return best.Name
}

// ifInfo is one interface as the kernel reports it.
type ifInfo struct {
	index int
	name  string
	addrs []netip.Addr
}

// interfaces lists the namespace's interfaces with their IPv4 addresses.
func (s *Server) interfaces() ([]ifInfo, error) {
	links, err := s.nl.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list interfaces: %w", err)
	}
	addrs, err := s.nl.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("list interface addresses: %w", err)
	}
	out := make([]ifInfo, 0, len(links))
	for _, l := range links {
		a := l.Attrs()
		info := ifInfo{index: a.Index, name: a.Name}
		for _, ad := range addrs {
			if ad.LinkIndex != a.Index || ad.IPNet == nil {
				continue
			}
			if ip, ok := netip.AddrFromSlice(ad.IPNet.IP.To4()); ok {
				info.addrs = append(info.addrs, ip)
			}
		}
		out = append(out, info)
	}
	return out, nil
}

// checkTies refuses a server that could answer direct requests nowhere:
// no interface it listens on is tied to any network. A network whose
// Interface does not exist is logged.
func (s *Server) checkTies() error {
	ifs, err := s.interfaces()
	if err != nil {
		return fmt.Errorf("dhcp: %w", err)
	}
	tied := make(map[string][]string) // network -> interfaces
	exists := make(map[string]bool)
	for _, i := range ifs {
		exists[i.name] = true
		if s.cfg.Interface != "" && i.name != s.cfg.Interface {
			continue // SO_BINDTODEVICE: nothing arrives there
		}
		if n := tieNetwork(s.env.Networks, i.name, i.addrs); n != "" {
			tied[n] = append(tied[n], i.name)
		}
	}
	var names []string
	for _, n := range s.env.Networks {
		names = append(names, fmt.Sprintf("%s (%s, interface %q)", n.Name, n.Subnet, n.Interface))
		switch {
		case n.Interface != "" && !exists[n.Interface]:
			s.log.Warn("dhcp: network's interface does not exist; its direct clients get no answer", "network", n.Name, "interface", n.Interface)
		case len(tied[n.Name]) > 0:
			s.log.Info("dhcp: network tied to interface", "network", n.Name, "interfaces", strings.Join(tied[n.Name], ","))
		}
	}
	if len(tied) == 0 {
		where := "any interface"
		if s.cfg.Interface != "" {
			where = "interface " + s.cfg.Interface
		}
		return fmt.Errorf("no network is tied to %s, so DHCP would answer nobody: set `interface:` on a network in the inventory "+
			"or give the interface an address inside a network's subnet (networks: %s); --dhcp off turns DHCP off",
			where, strings.Join(names, "; "))
	}
	return nil
}

// arrived names the network tied to interface ifIndex; "" when none is
// (or the index is unknown). Answers are cached for ifCacheTTL.
func (s *Server) arrived(ifIndex int) string {
	if ifIndex == 0 {
		return ""
	}
	now := time.Now()
	s.ifMu.RLock()
	e, ok := s.ifNet[ifIndex]
	s.ifMu.RUnlock()
	if ok && now.Sub(e.at) < ifCacheTTL {
		return e.network
	}
	name := s.lookupNetwork(ifIndex)
	s.ifMu.Lock()
	if len(s.ifNet) > 4096 { // interfaces come and go (taps): stay bounded
		clear(s.ifNet)
	}
	s.ifNet[ifIndex] = ifEntry{network: name, at: now}
	s.ifMu.Unlock()
	return name
}

// lookupNetwork asks the kernel for interface ifIndex's name and addresses
// and returns the network tied to it.
func (s *Server) lookupNetwork(ifIndex int) string {
	if s.nl == nil {
		return ""
	}
	l, err := s.nl.LinkByIndex(ifIndex)
	if err != nil {
		s.log.Warn("dhcp arrival interface", "ifindex", ifIndex, "err", err)
		return ""
	}
	addrs, err := s.nl.AddrList(l, netlink.FAMILY_V4)
	if err != nil {
		s.log.Warn("dhcp interface addresses", "ifindex", ifIndex, "err", err)
		return ""
	}
	var ips []netip.Addr
	for _, a := range addrs {
		if a.IPNet == nil {
			continue
		}
		if ip, ok := netip.AddrFromSlice(a.IPNet.IP.To4()); ok {
			ips = append(ips, ip)
		}
	}
	name := tieNetwork(s.env.Networks, l.Attrs().Name, ips)
	if name == "" {
		s.log.Debug("dhcp: request on an interface tied to no network ignored", "interface", l.Attrs().Name)
	}
	return name
}
