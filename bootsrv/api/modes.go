package api

import (
	"net/http"
	"strings"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/manifest"
)

// setMode serves POST /api/v1/mode (api.ModeSet). The range must name only
// inventory nodes; nothing is written otherwise. Any number of nodes is one
// state transaction.
func (a *API) setMode(w http.ResponseWriter, r *http.Request) error {
	var set api.ModeSet
	if err := decodeJSON(w, r, maxEditBody, &set); err != nil {
		return err
	}
	auditf(r, "mode %s%s on %s", set.Mode, map[bool]string{true: " (next boot only)"}[set.Once], set.Range)
	if strings.TrimSpace(set.Range) == "" {
		return errorf(http.StatusBadRequest, "field range is empty")
	}
	mode, err := manifest.ParseMode(string(set.Mode))
	if err != nil {
		return errorf(http.StatusBadRequest, "field mode: %v", err)
	}
	c, err := a.cluster()
	if err != nil {
		return err
	}
	nodes, err := resolveRange(c, set.Range, "field range")
	if err != nil {
		return err
	}
	if err := a.cfg.Store.SetModes(names(nodes), mode, set.Once); err != nil {
		return err
	}
	a.log.Info("mode set", "range", set.Range, "mode", mode, "once", set.Once, "nodes", len(nodes))
	return writeJSON(w, http.StatusOK, api.ModeSetResult{Count: len(nodes)})
}

// status serves GET /api/v1/status?range=R. Without a range it lists every
// inventory node, then the discovered unknown MACs ("mac-..." names).
func (a *API) status(w http.ResponseWriter, r *http.Request) error {
	c, err := a.cluster()
	if err != nil {
		return err
	}
	expr := r.URL.Query().Get("range")
	nodes, err := resolveRange(c, expr, "query parameter range")
	if err != nil {
		return err
	}
	var want []string
	if expr != "" {
		want = names(nodes)
	}
	st, err := a.cfg.Store.Status(want)
	if err != nil {
		return err
	}
	modes, err := a.cfg.Store.Modes()
	if err != nil {
		return err
	}
	out := make([]api.Status, 0, len(nodes))
	add := func(name string, mode manifest.Mode) {
		row := api.Status{Node: name, Mode: mode}
		if o, ok := modes[name]; ok {
			row.Mode, row.Once = o.Mode, o.Once
		}
		if s, ok := st[name]; ok {
			row.Phase, row.LastEvent, row.LastSeen, row.Address = s.Phase, s.LastEvent, s.LastSeen, s.Address
		}
		out = append(out, row)
	}
	for _, n := range nodes {
		add(n.Name, nodeMode(n))
	}
	if expr == "" {
		ds, err := a.cfg.Store.DiscoveredNodes()
		if err != nil {
			return err
		}
		for _, d := range ds {
			if mac, err := parseMACString(d.MAC); err == nil {
				if _, _, known := c.ByMAC(mac); !known {
					add(discoveryName(mac), manifest.ModeDiscovery)
				}
			}
		}
	}
	return writeJSON(w, http.StatusOK, out)
}
