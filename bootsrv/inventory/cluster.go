package inventory

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"reflect"
	"time"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/noderange"
)

// MaxNodes caps the nodes of one inventory.
const MaxNodes = 200_000

// Network is one boot network.
type Network struct {
	Name      string
	Interface string // bootsrv's interface for this network; may be empty
	Subnet    netip.Prefix
	Server    netip.Addr // TFTP next-server and HTTP address
	Gateway   netip.Addr // zero when not set
	// DynamicStart..DynamicEnd is the pool for unknown MACs; zero when not set.
	DynamicStart, DynamicEnd netip.Addr
	Lease                    time.Duration
}

// InDynamic reports whether ip is inside the network's dynamic pool.
func (n *Network) InDynamic(ip netip.Addr) bool {
	return ip.IsValid() && n.DynamicStart.IsValid() && !ip.Less(n.DynamicStart) && !n.DynamicEnd.Less(ip)
}

// Interface is one resolved network interface of a node.
type Interface struct {
	Name    string
	Network string           // network name; empty when the interface has no IP and no network
	MAC     net.HardwareAddr // 6 bytes
	IP      netip.Addr       // zero when not set
	Boot    bool             // flagged boot: true in the inventory
}

// Group is one group as written (its own attributes, not resolved).
type Group struct {
	Name    string
	Inherit []string
	Attrs   Attrs
}

// Node is one resolved node. Treat it as read-only.
type Node struct {
	Name       string
	Index      int // trailing number of the name (cn007 -> 7); -1 if none
	Groups     []string
	Interfaces []Interface
	Attrs      Attrs
	Blame      map[string]api.Source // attribute key -> where its value came from
	// Lite is the node's resolved statelite rules (statelite.go); nil
	// when no litefile or litetree rule applies to the node.
	Lite *NodeLite
}

// BootInterface returns the interface flagged boot: true, else the first
// one; nil when the node has no interfaces.
func (n *Node) BootInterface() *Interface {
	for i := range n.Interfaces {
		if n.Interfaces[i].Boot {
			return &n.Interfaces[i]
		}
	}
	if len(n.Interfaces) > 0 {
		return &n.Interfaces[0]
	}
	return nil
}

// API converts the node to its admin API form.
func (n *Node) API(withBlame bool) api.Node {
	out := api.Node{Name: n.Name, Groups: n.Groups, Attrs: map[string]any{}}
	for k, v := range n.Attrs.Map() {
		out.Attrs[k] = plain(v)
	}
	for _, ifc := range n.Interfaces {
		a := api.Interface{Name: ifc.Name, Network: ifc.Network, MAC: ifc.MAC.String()}
		if ifc.IP.IsValid() {
			a.IP = ifc.IP.String()
		}
		out.Interfaces = append(out.Interfaces, a)
	}
	if withBlame {
		out.Blame = make(map[string]api.Source, len(n.Blame))
		for k, v := range n.Blame {
			out.Blame[k] = v
		}
	}
	n.Lite.api(&out, withBlame)
	return out
}

// plain converts named string kinds (manifest.Mode) and slices of them to
// string and []string for JSON clients.
func plain(v any) any {
	rv := reflect.ValueOf(v)
	switch {
	case rv.Kind() == reflect.String:
		return rv.String()
	case rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.String:
		out := make([]string, rv.Len())
		for i := range out {
			out[i] = rv.Index(i).String()
		}
		return out
	}
	return v
}

type macRef struct {
	node  *Node
	iface int
}

// Cluster is a resolved inventory. It is immutable.
type Cluster struct {
	file     string
	nodes    []*Node
	byName   map[string]*Node
	byMAC    map[string]macRef // key: string(6-byte MAC)
	networks []*Network
	groups   []*Group
	defaults Attrs
	lite     liteDoc // litefile and litetree rules (statelite.go)
	pools    []*Pool // discovery section (discovery.go)
}

// Load reads and parses an inventory file.
func Load(path string) (*Cluster, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	return Parse(path, data)
}

// File returns the file name the cluster was parsed from.
func (c *Cluster) File() string { return c.file }

// Nodes returns all nodes in natural name order (cn2 before cn10).
func (c *Cluster) Nodes() []*Node { return c.nodes }

// Node returns the node with that name.
func (c *Cluster) Node(name string) (*Node, bool) {
	n, ok := c.byName[name]
	return n, ok
}

// ByMAC finds the node and interface with that MAC.
func (c *Cluster) ByMAC(mac net.HardwareAddr) (*Node, *Interface, bool) {
	r, ok := c.byMAC[string(mac)]
	if !ok {
		return nil, nil, false
	}
	return r.node, &r.node.Interfaces[r.iface], true
}

// Networks returns the networks in file order.
func (c *Cluster) Networks() []*Network { return c.networks }

// NetworkFor returns the network whose subnet contains ip.
func (c *Cluster) NetworkFor(ip netip.Addr) (*Network, bool) {
	for _, n := range c.networks {
		if n.Subnet.Contains(ip) {
			return n, true
		}
	}
	return nil, false
}

// Groups returns the groups in file order.
func (c *Cluster) Groups() []*Group { return c.groups }

// Defaults returns the defaults section's attributes.
func (c *Cluster) Defaults() Attrs { return c.defaults }

// Match expands a node range and returns those nodes in expansion order.
// The error names every node that does not exist.
func (c *Cluster) Match(rangeExpr string) ([]*Node, error) {
	names, err := noderange.ParseMax(rangeExpr, max(len(c.nodes), 1024))
	if err != nil {
		return nil, err
	}
	out := make([]*Node, 0, len(names))
	var missing []string
	for _, name := range names {
		if n, ok := c.byName[name]; ok {
			out = append(out, n)
		} else {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("inventory: no such node(s): %s", noderange.Compact(missing))
	}
	return out, nil
}
