package api

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/bootsrv/inventory"
	"github.com/disklesstrap/disklesstrap/bootsrv/state"
	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/noderange"
)

// Discovery that names nodes (docs/discovery.md).
//
//	GET  /api/v1/discovery          []api.Discovered (admin)
//	POST /api/v1/discovery/assign   api.DiscoverAssign -> api.DiscoverAssigned (admin, audited)
//	GET  /manifest?mac=M&wait=S     an unknown MAC's manifest; with wait (1-30 s) the
//	                                answer waits until the MAC is named (then: its node's
//	                                manifest) or S seconds pass (the discovery manifest)
//
// Naming writes a node entry into the inventory (the discovery pool's
// groups, the MAC, the address its pool's template gives the name), hands
// the discovery boot's credential to the new name (state.AdoptBootKey) and
// wakes the node's waiting manifest request: the agent takes its reserved
// address, signs as its new name and goes on in its new mode, without a
// reboot. A hardware report whose DMI serial is in a pool's serials is
// named at once, audited as bootsrv's own change.

// PhaseNamed is the event bootsrv records for a node discovery named
// (Data: mac, address, by, was).
const PhaseNamed = "named"

// maxNamedWait caps the wait parameter of GET /manifest?mac=M.
const maxNamedWait = 30 * time.Second

// named wakes the manifest requests waiting for a name.
var named = &waker{ch: make(chan struct{})}

type waker struct {
	mu sync.Mutex
	ch chan struct{}
}

func (w *waker) wait() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ch
}

func (w *waker) wake() {
	w.mu.Lock()
	defer w.mu.Unlock()
	close(w.ch)
	w.ch = make(chan struct{})
}

// awaitNamed waits, when r asks to (wait=S), until mac is an inventory
// node; it returns that node, or nil when the wait ended without a name.
func (a *API) awaitNamed(r *http.Request, mac net.HardwareAddr) (*inventory.Cluster, *inventory.Node, error) {
	s := r.URL.Query().Get("wait")
	if s == "" {
		return nil, nil, nil
	}
	secs, err := strconv.Atoi(s)
	if err != nil || secs < 0 || time.Duration(secs)*time.Second > maxNamedWait {
		return nil, nil, errorf(http.StatusBadRequest, "query parameter wait: want 0..%d seconds, got %q", int(maxNamedWait/time.Second), s)
	}
	t := time.NewTimer(time.Duration(secs) * time.Second)
	defer t.Stop()
	for {
		ch := named.wait()
		c, err := a.cluster()
		if err != nil {
			return nil, nil, err
		}
		if n, _, ok := c.ByMAC(mac); ok {
			return c, n, nil
		}
		select {
		case <-ch:
		case <-t.C:
			return nil, nil, nil
		case <-r.Context().Done():
			return nil, nil, r.Context().Err()
		}
	}
}

// listDiscovered serves GET /api/v1/discovery: every MAC that booted the
// discovery trap, named or not, with its hardware report's summary.
func (a *API) listDiscovered(w http.ResponseWriter, r *http.Request) error {
	c, err := a.cluster()
	if err != nil {
		return err
	}
	ds, err := a.cfg.Store.DiscoveredNodes()
	if err != nil {
		return err
	}
	st, err := a.cfg.Store.Status(nil)
	if err != nil {
		return err
	}
	out := make([]api.Discovered, 0, len(ds))
	for _, d := range ds {
		mac, err := net.ParseMAC(d.MAC)
		if err != nil {
			continue
		}
		row := api.Discovered{MAC: mac.String(), FirstSeen: d.FirstSeen, LastSeen: d.LastSeen, Node: discoveryName(mac)}
		if n, _, ok := c.ByMAC(mac); ok {
			row.Node, row.Named = n.Name, true
			if ifc := n.BootInterface(); ifc != nil && ifc.IP.IsValid() {
				row.Address = ifc.IP.String()
			}
		}
		if s, ok := st[row.Node]; ok {
			row.Phase = s.Phase
			if row.Address == "" {
				row.Address, _, _ = strings.Cut(s.Address, "/")
			}
		}
		if row.Address == "" {
			if l, ok, err := a.cfg.Store.LeaseOf(mac.String()); err == nil && ok {
				row.Address = l.IP.String()
			}
		}
		hardwareSummary(&row, d.Inventory)
		if !row.Named {
			if name, ok := c.BySerial(row.Serial); ok {
				row.SerialMatch = name
			}
		}
		out = append(out, row)
	}
	return writeJSON(w, http.StatusOK, out)
}

