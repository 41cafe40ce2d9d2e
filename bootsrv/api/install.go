package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/bootsrv/inventory"
	"github.com/disklesstrap/disklesstrap/manifest"
)

// installFields fills the mode-install fields of m for node n when the
// node's plan mode is install: Image from the registry (as for ramroot),
// Install from install_disk, install_wipe, bootloader, install_cmdline,
// and the partscript/postscript (inline, or "file:NAME" read now from
// DATA/scripts/NAME). What is missing or unreadable is stated in
// m.Problems, naming the attribute, node and file.
func (a *API) installFields(m *manifest.Manifest, n *inventory.Node) {
	if m.Mode != manifest.ModeInstall && m.Continue != manifest.ModeInstall {
		return
	}
	at := &n.Attrs
	in := &manifest.Install{
		Disk:       inventory.Val(at.InstallDisk),
		Wipe:       inventory.Val(at.InstallWipe) == "yes",
		Bootloader: inventory.Val(at.Bootloader),
		Cmdline:    inventory.Val(at.InstallCmdline),
	}
	ok := true
	if in.Disk == "" {
		m.Problems = append(m.Problems, fmt.Sprintf(
			"mode install: node %s's install_disk attribute is not set (e.g. trapctl node set %s 'install_disk=smallest >= 8G'; trapctl node inventory %s lists the disks)", n.Name, n.Name, n.Name))
		ok = false
	}
	for _, s := range []struct {
		key string
		val *string
		dst *string
	}{{"partscript", at.Partscript, &in.Partscript}, {"postscript", at.Postscript, &in.Postscript}} {
		text, err := a.script(inventory.Val(s.val))
		if err != nil {
			m.Problems = append(m.Problems, fmt.Sprintf("mode install: node %s's %s: %v", n.Name, s.key, err))
			ok = false
		}
		*s.dst = text
	}
	img, problem := a.registryImage(n, manifest.ModeInstall)
	if problem != "" {
		m.Problems = append(m.Problems, problem)
	}
	if !ok || img == nil {
		return
	}
	img.URL = m.Server + "/images/" + img.Name
	m.Image, m.Install = img, in
}

// script resolves a partscript/postscript attribute: inline text as is,
// "file:NAME" read from DATA/scripts/NAME.
func (a *API) script(v string) (string, error) {
	name, isFile, err := manifest.ScriptFile(v)
	if err != nil || !isFile {
		return v, err
	}
	p := filepath.Join(a.cfg.DataDir, "scripts", filepath.FromSlash(name))
	b, err := os.ReadFile(p)
	if err != nil {
		return "", fmt.Errorf("script file %s: %w", p, err)
	}
	return string(b), nil
}

// installDone switches every node that reported install-done to mode
// local (persistent), so its next boot comes from its disk, and records
// that in its events.
func (a *API) installDone(evs []manifest.Event) error {
	for _, ev := range evs {
		if ev.Phase != manifest.PhaseInstallDone || ev.Node == "" {
			continue
		}
		if _, isDiscovery := parseDiscoveryName(ev.Node); isDiscovery {
			continue
		}
		if err := a.cfg.Store.SetModes([]string{ev.Node}, manifest.ModeLocal, false); err != nil {
			return fmt.Errorf("install done on %s: set mode local: %w", ev.Node, err)
		}
		disk := ev.Data["disk"]
		a.log.Info("install done: mode local", "node", ev.Node, "disk", disk, "image", ev.Data["image"])
		if err := a.cfg.Store.AddEvents([]manifest.Event{{Node: ev.Node, Phase: PhaseModeSet,
			Message: fmt.Sprintf("install done on %s: mode local (persistent), the next boot is from the disk", disk),
			Data:    map[string]string{"mode": string(manifest.ModeLocal), "by": "install-done"}}}); err != nil {
			return err
		}
	}
	return nil
}

// PhaseModeSet is the event bootsrv records when it changes a node's mode
// by itself (install-done -> local).
const PhaseModeSet = "mode-set"

// nodeInventory serves GET /api/v1/nodes/{name}/inventory: the node's
// latest hardware report (mode service or install), api.NodeInventory.
func (a *API) nodeInventory(w http.ResponseWriter, r *http.Request) error {
	c, err := a.cluster()
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	if _, ok := c.Node(name); !ok {
		return errorf(http.StatusNotFound, "node %s not in the inventory", name)
	}
	ev, ok, err := a.cfg.Store.LastEvent(name, manifest.PhaseInventory)
	if err != nil {
		return err
	}
	if !ok {
		return errorf(http.StatusNotFound, "node %s has sent no hardware report yet: boot it in mode service (trapctl mode set %s service --once)", name, name)
	}
	out := api.NodeInventory{Node: name, Time: ev.Time}
	if err := json.Unmarshal([]byte(ev.Data["inventory"]), &out.Hardware); err != nil {
		return fmt.Errorf("hardware report of %s: %w", name, err)
	}
	return writeJSON(w, http.StatusOK, out)
}
