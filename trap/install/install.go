// Package install is the diskful plan (mode install), after Luna's
// partscript/postscript and Warewulf's disk provisioning: choose the disk
// by a stable selector, partition it (default GPT layout, or the node's
// partscript), copy the OS image onto it, write fstab by UUID and the
// node's identity, install grub for BIOS and UEFI through a chroot, run
// the postscript, report install-done (bootsrv switches the node to mode
// local) and reboot from the disk. The steps, in order, each a `trap NAME`
// command:
//
//	install disk        pick the disk by the rule and print why
//	install partition   refuse a used disk unless wipe; sgdisk + mkfs, or the partscript; mount at /sysroot
//	image fetch         ramroot's: GET (or swarm) into /run/dt/image, sha256 checked
//	install image       copy the image onto /sysroot
//	install fstab       /sysroot/etc/fstab by UUID
//	sysroot             ramroot's: hostname, network.env, files, units
//	install bootloader  grub-install in a chroot (BIOS + UEFI), grub.cfg
//	install postscript  the node's postscript
//	install done        unmount, report install-done
//	reboot              once bootsrv says mode local
package install

import (
	"fmt"
	"slices"

	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/plan"
	"github.com/disklesstrap/disklesstrap/trap/ramroot"
)

// StepNames are the plan's steps in order.
var StepNames = []string{"install disk", "install partition", "image fetch", "install image", "install fstab",
	"sysroot", "install bootloader", "install postscript", "install done", "reboot"}

// Plan returns the install plan for m.
func Plan(m *manifest.Manifest) (plan.Plan, error) {
	c, sel, err := prepare(m)
	if err != nil {
		return nil, err
	}
	var p plan.Plan
	for _, name := range StepNames {
		p = append(p, build(name, c, sel, c.Install.Wipe))
	}
	return p, nil
}

// Commands returns the install-only steps as `trap NAME` commands (image
// fetch and sysroot are ramroot's). `trap install partition --wipe` wipes
// a used disk whatever install_wipe says.
func Commands() map[string]plan.Command {
	names := slices.DeleteFunc(slices.Clone(StepNames), func(n string) bool {
		return n == "image fetch" || n == "sysroot" || n == "reboot"
	})
	type config struct {
		m   *manifest.Manifest
		sel manifest.DiskSelector
	}
	prep := func(m *manifest.Manifest) (config, error) {
		c, sel, err := prepare(m)
		return config{c, sel}, err
	}
	return plan.StepCommands(names, prep, func(name string, c config, args []string) (plan.Step, error) {
		wipe := false
		for _, a := range args {
			switch {
			case a == "--wipe" && name == "install partition":
				wipe = true
			default:
				return nil, fmt.Errorf("unknown argument %q (install partition takes --wipe)", a)
			}
		}
		return build(name, c.m, c.sel, wipe || c.m.Install.Wipe), nil
	})
}

func build(name string, m *manifest.Manifest, sel manifest.DiskSelector, wipe bool) plan.Step {
	in := m.Install
	switch name {
	case "install disk":
		return &DiskStep{Selector: sel}
	case "install partition":
		return &Partition{Selector: sel, Wipe: wipe, Partscript: in.Partscript, Node: m.Node}
	case "image fetch":
		return &ramroot.Fetch{Image: *m.Image}
	case "install image":
		return &Unpack{Image: *m.Image}
	case "install fstab":
		return &Fstab{}
	case "sysroot":
		s := &ramroot.Sysroot{Node: m.Node, Hostname: m.Hostname, Server: m.Server, Network: m.Network}
		if m.Sysroot != nil {
			s.Sysroot = *m.Sysroot
		}
		return s
	case "install bootloader":
		return &Bootloader{Kind: in.Bootloader, Selector: sel, Cmdline: in.Cmdline}
	case "install postscript":
		return &Postscript{Script: in.Postscript, Selector: sel, Node: m.Node}
	case "install done":
		return &Done{Selector: sel, Image: *m.Image}
	case "reboot":
		return &Reboot{Server: m.Server, Node: m.Node}
	}
	return &plan.Invalid{StepName: name, Err: fmt.Errorf("unknown step")}
}

// prepare copies m with the image defaults (ramroot's) and validates the
// install section.
func prepare(m *manifest.Manifest) (*manifest.Manifest, manifest.DiskSelector, error) {
	var sel manifest.DiskSelector
	if m == nil {
		return nil, sel, fmt.Errorf("install: no manifest")
	}
	if m.Install == nil {
		return nil, sel, fmt.Errorf("manifest %s: mode install needs an install section (install_disk)", m.Node)
	}
	c := *m
	in := *m.Install
	c.Install = &in
	if m.Image == nil {
		return nil, sel, fmt.Errorf("manifest %s: mode install needs an image", m.Node)
	}
	img := *m.Image
	c.Image = &img
	(&manifest.Manifest{Server: c.Server, Image: c.Image}).RAMRootDefaults()
	sel, err := manifest.ParseDiskSelector(in.Disk)
	if err != nil {
		return nil, sel, fmt.Errorf("manifest %s: install disk: %w", m.Node, err)
	}
	if in.Bootloader == "" {
		in.Bootloader = manifest.BootloaderGrub
	}
	if in.Bootloader != manifest.BootloaderGrub && in.Bootloader != manifest.BootloaderNone {
		return nil, sel, fmt.Errorf("manifest %s: bootloader %q: want grub or none", m.Node, in.Bootloader)
	}
	switch img.Format {
	case manifest.FormatSquashfs, manifest.FormatTar, manifest.FormatTarZstd:
	default:
		return nil, sel, fmt.Errorf("image %s: format %q (want squashfs, tar or tar.zst)", img.Name, img.Format)
	}
	return &c, sel, nil
}
