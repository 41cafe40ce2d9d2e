package inventory

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/disklesstrap/disklesstrap/noderange"
)

// The discovery section names nodes that boot unknown (xCAT's sequential
// and serial discovery): each pool is a node range with the layout a
// named node gets, and optionally the DMI serials of the machines that
// take its names.
//
//	discovery:
//	  - nodes: cn[001-512]              # names, in order (trapctl discover assign --next)
//	    network: lab                    # the boot interface's network
//	    ip: "198.18.0.{index+10}"       # its reserved address (a template, as in nodes)
//	    interface: net0                 # its name (default net0)
//	    groups: [compute]               # the new node entry's groups
//	    serials:                        # DMI product serial -> name: named on sight
//	      cn001: "SER-0001"
//
// Assigning a name writes an ordinary node entry (name, groups, one
// interface with the node's MAC and the rendered address) into the file.

// Pool is one entry of the discovery section.
type Pool struct {
	Nodes     string // the range as written
	Names     []string
	Network   string
	Interface string
	Groups    []string
	Serials   map[string]string // name -> DMI serial
	ip        *template
	ipRaw     string
	line      int
	field     string
}

type rawPool struct {
	pool  Pool
	lines map[string]int
}

// discoverySection decodes the discovery section of the top level.
func (d *decoder) discoverySection(m map[string]kv, doc *rawDoc) {
	v, ok := m["discovery"]
	if !ok {
		return
	}
	items, _ := d.seq(v.val, "discovery", true)
	for i, it := range items {
		if p := d.pool(it, fmt.Sprintf("discovery[%d]", i)); p != nil {
			doc.pools = append(doc.pools, p)
		}
	}
}

func (d *decoder) pool(n *yaml.Node, path string) *rawPool {
	m, _, ok := d.mapping(n, path, knownKeys("nodes", "network", "ip", "interface", "groups", "serials"))
	if !ok || !d.required(m, n, path, "nodes", "network", "ip") {
		return nil
	}
	p := &rawPool{pool: Pool{Interface: "net0", field: path, line: m["nodes"].key.Line}, lines: map[string]int{}}
	for k, v := range m {
		p.lines[k] = v.key.Line
	}
	var good bool
	if p.pool.Nodes, good = d.str(m["nodes"].val, join(path, "nodes")); good {
		names, err := noderange.ParseMax(p.pool.Nodes, MaxNodes)
		if err != nil {
			d.errs.add(p.lines["nodes"], join(path, "nodes"), "%v", strings.TrimPrefix(err.Error(), "noderange: "))
			good = false
		}
		p.pool.Names = names
	}
	ok = ok && good
	p.pool.Network, good = d.name(m["network"].val, join(path, "network"), "network")
	ok = ok && good
	if p.pool.ipRaw, good = d.str(m["ip"].val, join(path, "ip")); good {
		t, err := compileTemplate(p.pool.ipRaw)
		if err != nil {
			d.errs.add(p.lines["ip"], join(path, "ip"), "%v", err)
			good = false
		}
		p.pool.ip = t
	}
	ok = ok && good
	if v, has := m["interface"]; has {
		s, good := d.str(v.val, join(path, "interface"))
		if good && (s == "" || len(s) > 15 || strings.ContainsAny(s, " /\t")) {
			d.errs.add(v.key.Line, join(path, "interface"), "invalid interface name %q", s)
			good = false
		}
		p.pool.Interface, ok = s, ok && good
	}
	if v, has := m["groups"]; has {
		p.pool.Groups, _, good = d.strList(v.val, join(path, "groups"))
		ok = ok && good
	}
	if v, has := m["serials"]; has {
		p.pool.Serials, good = d.serials(v.val, join(path, "serials"))
		ok = ok && good
	}
	if !ok {
		return nil
	}
	return p
}

// serials decodes a name -> serial mapping.
func (d *decoder) serials(n *yaml.Node, path string) (map[string]string, bool) {
	m, order, ok := d.mapping(n, path, func(string) bool { return true })
	if !ok {
		return nil, false
	}
	out := map[string]string{}
	for _, k := range order {
		s, good := d.str(m[k].val, join(path, k))
		s = strings.TrimSpace(s)
		switch {
		case !good:
			ok = false
		case s == "" || len(s) > 128 || checkLine(s) != nil:
			d.errs.add(m[k].key.Line, join(path, k), "serial %q: want 1-128 printable characters", s)
			ok = false
		default:
			out[k] = s
		}
	}
	return out, ok
}