// report is the hardware report as discovery keeps it, plus the BMC MAC
// an IPMI-aware agent may add.
type report struct {
	manifest.Hardware
	BMCMAC string `json:"bmc_mac"`
}

func hardwareSummary(row *api.Discovered, raw json.RawMessage) {
	if len(raw) == 0 {
		return
	}
	var hw report
	if json.Unmarshal(raw, &hw) != nil {
		return
	}
	row.Serial, row.UUID, row.Vendor, row.Product = hw.Serial, hw.UUID, hw.Vendor, hw.Product
	row.CPUs, row.MemoryKB, row.BMCMAC = hw.CPUs, hw.MemoryKB, hw.BMCMAC
	for _, n := range hw.NICs {
		row.MACs = append(row.MACs, n.MAC)
	}
	for _, d := range hw.Disks {
		row.Disks = append(row.Disks, fmt.Sprintf("%s %s", d.Name, sizeText(d.Bytes)))
	}
}

// sizeText is a byte count in short binary units ("8G", "512M").
func sizeText(b int64) string {
	units := []string{"", "K", "M", "G", "T", "P"}
	f := float64(b)
	i := 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if f == float64(int64(f)) {
		return fmt.Sprintf("%d%s", int64(f), units[i])
	}
	return fmt.Sprintf("%.1f%s", f, units[i])
}

