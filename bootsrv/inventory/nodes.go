package inventory

import (
	"encoding/hex"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"strings"

	"github.com/disklesstrap/disklesstrap/noderange"
)

// nodes expands every entry into nodes, renders their interfaces and
// checks names, MACs and IPs for duplicates across the whole file.
func (r *resolver) nodes(c *Cluster) {
	names := map[string]int{}   // node -> line of its entry
	macs := map[[6]byte]ref{}   // MAC -> first owner
	ips := map[netip.Addr]ref{} // IP -> first owner
	for _, e := range r.doc.entries {
		list, err := noderange.Parse(e.expr)
		if err != nil {
			r.errs.add(e.line, e.path+".name", "%v", strings.TrimPrefix(err.Error(), "noderange: "))
			continue
		}
		if len(c.nodes)+len(list) > MaxNodes {
			r.errs.add(e.line, e.path+".name", "inventory exceeds %d nodes", MaxNodes)
			return
		}
		ok := true
		for i, g := range e.groups {
			if _, known := r.groups[g]; !known {
				r.errs.add(e.groupLines[i], fmt.Sprintf("%s.groups[%d]", e.path, i), "unknown group %q", g)
				ok = false
			}
		}
		if !r.checkIfaces(e, len(list)) || !ok {
			continue
		}
		attrs, blame := r.resolveAttrs(e)
		for _, name := range list {
			if prev, dup := names[name]; dup {
				r.errs.add(e.line, e.path+".name", "duplicate node %s (also defined at line %d)", name, prev)
				continue
			}
			names[name] = e.line
			n := &Node{Name: name, Index: -1, Groups: e.groups, Attrs: attrs, Blame: maps.Clone(blame)}
			idx, hasIdx := noderange.Index(name)
			if hasIdx {
				n.Index = idx
			}
			n.Interfaces = make([]Interface, 0, len(e.ifaces))
			for _, ri := range e.ifaces {
				ifc, good := r.iface(ri, e, name, idx, hasIdx, macs, ips)
				if good {
					n.Interfaces = append(n.Interfaces, ifc)
				}
			}
			c.nodes = append(c.nodes, n)
			c.byName[name] = n
			for i := range n.Interfaces {
				c.byMAC[string(n.Interfaces[i].MAC)] = macRef{node: n, iface: i}
			}
		}
	}
}

// checkIfaces checks what holds for every node of an entry.
func (r *resolver) checkIfaces(e *rawEntry, count int) bool {
	ok := true
	boot := 0
	for _, ri := range e.ifaces {
		if ri.network != "" {
			if _, known := r.nets[ri.network]; !known {
				r.errs.add(ri.lines["network"], ri.path+".network", "unknown network %q", ri.network)
				ok = false
			}
		}
		if count > 1 && !ri.mac.dynamic {
			r.errs.add(ri.lines["mac"], ri.path+".mac", "the same MAC %q for all %d nodes of %s; use a template such as {index:02x}", ri.macRaw, count, e.expr)
			ok = false
		}
		if count > 1 && ri.ip != nil && !ri.ip.dynamic {
			r.errs.add(ri.lines["ip"], ri.path+".ip", "the same IP %q for all %d nodes of %s; use a template such as {index+10}", ri.ipRaw, count, e.expr)
			ok = false
		}
		if ri.boot {
			boot++
			if boot > 1 {
				r.errs.add(ri.lines["boot"], ri.path+".boot", "more than one interface has boot: true")
				ok = false
			}
		}
	}
	return ok
}

// iface renders one interface of one node and checks it against the
// networks and the MACs and IPs seen so far.
func (r *resolver) iface(ri *rawIface, e *rawEntry, name string, idx int, hasIdx bool, macs map[[6]byte]ref, ips map[netip.Addr]ref) (Interface, bool) {
	out := Interface{Name: ri.name, Network: ri.network, Boot: ri.boot}
	// Messages name the node when the entry is a range.
	node := ""
	if e.expr != name {
		node = "node " + name + ": "
	}
	ml := ri.lines["mac"]
	macStr, err := ri.mac.render(name, idx, hasIdx)
	if err != nil {
		r.errs.add(ml, ri.path+".mac", "%s%v", node, err)
		return out, false
	}
	hw, err := parseMAC(macStr)
	if err != nil {
		r.errs.add(ml, ri.path+".mac", "%sinvalid MAC %q", node, macStr)
		return out, false
	}
	out.MAC = hw
	key := [6]byte(hw)
	if prev, dup := macs[key]; dup {
		r.errs.add(ml, ri.path+".mac", "%sduplicate MAC %s (also node %s at line %d)", node, hw, prev.node, prev.line)
		return out, false
	}
	macs[key] = ref{name, ml}
	if ri.ip == nil {
		return out, true
	}
	il := ri.lines["ip"]
	ipStr, err := ri.ip.render(name, idx, hasIdx)
	if err != nil {
		r.errs.add(il, ri.path+".ip", "%s%v", node, err)
		return out, false
	}
	ip, err := netip.ParseAddr(ipStr)
	if err != nil || !ip.Is4() {
		r.errs.add(il, ri.path+".ip", "%sinvalid IPv4 address %q", node, ipStr)
		return out, false
	}
	var nw *Network
	if ri.network != "" {
		nw = r.nets[ri.network]
		if !nw.Subnet.Contains(ip) {
			r.errs.add(il, ri.path+".ip", "%sip %s is outside network %s (%s)", node, ip, nw.Name, nw.Subnet)
			return out, false
		}
	} else {
		for _, n := range r.nets {
			if n.Subnet.Contains(ip) {
				nw = n
			}
		}
		if nw == nil {
			r.errs.add(il, ri.path+".ip", "%sip %s is in no network of the inventory", node, ip)
			return out, false
		}
		out.Network = nw.Name
	}
	switch {
	case nw.Subnet.Bits() < 31 && (ip == nw.Subnet.Addr() || ip == broadcast(nw.Subnet)):
		r.errs.add(il, ri.path+".ip", "%sip %s is the network or broadcast address of %s", node, ip, nw.Subnet)
		return out, false
	case ip == nw.Server || ip == nw.Gateway:
		r.errs.add(il, ri.path+".ip", "%sip %s is network %s's server or gateway", node, ip, nw.Name)
		return out, false
	case nw.InDynamic(ip):
		r.errs.add(il, ri.path+".ip", "%sip %s is inside network %s's dynamic pool %s-%s", node, ip, nw.Name, nw.DynamicStart, nw.DynamicEnd)
		return out, false
	}
	if prev, dup := ips[ip]; dup {
		r.errs.add(il, ri.path+".ip", "%sduplicate IP %s (also node %s at line %d)", node, ip, prev.node, prev.line)
		return out, false
	}
	ips[ip] = ref{name, il}
	out.IP = ip
	return out, true
}

// parseMAC parses a 6-byte MAC in any form net.ParseMAC knows, or as 12 bare
// hex digits ("525400000a01", handy with {index:06x} templates).
func parseMAC(s string) (net.HardwareAddr, error) {
	if len(s) == 12 {
		if b, err := hex.DecodeString(s); err == nil {
			return net.HardwareAddr(b), nil
		}
	}
	hw, err := net.ParseMAC(s)
	if err != nil {
		return nil, err
	}
	if len(hw) != 6 {
		return nil, fmt.Errorf("want a 6-byte MAC, got %d bytes", len(hw))
	}
	return hw, nil
}