// discovery checks the pools against the networks, groups and each other,
// and renders every name's address once (so a bad template fails at load).
func (r *resolver) discovery(c *Cluster) {
	owner := map[string]string{}  // name -> pool field
	serial := map[string]string{} // serial -> name
	for _, rp := range r.doc.pools {
		p := rp.pool
		nw, known := r.nets[p.Network]
		if !known {
			r.errs.add(rp.lines["network"], p.field+".network", "unknown network %q", p.Network)
			continue
		}
		bad := false
		for i, g := range p.Groups {
			if _, known := r.groups[g]; !known {
				r.errs.add(rp.lines["groups"], fmt.Sprintf("%s.groups[%d]", p.field, i), "unknown group %q", g)
				bad = true
			}
		}
		for _, name := range p.Names {
			if prev, dup := owner[name]; dup {
				r.errs.add(rp.lines["nodes"], p.field+".nodes", "node %s is also in %s", name, prev)
				bad = true
				break
			}
			owner[name] = p.field
			if _, err := p.addr(nw, name); err != nil {
				r.errs.add(rp.lines["ip"], p.field+".ip", "%v", err)
				bad = true
				break
			}
		}
		for _, name := range sortedKeys(p.Serials) {
			s := p.Serials[name]
			if !slices.Contains(p.Names, name) {
				r.errs.add(rp.lines["serials"], p.field+".serials."+name, "node %s is not in this pool's nodes %s", name, p.Nodes)
				bad = true
			}
			if prev, dup := serial[s]; dup {
				r.errs.add(rp.lines["serials"], p.field+".serials."+name, "serial %q is also node %s's", s, prev)
				bad = true
			}
			serial[s] = name
		}
		if !bad {
			pp := p
			c.pools = append(c.pools, &pp)
		}
	}
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b string) int {
		switch {
		case noderange.Less(a, b):
			return -1
		case noderange.Less(b, a):
			return 1
		}
		return 0
	})
	return out
}

// addr renders name's address and checks it lies in nw, outside its
// dynamic pool and off its server and gateway.
func (p *Pool) addr(nw *Network, name string) (netip.Addr, error) {
	idx, hasIdx := noderange.Index(name)
	s, err := p.ip.render(name, idx, hasIdx)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("node %s: %v", name, err)
	}
	ip, err := netip.ParseAddr(s)
	switch {
	case err != nil || !ip.Is4():
		return netip.Addr{}, fmt.Errorf("node %s: invalid IPv4 address %q", name, s)
	case !nw.Subnet.Contains(ip):
		return netip.Addr{}, fmt.Errorf("node %s: ip %s is outside network %s (%s)", name, ip, nw.Name, nw.Subnet)
	case nw.Subnet.Bits() < 31 && (ip == nw.Subnet.Addr() || ip == broadcast(nw.Subnet)):
		return netip.Addr{}, fmt.Errorf("node %s: ip %s is the network or broadcast address of %s", name, ip, nw.Subnet)
	case ip == nw.Server || ip == nw.Gateway:
		return netip.Addr{}, fmt.Errorf("node %s: ip %s is network %s's server or gateway", name, ip, nw.Name)
	case nw.InDynamic(ip):
		return netip.Addr{}, fmt.Errorf("node %s: ip %s is inside network %s's dynamic pool", name, ip, nw.Name)
	}
	return ip, nil
}

// Pools returns the discovery section's pools in file order.
func (c *Cluster) Pools() []*Pool { return c.pools }

// PoolOf returns the pool that holds name.
func (c *Cluster) PoolOf(name string) (*Pool, bool) {
	for _, p := range c.pools {
		if slices.Contains(p.Names, name) {
			return p, true
		}
	}
	return nil, false
}

// BySerial returns the pool name whose serial is serial.
func (c *Cluster) BySerial(serial string) (string, bool) {
	serial = strings.TrimSpace(serial)
	if serial == "" {
		return "", false
	}
	for _, p := range c.pools {
		for name, s := range p.Serials {
			if s == serial {
				return name, true
			}
		}
	}
	return "", false
}

// NextFree returns the first name of rangeExpr (in its order) that is in
// a discovery pool and not yet in the inventory. skip names are taken too
// (assignments in flight).
func (c *Cluster) NextFree(rangeExpr string) (string, error) {
	names, err := noderange.ParseMax(rangeExpr, MaxNodes)
	if err != nil {
		return "", err
	}
	inPool := 0
	for _, name := range names {
		if _, ok := c.PoolOf(name); !ok {
			continue
		}
		inPool++
		if _, taken := c.byName[name]; !taken {
			return name, nil
		}
	}
	if inPool == 0 {
		return "", fmt.Errorf("no name of %s is in a discovery pool of the inventory (section discovery)", rangeExpr)
	}
	return "", fmt.Errorf("every name of %s in a discovery pool is taken (%d names)", rangeExpr, inPool)
}

// NodeFields is the node entry (AddNode fields) that naming mac name
// writes: the pool's groups and one interface with the mac and the
// rendered address.
func (c *Cluster) NodeFields(name, mac string) (map[string]any, netip.Addr, error) {
	p, ok := c.PoolOf(name)
	if !ok {
		return nil, netip.Addr{}, fmt.Errorf("node %s is in no discovery pool of the inventory (section discovery)", name)
	}
	var nw *Network
	for _, n := range c.networks {
		if n.Name == p.Network {
			nw = n
		}
	}
	if nw == nil {
		return nil, netip.Addr{}, fmt.Errorf("discovery pool %s: unknown network %q", p.Nodes, p.Network)
	}
	ip, err := p.addr(nw, name)
	if err != nil {
		return nil, netip.Addr{}, err
	}
	f := map[string]any{
		"interfaces": []map[string]any{{"name": p.Interface, "network": p.Network, "mac": mac, "ip": ip.String()}},
	}
	if len(p.Groups) > 0 {
		f["groups"] = p.Groups
	}
	return f, ip, nil
}
