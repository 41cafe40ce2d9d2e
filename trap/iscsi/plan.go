// Package iscsi is mode iscsi's plan (the Ocean diskless root): log in to
// the iSCSI target on every portal with CHAP and mutual CHAP, build a
// dm-multipath map over the paths, open LUKS with a key fetched into
// memory, map the partitions, activate LVM read-only, mark the devices
// read-only, mount them as the lower layers, then reuse mode ramroot's
// zram, overlay, sysroot and switch-root steps. The steps, in order:
//
//	iscsi login  node records (0600, RAM) + iscsid + iscsiadm --login per portal
//	multipath    dm-multipath map mpatha (uuid mpath-WWID, queue_if_no_path) + path checker
//	luks open    anatol/luks.go unlock of the disk as luks_root
//	partitions   GPT -> linear maps luks_root1, luks_root2, ...
//	lvm          lvm.conf without udev; vgchange -ay --sysinit (read-only list)
//	readonly     blockdev --setro on every lower device
//	lower        ro mounts at /run/dt/lower (+ /var ...)
//	zram, overlay, sysroot: see package ramroot
//	iscsi sysroot  initiatorname.iscsi, iscsid.conf (no secrets), multipath.conf in /sysroot; enable iscsid, multipathd
//	path keeper    hand over: stop iscsid if the image has iscsid.service; trap pathd chrooted in /sysroot (package pathd)
//	switch-root    see package ramroot; the sessions stay up for the booted OS
//
// Each step is also a `trap NAME` command. Steps use env.Run, env.Sys and
// the Storage seam (sysfs, device-mapper, LUKS, secrets).
package iscsi

import (
	"fmt"
	"path"
	"slices"

	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/plan"
	"github.com/disklesstrap/disklesstrap/trap/ramroot"
)

// StepNames are the storage steps in order (the plan then appends
// ramroot's zram, overlay and sysroot, "iscsi sysroot", and ramroot's
// switch-root).
var StepNames = []string{"iscsi login", "multipath", "luks open", "partitions", "lvm", "readonly", "lower"}

// Plan returns the iscsi plan for m.
func Plan(m *manifest.Manifest) (plan.Plan, error) {
	c, err := prepare(m)
	if err != nil {
		return nil, err
	}
	var p plan.Plan
	for _, n := range StepNames {
		p = append(p, build(n, c))
	}
	rr := ramrootPart(m)
	p = append(p, &ramroot.Zram{Devices: rr.Zram},
		&overlay{&ramroot.Overlay{Image: manifest.Image{Name: c.Target, Format: manifest.FormatSquashfs}, Overlays: rr.Overlays, Scratch: rr.Zram[0].Mount}},
		sysroot(rr), &SysrootConfig{Config: *c}, &Keeper{Config: *c}, &ramroot.SwitchRoot{Init: rr.Init})
	return p, nil
}

// Commands returns the `trap NAME` command of every storage step and of
// "iscsi sysroot" (arguments are ignored).
func Commands() map[string]plan.Command {
	return plan.StepCommands(append(slices.Clone(StepNames), "iscsi sysroot"), prepare, func(name string, c *manifest.ISCSI, _ []string) (plan.Step, error) {
		if name == "iscsi sysroot" {
			return &SysrootConfig{Config: *c}, nil
		}
		return build(name, c), nil
	})
}

// SetRoot sets the Root prefix of the steps that have one (tests).
func SetRoot(p plan.Plan, root string) {
	ramroot.SetRoot(p, root)
	for _, s := range p {
		switch s := s.(type) {
		case *Login:
			s.Root = root
		case *LVM:
			s.Root = root
		case *Lower:
			s.Root = root
		case *Keeper:
			s.Root = root
		case *SysrootConfig:
			s.Root = root
		case *overlay:
			s.Overlay.Root = root
		}
	}
}

func build(name string, c *manifest.ISCSI) plan.Step {
	switch name {
	case "iscsi login":
		return &Login{Config: *c}
	case "multipath":
		return &Multipath{Config: *c}
	case "luks open":
		return &LUKSOpen{Config: *c}
	case "partitions":
		return &Partitions{Config: *c}
	case "lvm":
		return &LVM{Config: *c}
	case "readonly":
		return &ReadOnly{Config: *c}
	case "lower":
		return &Lower{Config: *c}
	}
	return &plan.Invalid{StepName: name, Err: fmt.Errorf("unknown step")}
}

func prepare(m *manifest.Manifest) (*manifest.ISCSI, error) {
	if m == nil {
		return nil, fmt.Errorf("iscsi: no manifest")
	}
	src := m.ISCSI
	if src == nil {
		src = pushedConfig()
	}
	if src == nil {
		return nil, fmt.Errorf("manifest %s: mode iscsi needs an iscsi section (or: trap iscsi config < iscsi.json)", m.Node)
	}
	c := *src
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", m.Node, err)
	}
	if c.VolumeGroups == nil {
		for _, mt := range mounts(&c) {
			if mt.Device == "lv:system/var" {
				c.VolumeGroups = []string{"system"}
			}
		}
	}
	for _, mt := range mounts(&c) {
		if _, err := mapName(&c, mt.Device); err != nil {
			return nil, fmt.Errorf("manifest %s: %w", m.Node, err)
		}
	}
	return &c, nil
}

// ramrootPart applies the ramroot defaults (zram, overlays, init) to a copy.
func ramrootPart(m *manifest.Manifest) *manifest.Manifest {
	c := *m
	c.Image = nil
	c.Zram = append([]manifest.Zram(nil), m.Zram...)
	if m.Overlays != nil {
		c.Overlays = append([]string{}, m.Overlays...)
	}
	return c.RAMRootDefaults()
}

func sysroot(m *manifest.Manifest) *ramroot.Sysroot {
	s := &ramroot.Sysroot{Node: m.Node, Hostname: m.Hostname, Server: m.Server, Network: m.Network}
	if m.Sysroot != nil {
		s.Sysroot = *m.Sysroot
	}
	return s
}

// overlay is ramroot's overlay step over lower layers the "lower" step
// mounted (ramroot's losetup branch never runs: /run/dt/lower is a mount
// point already); only its description differs.
type overlay struct{ *ramroot.Overlay }

func (o *overlay) String() string {
	s := ""
	for i, p := range o.Overlays {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s (lower %s, upper %s/upper/%s)", path.Join(ramroot.NewRoot, p), path.Join(ramroot.LowerDir, p), o.Scratch, ramroot.OverlayName(p))
	}
	return s
}
