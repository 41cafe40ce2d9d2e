package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"

	"github.com/disklesstrap/disklesstrap/bootsrv/inventory"
	"github.com/disklesstrap/disklesstrap/manifest"
)

// manifestByName serves GET /manifest/{node}; a discovery name
// ("mac-525400000001") gets the discovery manifest.
func (a *API) manifestByName(w http.ResponseWriter, r *http.Request) error {
	c, err := a.cluster()
	if err != nil {
		return err
	}
	name := r.PathValue("node")
	if n, ok := c.Node(name); ok {
		return a.serveNodeManifest(w, r, c, n)
	}
	if mac, ok := parseDiscoveryName(name); ok {
		if _, ok, err := a.cfg.Store.DiscoveredNode(mac.String()); err != nil {
			return err
		} else if ok {
			m, err := a.discoveryManifest(r, c, mac)
			if err != nil {
				return err
			}
			return writeManifest(w, m)
		}
	}
	return errorf(http.StatusNotFound, "node %s not in the inventory", name)
}

// manifestByMAC serves GET /manifest?mac=MAC.
func (a *API) manifestByMAC(w http.ResponseWriter, r *http.Request) error {
	mac, err := parseMAC(r, "mac")
	if err != nil {
		return err
	}
	c, err := a.cluster()
	if err != nil {
		return err
	}
	if n, _, ok := c.ByMAC(mac); ok {
		return a.serveNodeManifest(w, r, c, n)
	}
	if c, n, err := a.awaitNamed(r, mac); err != nil { // discovery.go
		return err
	} else if n != nil {
		m, err := a.nodeManifest(r, c, n)
		if err != nil {
			return err
		}
		return writeManifest(w, m)
	}
	if err := a.cfg.Store.PutDiscovered(mac.String(), nil); err != nil {
		return err
	}
	m, err := a.discoveryManifest(r, c, mac)
	if err != nil {
		return err
	}
	return writeManifest(w, m)
}

// nodeManifest renders a known node's manifest. The mode is the override
// in effect for the node's current boot (a --once mode consumed by this
// boot's iPXE script still shows), else the inventory's.
func (a *API) nodeManifest(r *http.Request, c *inventory.Cluster, n *inventory.Node) (*manifest.Manifest, error) {
	m := &manifest.Manifest{
		Version:   manifest.Version,
		Node:      n.Name,
		Hostname:  n.Name,
		Mode:      nodeMode(n),
		Server:    a.cfg.BaseURL(r),
		SSHKeys:   nonNil(inventory.Val(n.Attrs.SSHKeys)),
		Generated: a.cfg.Now().UTC(),
	}
	o, ok, err := a.cfg.Store.ModeFor(n.Name)
	if err != nil {
		return nil, err
	}
	if ok {
		m.Mode, m.Once = o.Mode, o.Once
	}
	if m.Mode.Traps() {
		// Held in the trap: leaving it continues with the persistent mode.
		base := nodeMode(n)
		if p, ok, err := a.cfg.Store.PersistentMode(n.Name); err != nil {
			return nil, err
		} else if ok {
			base = p.Mode
		}
		if !base.Traps() && base != manifest.ModeLocal {
			m.Continue = base
		}
	}
	a.ramrootFields(m, n)
	a.postscriptFields(m, n)
	a.iscsiFields(m, n)
	a.stateliteFields(m, n)
	a.installFields(m, n)
	bmcSetupFields(m, c, n)
	a.secretServerField(r, c, n, m)
	boot := n.BootInterface()
	if boot != nil {
		m.Network = networkOf(c, boot)
	}
	for i := range n.Interfaces {
		ifc := &n.Interfaces[i]
		if ifc == boot || !ifc.IP.IsValid() || ifc.MAC == nil {
			continue
		}
		nw := networkOf(c, ifc)
		nw.Gateway = "" // one default route: the boot interface's
		m.Interfaces = append(m.Interfaces, *nw)
	}
	return m, nil
}

// networkOf is an interface's manifest form: its reserved address with the
// prefix length and gateway of the inventory network it falls in.
func networkOf(c *inventory.Cluster, ifc *inventory.Interface) *manifest.Network {
	nw := &manifest.Network{Interface: ifc.Name, MAC: ifc.MAC.String()}
	if ifc.IP.IsValid() {
		nw.Address = ifc.IP.String()
		if net, ok := c.NetworkFor(ifc.IP); ok {
			nw.Address += "/" + strconv.Itoa(net.Subnet.Bits())
			if net.Gateway.IsValid() {
				nw.Gateway = net.Gateway.String()
			}
		}
	}
	return nw
}

// discoveryManifest renders the manifest of an unknown MAC: discovery mode,
// the defaults' SSH keys, and its dynamic lease if it has one.
func (a *API) discoveryManifest(r *http.Request, c *inventory.Cluster, mac net.HardwareAddr) (*manifest.Manifest, error) {
	name := discoveryName(mac)
	m := &manifest.Manifest{
		Version:   manifest.Version,
		Node:      name,
		Hostname:  name,
		Mode:      manifest.ModeDiscovery,
		Server:    a.cfg.BaseURL(r),
		SSHKeys:   nonNil(inventory.Val(c.Defaults().SSHKeys)),
		Generated: a.cfg.Now().UTC(),
		Network:   &manifest.Network{MAC: mac.String()},
	}
	l, ok, err := a.cfg.Store.LeaseOf(mac.String())
	if err != nil {
		return nil, err
	}
	if ok {
		m.Network.Address = l.IP.String()
		if nw, ok := c.NetworkFor(l.IP); ok {
			m.Network.Address = netip.PrefixFrom(l.IP, nw.Subnet.Bits()).String()
			if nw.Gateway.IsValid() {
				m.Network.Gateway = nw.Gateway.String()
			}
		}
	}
	return m, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// manifestBufs recycles the buffers manifests are encoded into: the
// manifest routes are the hot read path of a boot storm.
var manifestBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// writeManifest answers 200 with m as indented JSON (writeJSON's format)
// and a Content-Length, from a pooled buffer.
func writeManifest(w http.ResponseWriter, m *manifest.Manifest) error {
	b := manifestBufs.Get().(*bytes.Buffer)
	defer func() {
		if b.Cap() <= 64<<10 {
			b.Reset()
			manifestBufs.Put(b)
		}
	}()
	b.Reset()
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return fmt.Errorf("encode manifest of %s: %w", m.Node, err)
	}
	writeJSONBytes(w, b.Bytes())
	return nil
}

// writeJSONBytes answers 200 with the JSON text b and its Content-Length.
func writeJSONBytes(w http.ResponseWriter, b []byte) {
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(http.StatusOK)
	w.Write(b) // a client gone mid-answer is not a handler error
}
