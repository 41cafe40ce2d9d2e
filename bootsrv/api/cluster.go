package api

import (
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/disklesstrap/disklesstrap/bootsrv/inventory"
	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/noderange"
)

// resolveRange expands expr ("" = every node) into inventory nodes, in
// natural order. Unknown names are a 404 naming all of them. A range with
// more names than the inventory could match is refused before it is
// expanded (rangeLimit).
func resolveRange(c *inventory.Cluster, expr, param string) ([]*inventory.Node, error) {
	if strings.TrimSpace(expr) == "" {
		return c.Nodes(), nil
	}
	names, err := noderange.ParseMax(expr, rangeLimit(len(c.Nodes())))
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "%s: %v", param, err)
	}
	nodes := make([]*inventory.Node, 0, len(names))
	var missing []string
	for _, name := range names {
		n, ok := c.Node(name)
		if !ok {
			missing = append(missing, name)
			continue
		}
		nodes = append(nodes, n)
	}
	if len(missing) > 0 {
		return nil, errorf(http.StatusNotFound, "%s %q: %s not in the inventory", param, expr, plural(missing))
	}
	sortNodes(nodes)
	return nodes, nil
}

// rangeLimit is the most names a range over an inventory of n nodes may
// expand to: n, with room for ranges that repeat names.
func rangeLimit(n int) int { return max(n, 1024) }

func sortNodes(nodes []*inventory.Node) {
	// Natural order regardless of how the range was written.
	slices.SortFunc(nodes, func(a, b *inventory.Node) int {
		switch {
		case noderange.Less(a.Name, b.Name):
			return -1
		case noderange.Less(b.Name, a.Name):
			return 1
		}
		return 0
	})
}

// plural names a list of nodes compactly: "node cn9" or "nodes cn[5-9]".
func plural(names []string) string {
	if len(names) == 1 {
		return "node " + names[0]
	}
	return "nodes " + noderange.Compact(names)
}

// nodeMode is the inventory's mode for n (trap when nothing sets one).
func nodeMode(n *inventory.Node) manifest.Mode {
	if m := inventory.Val(n.Attrs.Mode); m != "" {
		return m
	}
	return manifest.ModeTrap
}

// discoveryName is the node name an unknown MAC gets: "mac-525400000001".
func discoveryName(mac net.HardwareAddr) string {
	return "mac-" + strings.ReplaceAll(mac.String(), ":", "")
}

// parseDiscoveryName is the inverse of discoveryName.
func parseDiscoveryName(name string) (net.HardwareAddr, bool) {
	hex, ok := strings.CutPrefix(name, "mac-")
	if !ok || len(hex) != 12 {
		return nil, false
	}
	var b strings.Builder
	for i := 0; i < 12; i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(hex[i : i+2])
	}
	mac, err := net.ParseMAC(b.String())
	if err != nil || strings.ToLower(hex) != hex {
		return nil, false
	}
	return mac, true
}

// parseMAC reads a MAC query parameter; iPXE's ${netX/mac} gives
// "52:54:00:00:00:01", ${netX/mac:hexhyp} gives "52-54-00-00-00-01".
func parseMAC(r *http.Request, param string) (net.HardwareAddr, error) {
	return macParam(r.URL.Query(), param)
}

// macParam is parseMAC on an already parsed query.
func macParam(q url.Values, param string) (net.HardwareAddr, error) {
	s := q.Get(param)
	if s == "" {
		return nil, errorf(http.StatusBadRequest, "query parameter %s is required", param)
	}
	mac, err := net.ParseMAC(s)
	if err != nil || len(mac) != 6 {
		return nil, errorf(http.StatusBadRequest, "query parameter %s: %q is not an Ethernet MAC address", param, s)
	}
	return mac, nil
}

// fileURL turns a kernel/initrd attribute into a URL: a file name under
// DATA/boot is served at base/boot/NAME; a full URL is used as is.
func fileURL(base, name string) string {
	if name == "" || strings.Contains(name, "://") {
		return name
	}
	return base + "/boot/" + name
}

func parseMACString(s string) (net.HardwareAddr, error) { return net.ParseMAC(s) }
