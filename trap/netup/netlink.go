package netup

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	"github.com/vishvananda/netlink"
)

// Netlink returns the real Ops: links, addresses and routes through
// rtnetlink, DHCP through nclient4 on a raw socket bound to the link.
// Each DHCP exchange waits at most timeout per packet (default 5s).
func Netlink(timeout time.Duration) Ops {
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	return netlinkOps{timeout: timeout}
}

type netlinkOps struct{ timeout time.Duration }

func (netlinkOps) Links() ([]Link, error) {
	ls, err := netlink.LinkList()
	if err != nil {
		return nil, err
	}
	out := make([]Link, 0, len(ls))
	for _, l := range ls {
		a := l.Attrs()
		out = append(out, Link{
			Name:     a.Name,
			MAC:      a.HardwareAddr,
			Loopback: a.Flags&net.FlagLoopback != 0,
			Up:       a.Flags&net.FlagUp != 0,
			Carrier:  a.OperState == netlink.OperUp || a.RawFlags&syscall.IFF_RUNNING != 0,
		})
	}
	return out, nil
}

func (netlinkOps) SetUp(name string) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return err
	}
	return netlink.LinkSetUp(l)
}

func (o netlinkOps) DHCP(ctx context.Context, name string, mac net.HardwareAddr) (*Lease, error) {
	c, err := nclient4.New(name, nclient4.WithTimeout(o.timeout), nclient4.WithRetry(3))
	if err != nil {
		return nil, fmt.Errorf("dhcp client on %s: %w", name, err)
	}
	defer c.Close()
	l, err := c.Request(ctx)
	if err != nil {
		return nil, err
	}
	return leaseFromACK(l.ACK)
}

// leaseFromACK converts a DHCPACK into a Lease.
func leaseFromACK(ack *dhcpv4.DHCPv4) (*Lease, error) {
	ip, ok := netip.AddrFromSlice(ack.YourIPAddr.To4())
	if !ok || ip.IsUnspecified() {
		return nil, errors.New("ack without yiaddr")
	}
	bits := 24
	if m := ack.SubnetMask(); m != nil {
		bits, _ = m.Size()
	}
	lease := &Lease{Addr: netip.PrefixFrom(ip, bits), Domain: ack.DomainName()}
	if r := ack.Router(); len(r) > 0 {
		lease.Gateway, _ = netip.AddrFromSlice(r[0].To4())
	}
	for _, d := range ack.DNS() {
		if a, ok := netip.AddrFromSlice(d.To4()); ok {
			lease.DNS = append(lease.DNS, a)
		}
	}
	if s := ack.ServerIdentifier(); s != nil {
		lease.Server, _ = netip.AddrFromSlice(s.To4())
	}
	return lease, nil
}

func (netlinkOps) AddAddr(name string, p netip.Prefix) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return err
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}}
	return netlink.AddrReplace(l, addr)
}

func (netlinkOps) AddDefaultRoute(name string, gw netip.Addr) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return err
	}
	return netlink.RouteReplace(&netlink.Route{LinkIndex: l.Attrs().Index, Gw: gw.AsSlice()})
}

func isExist(err error) bool { return errors.Is(err, syscall.EEXIST) }
