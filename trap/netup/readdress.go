package netup

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
)

// AddrDeleter is the one more host operation Readdress needs.
type AddrDeleter interface {
	DelAddr(name string, addr netip.Prefix) error
}

// Readdress moves the boot interface from its lease to the reserved
// address discovery gave the node: the old address goes first (deleting a
// primary address would take a secondary of the same subnet with it), then
// the new one and the default route. ops must also be an AddrDeleter.
func Readdress(ops Ops, link string, old, addr netip.Prefix, gw netip.Addr) error {
	del, ok := ops.(AddrDeleter)
	if !ok {
		return fmt.Errorf("readdress %s: these network operations cannot delete an address", link)
	}
	if old.IsValid() && old != addr {
		if err := del.DelAddr(link, old); err != nil {
			return fmt.Errorf("readdress %s: delete %s: %w", link, old, err)
		}
	}
	if err := ops.AddAddr(link, addr); err != nil && !isExist(err) {
		return fmt.Errorf("readdress %s: add %s: %w", link, addr, err)
	}
	if gw.IsValid() {
		if err := ops.AddDefaultRoute(link, gw); err != nil && !isExist(err) {
			return fmt.Errorf("readdress %s: default route via %s: %w", link, gw, err)
		}
	}
	return nil
}

func (netlinkOps) DelAddr(name string, p netip.Prefix) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return err
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}}
	return netlink.AddrDel(l, addr)
}
