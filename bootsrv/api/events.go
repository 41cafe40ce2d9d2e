package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/disklesstrap/disklesstrap/bootsrv/inventory"
	"github.com/disklesstrap/disklesstrap/manifest"
)

const (
	maxEventBody     = 4 << 20 // hardware inventories can be large
	defaultEventsLim = 100
	maxEventsLim     = 100000
)

// postEvents takes one event or a JSON array of events. Unknown JSON fields
// are ignored (a newer agent may send more). The batch is all or nothing:
// every event must name an inventory node, or carry (or be named after) a
// MAC that bootsrv has seen booting (discovered or leased).
func (a *API) postEvents(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxEventBody))
	if err != nil {
		return err
	}
	var evs []manifest.Event
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		err = json.Unmarshal(trimmed, &evs)
	} else {
		var ev manifest.Event
		err = json.Unmarshal(trimmed, &ev)
		evs = []manifest.Event{ev}
	}
	if err != nil {
		return errorf(http.StatusBadRequest, "request body: want a JSON event or array of events: %v", err)
	}
	if len(evs) == 0 {
		return errorf(http.StatusBadRequest, "request body: no events")
	}
	c, err := a.cluster()
	if err != nil {
		return err
	}
	type inv struct {
		mac  string
		data json.RawMessage
	}
	var invs []inv
	for i := range evs {
		ev := &evs[i]
		if err := a.resolveEvent(c, i, ev); err != nil {
			return err
		}
		if err := checkEventNodes(r, i, ev.Node); err != nil {
			return err
		}
		if err := a.checkReport(c, i, ev); err != nil {
			return err
		}
		if ev.Phase == manifest.PhaseDiscovered && ev.MAC != "" {
			raw := json.RawMessage(ev.Data["inventory"])
			if !json.Valid(raw) {
				raw, _ = json.Marshal(ev.Data["inventory"])
			}
			invs = append(invs, inv{ev.MAC, raw})
		}
	}
	if err := a.cfg.Store.AddEvents(evs); err != nil {
		return err
	}
	for _, v := range invs {
		if err := a.cfg.Store.PutDiscovered(v.mac, v.data); err != nil {
			return err
		}
		a.nameBySerial(v.mac, v.data) // discovery.go
	}
	if err := a.installDone(evs); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// resolveEvent validates event i, fills in its node from its MAC when
// missing, and canonicalizes the MAC.
func (a *API) resolveEvent(c *inventory.Cluster, i int, ev *manifest.Event) error {
	if ev.Phase == "" {
		return errorf(http.StatusBadRequest, "event %d: field phase is empty", i)
	}
	if len(ev.Phase) > 64 || strings.ContainsAny(ev.Phase, " \t\r\n") {
		return errorf(http.StatusBadRequest, "event %d: field phase: %q is not a phase name", i, ev.Phase)
	}
	var mac net.HardwareAddr
	if ev.MAC != "" {
		m, err := net.ParseMAC(ev.MAC)
		if err != nil {
			return errorf(http.StatusBadRequest, "event %d: field mac: %v", i, err)
		}
		mac, ev.MAC = m, m.String()
	}
	if ev.Node == "" && mac == nil {
		return errorf(http.StatusBadRequest, "event %d: fields node and mac are both empty", i)
	}
	if ev.Node != "" {
		if _, ok := c.Node(ev.Node); ok {
			return nil
		}
		m, ok := parseDiscoveryName(ev.Node)
		if !ok {
			return errorf(http.StatusNotFound, "event %d: node %s not in the inventory", i, ev.Node)
		}
		if mac != nil && mac.String() != m.String() {
			return errorf(http.StatusBadRequest, "event %d: node %s does not match field mac %s", i, ev.Node, mac)
		}
		mac, ev.MAC = m, m.String()
	}
	if n, _, ok := c.ByMAC(mac); ok {
		if ev.Node == "" {
			ev.Node = n.Name
		}
		return nil
	}
	known, err := a.macSeen(mac)
	if err != nil {
		return err
	}
	if !known {
		return errorf(http.StatusNotFound, "event %d: MAC %s is neither in the inventory nor seen booting", i, mac)
	}
	ev.Node = discoveryName(mac)
	return nil
}

// macSeen reports whether an unknown MAC booted through bootsrv.
func (a *API) macSeen(mac net.HardwareAddr) (bool, error) {
	if _, ok, err := a.cfg.Store.DiscoveredNode(mac.String()); err != nil || ok {
		return ok, err
	}
	_, ok, err := a.cfg.Store.LeaseOf(mac.String())
	return ok, err
}

// getEvents serves GET /api/v1/events?node=N&limit=K: the last K events,
// oldest first.
func (a *API) getEvents(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	node := q.Get("node")
	if node == "" {
		return errorf(http.StatusBadRequest, "query parameter node is required")
	}
	limit := defaultEventsLim
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxEventsLim {
			return errorf(http.StatusBadRequest, "query parameter limit: want 1..%d, got %q", maxEventsLim, s)
		}
		limit = n
	}
	c, err := a.cluster()
	if err != nil {
		return err
	}
	if _, ok := c.Node(node); !ok {
		mac, isMAC := parseDiscoveryName(node)
		seen := false
		if isMAC {
			if seen, err = a.macSeen(mac); err != nil {
				return err
			}
		}
		if !seen {
			return errorf(http.StatusNotFound, "node %s not in the inventory", node)
		}
	}
	evs, err := a.cfg.Store.Events(node, limit)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, evs)
}

// hostKeys serves known_hosts lines "NAME,ADDRESS KEYTYPE KEY" for the
// nodes of ?range= that reported a host key. ADDRESS is the boot
// interface's inventory IP; only a node without one gets the address it
// reported (checked against its lease when it arrived, reports.go).
func (a *API) hostKeys(w http.ResponseWriter, r *http.Request) error {
	c, err := a.cluster()
	if err != nil {
		return err
	}
	nodes, err := resolveRange(c, r.URL.Query().Get("range"), "query parameter range")
	if err != nil {
		return err
	}
	names := make([]string, len(nodes))
	for i, n := range nodes {
		names[i] = n.Name
	}
	st, err := a.cfg.Store.Status(names)
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, n := range nodes {
		s, ok := st[n.Name]
		if !ok || s.HostKey == "" {
			continue
		}
		f := strings.Fields(s.HostKey)
		if len(f) < 2 {
			continue
		}
		addr := ""
		if ifc := n.BootInterface(); ifc != nil && ifc.IP.IsValid() {
			addr = ifc.IP.String()
		} else {
			addr, _, _ = strings.Cut(s.Address, "/") // checked against its lease on arrival (reports.go)
		}
		hosts := n.Name
		if addr != "" {
			hosts += "," + addr
		}
		fmt.Fprintf(&b, "%s %s %s\n", hosts, f[0], f[1])
	}
	return writeText(w, b.String())
}
