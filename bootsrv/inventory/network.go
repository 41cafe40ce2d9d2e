package inventory

import (
	"net/netip"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

func (d *decoder) network(n *yaml.Node, path string) *rawNetwork {
	m, _, ok := d.mapping(n, path, knownKeys("name", "interface", "subnet", "server", "gateway", "dynamic", "lease"))
	if !ok || !d.required(m, n, path, "name", "subnet", "server") {
		return nil
	}
	r := &rawNetwork{path: path, line: line(deref(n)), lines: map[string]int{}}
	for k, v := range m {
		r.lines[k] = v.key.Line
	}
	nw := &r.net
	nw.Name, ok = d.name(m["name"].val, join(path, "name"), "network")
	if v, has := m["interface"]; has {
		s, good := d.str(v.val, join(path, "interface"))
		if good && (len(s) > 15 || strings.ContainsAny(s, " /\t") || s == "") {
			d.errs.add(v.key.Line, join(path, "interface"), "invalid interface name %q", s)
			good = false
		}
		nw.Interface, ok = s, ok && good
	}
	addr := func(key string) (netip.Addr, bool) {
		s, good := d.str(m[key].val, join(path, key))
		if !good {
			return netip.Addr{}, false
		}
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is4() {
			d.errs.add(m[key].key.Line, join(path, key), "invalid IPv4 address %q", s)
			return netip.Addr{}, false
		}
		return a, true
	}
	if s, good := d.str(m["subnet"].val, join(path, "subnet")); good {
		p, err := netip.ParsePrefix(s)
		switch {
		case err != nil || !p.Addr().Is4():
			d.errs.add(m["subnet"].key.Line, join(path, "subnet"), "invalid IPv4 subnet %q (want CIDR like 198.18.0.0/24)", s)
			ok = false
		case p != p.Masked():
			d.errs.add(m["subnet"].key.Line, join(path, "subnet"), "subnet %s has host bits set (did you mean %s?)", s, p.Masked())
			ok = false
		default:
			nw.Subnet = p
		}
	} else {
		ok = false
	}
	var good bool
	if nw.Server, good = addr("server"); !good {
		ok = false
	}
	if _, has := m["gateway"]; has {
		if nw.Gateway, good = addr("gateway"); !good {
			ok = false
		} else if nw.Subnet.IsValid() && !nw.Subnet.Contains(nw.Gateway) {
			d.errs.add(m["gateway"].key.Line, join(path, "gateway"), "gateway %s is outside subnet %s", nw.Gateway, nw.Subnet)
			ok = false
		}
	}
	if v, has := m["dynamic"]; has {
		if !d.dynamic(nw, v, join(path, "dynamic")) {
			ok = false
		}
	}
	nw.Lease = DefaultLease
	if v, has := m["lease"]; has {
		s, good := d.str(v.val, join(path, "lease"))
		if good {
			lease, err := time.ParseDuration(s)
			if err != nil || lease <= 0 {
				d.errs.add(v.key.Line, join(path, "lease"), "invalid lease %q (want a positive Go duration like 12h)", s)
				good = false
			}
			nw.Lease = lease
		}
		ok = ok && good
	}
	if !ok {
		return nil
	}
	return r
}

// dynamic parses "A-B" inside the subnet.
func (d *decoder) dynamic(nw *Network, v kv, path string) bool {
	s, ok := d.str(v.val, path)
	if !ok {
		return false
	}
	a, b, found := strings.Cut(s, "-")
	start, err1 := netip.ParseAddr(strings.TrimSpace(a))
	end, err2 := netip.ParseAddr(strings.TrimSpace(b))
	switch {
	case !found || err1 != nil || err2 != nil || !start.Is4() || !end.Is4():
		d.errs.add(v.key.Line, path, "invalid pool %q (want FIRST-LAST, e.g. 198.18.0.200-198.18.0.250)", s)
		return false
	case end.Less(start):
		d.errs.add(v.key.Line, path, "reversed pool %q", s)
		return false
	case nw.Subnet.IsValid() && (!nw.Subnet.Contains(start) || !nw.Subnet.Contains(end)):
		d.errs.add(v.key.Line, path, "pool %s is not inside subnet %s", s, nw.Subnet)
		return false
	case nw.Subnet.IsValid() && nw.Subnet.Bits() < 31 && (start == nw.Subnet.Addr() || end == broadcast(nw.Subnet)):
		d.errs.add(v.key.Line, path, "pool %s includes the network or broadcast address of %s", s, nw.Subnet)
		return false
	}
	nw.DynamicStart, nw.DynamicEnd = start, end
	for _, r := range []struct {
		what string
		a    netip.Addr
	}{{"server", nw.Server}, {"gateway", nw.Gateway}} {
		if nw.InDynamic(r.a) {
			d.errs.add(v.key.Line, path, "pool %s contains the %s address %s", s, r.what, r.a)
			return false
		}
	}
	return true
}

// broadcast returns the last address of an IPv4 prefix.
func broadcast(p netip.Prefix) netip.Addr {
	a := p.Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
