// Package statelite is mode statelite's plan (xCAT's statelite, without
// relabelling the image for each rule change: the rules apply at boot).
// One read-only image is shared by every node; the litefile rules make a
// few paths writable per node, from the litetree sources, the image's
// originals (/.default) or the node's persistent store. The steps, in
// order (each also a `trap NAME` command):
//
//	image fetch         the registry image into /run/dt/image (package ramroot; not with an NFS root)
//	statelite root      the image root read-only at /run/dt/lower: squashfs (losetup -r) or NFS export
//	statelite tmpfs     tmpfs at /run/dt/statelite; /sysroot = overlay of the root (config only, made
//	                    read-only later); /sysroot/.statelite = the tmpfs's lite/ (tmpfs/, mnt/, persistent/)
//	statelite litetree  each litetree source read-only at /.statelite/mnt/N, in priority order
//	statelite store     the persistent store at /.statelite/persistent; <store>/<node>/ created
//	statelite files     every rule materialized under /.statelite/tmpfs, /path -> /.statelite/tmpfs/path,
//	                    one line per path in /.statelite/statelite.log
//	sysroot             hostname, network.env, ... (package ramroot; symlinks resolved inside /sysroot)
//	statelite readonly  /sysroot remounted read-only: only the litefile paths stay writable
//	switch-root         package ramroot
//
// NFS exports are mounted by the agent itself (mount(2), nfs4 with text
// options; the kernel's nfsv4 module in the initramfs), after a TCP probe
// of the server so that a server that is down fails the step at once,
// naming the export; the node stays in the trap and the step is rerun by
// hand (`trap statelite litetree`) or by `trap continue`.
package statelite

import (
	"fmt"

	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/plan"
	"github.com/disklesstrap/disklesstrap/trap/ramroot"
)

// Paths of the plan (a step's Root field prefixes them in tests).
const (
	// StateDir is the tmpfs holding the overlay's upper/work and lite/.
	StateDir = "/run/dt/statelite"
	// LiteDir is /.statelite inside the new root.
	LiteDir = "/.statelite"
	// NFSOptions are the mount options of every export (NFSv4.1 over
	// TCP; the kernel needs the server's address as addr=).
	NFSOptions = "vers=4.1,proto=tcp"
)

// StepNames are the plan's own steps, in order; each is a `trap NAME`
// command.
var StepNames = []string{"statelite root", "statelite tmpfs", "statelite litetree", "statelite store", "statelite files", "statelite readonly"}

// Plan returns the statelite plan for m.
func Plan(m *manifest.Manifest) (plan.Plan, error) {
	c, err := prepare(m)
	if err != nil {
		return nil, err
	}
	var p plan.Plan
	if c.Statelite.Root == "" {
		p = append(p, &ramroot.Fetch{Image: *c.Image})
	}
	for _, n := range StepNames[:5] {
		p = append(p, build(n, c))
	}
	p = append(p, &Sysroot{Sysroot: sysroot(c)}, build("statelite readonly", c), &ramroot.SwitchRoot{Init: c.Init})
	return p, nil
}

// Commands returns the `trap NAME` command of every step (arguments are
// ignored).
func Commands() map[string]plan.Command {
	return plan.StepCommands(StepNames, prepare, func(name string, c *manifest.Manifest, _ []string) (plan.Step, error) {
		return build(name, c), nil
	})
}

// SetRoot sets the Root prefix of every step that has one (tests).
func SetRoot(p plan.Plan, root string) {
	ramroot.SetRoot(p, root)
	for _, s := range p {
		switch s := s.(type) {
		case *Root:
			s.Root = root
		case *Tmpfs:
			s.Root = root
		case *Litetree:
			s.Root = root
		case *Store:
			s.Root = root
		case *Files:
			s.Root = root
		case *Readonly:
			s.Root = root
		case *Sysroot:
			s.Sysroot.Root = root
		}
	}
}

func build(name string, m *manifest.Manifest) plan.Step {
	s := m.Statelite
	switch name {
	case "statelite root":
		r := &Root{Export: s.Root}
		if m.Image != nil {
			r.Image = m.Image.Name
		}
		return r
	case "statelite tmpfs":
		return &Tmpfs{}
	case "statelite litetree":
		return &Litetree{Sources: s.Tree}
	case "statelite store":
		return &Store{Export: s.Store, Node: m.Node}
	case "statelite files":
		return &Files{Rules: s.Files, Sources: s.Tree, Store: s.Store, Node: m.Node}
	case "statelite readonly":
		return &Readonly{}
	}
	return &plan.Invalid{StepName: name, Err: fmt.Errorf("unknown step")}
}

// prepare copies m with the ramroot defaults (init) applied and checks
// what the plan needs.
func prepare(m *manifest.Manifest) (*manifest.Manifest, error) {
	if m == nil {
		return nil, fmt.Errorf("statelite: no manifest")
	}
	if m.Statelite == nil {
		return nil, fmt.Errorf("manifest %s: mode statelite needs a statelite section (bootsrv renders it from the litefile/litetree rules and the statelite attribute)", m.Node)
	}
	c := *m
	s := *m.Statelite
	c.Statelite = &s
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", m.Node, err)
	}
	if c.Init == "" {
		c.Init = manifest.DefaultInit
	}
	if s.Root == "" {
		if c.Image == nil {
			return nil, fmt.Errorf("manifest %s: mode statelite needs an image (or an NFS root)", m.Node)
		}
		img := *c.Image
		c.Image = &img
		if img.Format != "" && img.Format != manifest.FormatSquashfs {
			return nil, fmt.Errorf("image %s: format %s: a statelite root is a squashfs image (or an NFS export)", img.Name, img.Format)
		}
		if img.URL == "" {
			c.Image.URL = m.Server + "/images/" + img.Name
		}
	}
	return &c, nil
}

func sysroot(m *manifest.Manifest) ramroot.Sysroot {
	s := ramroot.Sysroot{Node: m.Node, Hostname: m.Hostname, Server: m.Server, Network: m.Network}
	if m.Sysroot != nil {
		s.Sysroot = *m.Sysroot
	}
	return s
}