// assignDiscovered serves POST /api/v1/discovery/assign.
func (a *API) assignDiscovered(w http.ResponseWriter, r *http.Request) error {
	var req api.DiscoverAssign
	if err := decodeJSON(w, r, maxEditBody, &req); err != nil {
		return err
	}
	target := req.Name
	if req.Next != "" {
		target = "--next " + req.Next
	}
	auditf(r, "discover assign %s %s", req.MAC, target)
	mac, err := net.ParseMAC(strings.TrimSpace(req.MAC))
	if err != nil || len(mac) != 6 {
		return errorf(http.StatusBadRequest, "field mac: %q is not an Ethernet MAC address", req.MAC)
	}
	switch {
	case req.Name == "" && req.Next == "":
		return errorf(http.StatusBadRequest, "fields name and next are both empty: give a node name or a range to take the next free name of")
	case req.Name != "" && req.Next != "":
		return errorf(http.StatusBadRequest, "fields name and next are both set: give one")
	}
	a.editMu.Lock()
	defer a.editMu.Unlock()
	c, err := a.cluster()
	if err != nil {
		return err
	}
	name, by := req.Name, "name"
	if req.Next != "" {
		by = "next"
		if name, err = c.NextFree(req.Next); err != nil {
			return errorf(http.StatusConflict, "field next: %v", err)
		}
	}
	out, err := a.assign(c, mac, name, by)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// assign names mac (a discovered MAC) name: the inventory edit, the
// credential hand-over, the named event, the wake-up. The caller holds
// editMu.
func (a *API) assign(c *inventory.Cluster, mac net.HardwareAddr, name, by string) (api.DiscoverAssigned, error) {
	var out api.DiscoverAssigned
	if n, _, ok := c.ByMAC(mac); ok {
		return out, errorf(http.StatusConflict, "MAC %s is already in the inventory as node %s", mac, n.Name)
	}
	if _, ok, err := a.cfg.Store.DiscoveredNode(mac.String()); err != nil {
		return out, err
	} else if !ok {
		return out, errorf(http.StatusNotFound, "MAC %s has not booted the discovery trap (trapctl discover list)", mac)
	}
	if list, err := noderange.Parse(name); err != nil || len(list) != 1 || list[0] != name {
		return out, errorf(http.StatusBadRequest, "field name: %q is not one node name", name)
	}
	if _, ok := c.Node(name); ok {
		return out, errorf(http.StatusConflict, "node %s is already in the inventory", name)
	}
	fields, ip, err := c.NodeFields(name, mac.String())
	if err != nil {
		return out, errorf(http.StatusBadRequest, "field name: %v", err)
	}
	nc, err := a.edit(func(path string) (*inventory.Cluster, error) {
		return inventory.AddNode(path, name, fields)
	})
	if err != nil {
		return out, err
	}
	was := discoveryName(mac)
	if _, err := a.cfg.Store.AdoptBootKey(was, name); err != nil {
		// The node then cannot sign as its new name: it says so on its
		// console; a reboot gives it a fresh credential.
		a.log.Warn("discovery: boot credential not handed over", "mac", mac.String(), "node", name, "err", err)
	}
	p, _ := nc.PoolOf(name)
	out = api.DiscoverAssigned{MAC: mac.String(), Node: name, Address: ip.String(), Network: p.Network, By: by}
	ev := manifest.Event{Node: name, MAC: mac.String(), Phase: PhaseNamed,
		Message: fmt.Sprintf("named %s by discovery (%s), was %s", name, by, was),
		Data:    map[string]string{"mac": mac.String(), "address": ip.String(), "by": by, "was": was}}
	if err := a.cfg.Store.AddEvents([]manifest.Event{ev, {Node: was, MAC: mac.String(), Phase: PhaseNamed, Message: "named " + name, Data: ev.Data}}); err != nil {
		a.log.Warn("discovery: named event not stored", "node", name, "err", err)
	}
	named.wake()
	a.log.Info("discovery named a node", "mac", mac.String(), "node", name, "address", ip, "by", by)
	return out, nil
}

// nameBySerial names a freshly reported MAC whose DMI serial a discovery
// pool lists. The change is bootsrv's own: it goes to the audit log.
func (a *API) nameBySerial(macText string, raw json.RawMessage) {
	var hw report
	if len(raw) == 0 || json.Unmarshal(raw, &hw) != nil || strings.TrimSpace(hw.Serial) == "" {
		return
	}
	mac, err := net.ParseMAC(macText)
	if err != nil {
		return
	}
	a.editMu.Lock()
	defer a.editMu.Unlock()
	c, err := a.cluster()
	if err != nil {
		return
	}
	name, ok := c.BySerial(hw.Serial)
	if !ok {
		return
	}
	if _, _, known := c.ByMAC(mac); known {
		return
	}
	rec := state.AuditRecord{Time: a.cfg.Now().UTC(), Who: "bootsrv (discovery serial match)", From: "-",
		Method: "POST", Path: "/api/v1/discovery/assign",
		Summary: fmt.Sprintf("discover assign %s %s (DMI serial %q)", mac, name, hw.Serial)}
	_, err = a.assign(c, mac, name, "serial")
	rec.Status = http.StatusOK
	if err != nil {
		rec.Status = statusOf(err)
		rec.Summary += ": " + err.Error()
		a.log.Warn("discovery: serial match not named", "mac", mac.String(), "serial", hw.Serial, "node", name, "err", err)
		if e := a.cfg.Store.AddEvents([]manifest.Event{{Node: discoveryName(mac), MAC: mac.String(), Phase: manifest.PhaseError,
			Message: fmt.Sprintf("DMI serial %q is node %s's in the discovery section, but naming failed: %v", hw.Serial, name, err)}}); e != nil {
			a.log.Warn("discovery: event not stored", "err", e)
		}
	}
	if err := a.cfg.Store.AddAudit(rec); err != nil {
		a.log.Error("audit record not stored", "summary", rec.Summary, "err", err)
	}
}
