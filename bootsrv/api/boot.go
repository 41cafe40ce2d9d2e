package api

import (
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/disklesstrap/disklesstrap/bootsrv/inventory"
	"github.com/disklesstrap/disklesstrap/bootsrv/ipxe"
	"github.com/disklesstrap/disklesstrap/manifest"
)

// PhaseIPXE is the event bootsrv records itself when it serves a node's
// iPXE script (Data: mode, platform): the first sign of a boot in status.
const PhaseIPXE = "ipxe"

// bootIPXE serves the chain script every iPXE (DHCP filename) fetches.
func (a *API) bootIPXE(w http.ResponseWriter, r *http.Request) error {
	script, err := ipxe.Chain(a.cfg.BaseURL(r))
	if err != nil {
		return errorf(http.StatusInternalServerError, "%v", err)
	}
	return writeText(w, script)
}

// nodeIPXE serves the per-node script. For a known MAC it starts a boot in
// the state store, consuming a pending next-boot-only mode. An unknown MAC
// gets the discovery script built from the inventory defaults.
func (a *API) nodeIPXE(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query() // once: parsing it is a visible share of the request
	mac, err := macParam(q, "mac")
	if err != nil {
		return err
	}
	platform := q.Get("platform")
	if err := checkPlatform(platform); err != nil {
		return err
	}
	c, err := a.cluster()
	if err != nil {
		return err
	}
	base := a.cfg.BaseURL(r)
	p := ipxe.Params{Server: base, MAC: mac.String(), Platform: platform}
	var event manifest.Event
	if n, _, ok := c.ByMAC(mac); ok {
		o, has, _, err := a.cfg.Store.StartBoot(n.Name)
		if err != nil {
			return err
		}
		p.Node, p.Mode = n.Name, nodeMode(n)
		if has {
			p.Mode = o.Mode
		}
		setFiles(&p, base, n.Attrs)
		event = manifest.Event{Node: n.Name, MAC: mac.String(), Phase: PhaseIPXE,
			Data: map[string]string{"mode": string(p.Mode), "platform": platform}}
	} else {
		if err := a.cfg.Store.PutDiscovered(mac.String(), nil); err != nil {
			return err
		}
		// A boot of the unknown node: it may register a boot key (register.go).
		if _, _, _, err := a.cfg.Store.StartBoot(discoveryName(mac)); err != nil {
			return err
		}
		p.Mode = manifest.ModeDiscovery
		setFiles(&p, base, c.Defaults())
		event = manifest.Event{Node: discoveryName(mac), MAC: mac.String(), Phase: PhaseIPXE,
			Data: map[string]string{"mode": string(p.Mode), "platform": platform}}
	}
	script, err := scripts.render(p)
	if err != nil {
		return errorf(http.StatusInternalServerError, "ipxe script for %s: %v", mac, err)
	}
	// The event acknowledges nothing: it is queued, not waited for (see
	// package state). A consumed --once override was made durable by
	// StartBoot before we got here.
	if err := a.cfg.Store.QueueEvents([]manifest.Event{event}); err != nil {
		a.log.Warn("record ipxe event", "node", event.Node, "err", err)
	}
	if a.log.Enabled(r.Context(), slog.LevelInfo) {
		a.log.Info("ipxe script", "node", event.Node, "mac", event.MAC, "mode", p.Mode, "platform", platform)
	}
	w.Header()["Content-Type"] = []string{"text/plain; charset=utf-8"}
	io.WriteString(w, script) // no []byte copy of the (cached) script
	return nil
}

func setFiles(p *ipxe.Params, base string, at inventory.Attrs) {
	p.Kernel = fileURL(base, inventory.Val(at.Kernel))
	p.Initrd = fileURL(base, inventory.Val(at.Initrd))
	p.Cmdline = inventory.Val(at.Cmdline)
}

// checkPlatform accepts iPXE's ${platform} values (pcbios, efi, ...).
func checkPlatform(s string) error {
	if len(s) > 16 {
		return errorf(http.StatusBadRequest, "query parameter platform: too long")
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return errorf(http.StatusBadRequest, "query parameter platform: %q is not a platform name", s)
		}
	}
	return nil
}

// bootFile serves DATA/boot/FILE with Range support. os.Root confines the
// lookup to the folder (no "..", no symlinks out); folders are 404, there
// are no listings.
func (a *API) bootFile(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("file")
	if name == "" || strings.HasSuffix(name, "/") || !fs.ValidPath(name) {
		return errorf(http.StatusNotFound, "no boot file %q", name)
	}
	root, err := os.OpenRoot(filepath.Join(a.cfg.DataDir, "boot"))
	if err != nil {
		return errorf(http.StatusNotFound, "no boot file %q", name)
	}
	defer root.Close()
	f, err := root.Open(name)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			a.log.Info("boot file refused", "file", name, "err", err) // escapes, permissions
		}
		return errorf(http.StatusNotFound, "no boot file %q", name)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return errorf(http.StatusNotFound, "no boot file %q", name)
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, "", st.ModTime(), f)
	return nil
}

// scripts memoizes ipxe.Script, a pure function of its Params: text/template
// costs more than the rest of a /ipxe request. Keyed by the whole Params,
// an entry never goes stale; the map is emptied when it reaches
// maxScripts, which bounds it whatever MACs and Host headers come in.
var scripts = scriptCache{m: make(map[ipxe.Params]string)}

const maxScripts = 1 << 15

type scriptCache struct {
	mu sync.RWMutex
	m  map[ipxe.Params]string
}

func (c *scriptCache) render(p ipxe.Params) (string, error) {
	c.mu.RLock()
	s, ok := c.m[p]
	c.mu.RUnlock()
	if ok {
		return s, nil
	}
	s, err := ipxe.Script(p)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	if len(c.m) >= maxScripts {
		clear(c.m)
	}
	c.m[p] = s
	c.mu.Unlock()
	return s, nil
}
