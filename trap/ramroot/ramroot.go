// Package ramroot is the stateless-node plan (mode ramroot): fetch the OS
// image into RAM, put the overlay scratch space on zram, build /sysroot
// from overlays of the read-only image (or unpack a tar image into zram),
// write the node's identity into it, and switch_root into the image's init.
//
// Like the Ocean recipe (zram + XFS scratch, overlayfs for / and /var with
// the read-only image as lower and zram as upper), but with the image in
// RAM instead of on iSCSI. The steps, in order:
//
//	image fetch  GET the image into /run/dt/image, SHA-256 checked while streaming
//	             (transport torrent: the trap-torrent helper downloads it from
//	             the swarm and seeds it until switch-root)
//	zram         /sys/block/zramN (comp_algorithm, then disksize), mkfs, mount
//	overlay      losetup + squashfs at /run/dt/lower, overlayfs at /sysroot+P
//	sysroot      hostname, network.env, files, symlinks, units, no .autorelabel
//	switch-root  exec the image's init
//
// Steps use only the plan seams (env.Run, env.Sys) plus the optional Host
// extension; every step has a Root field that prefixes its paths so the
// whole plan can run under a temporary directory in tests.
package ramroot

import (
	"fmt"
	"path"
	"regexp"

	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/plan"
)

// Plan returns the ramroot plan for m (defaults applied to a copy; m is
// not modified).
func Plan(m *manifest.Manifest) (plan.Plan, error) {
	d, err := prepare(m)
	if err != nil {
		return nil, err
	}
	var p plan.Plan
	for _, name := range StepNames {
		p = append(p, build(name, d))
	}
	return p, nil
}

// StepNames are the plan's steps in order; each is also a `trap NAME`
// command.
var StepNames = []string{"image fetch", "zram", "overlay", "sysroot", "switch-root"}

// Commands returns a constructor per step name, for the agent's
// `trap <step>` CLI. When the manifest does not allow a ramroot plan the
// step returned fails with the reason when run.
func Commands() map[string]plan.Command {
	return plan.StepCommands(StepNames, prepare, func(name string, d *manifest.Manifest, _ []string) (plan.Step, error) {
		return build(name, d), nil
	})
}

// SetRoot sets the Root prefix of every ramroot step in p (tests and
// dry runs under a temporary directory).
func SetRoot(p plan.Plan, root string) {
	for _, s := range p {
		switch s := s.(type) {
		case *Fetch:
			s.Root = root
		case *Zram:
			s.Root = root
		case *Overlay:
			s.Root = root
		case *Sysroot:
			s.Root = root
		case *SwitchRoot:
			s.Root = root
		}
	}
}

func build(name string, m *manifest.Manifest) plan.Step {
	switch name {
	case "image fetch":
		return &Fetch{Image: *m.Image}
	case "zram":
		return &Zram{Devices: m.Zram}
	case "overlay":
		return &Overlay{Image: *m.Image, Overlays: m.Overlays, Scratch: scratch(m)}
	case "sysroot":
		s := &Sysroot{Node: m.Node, Hostname: m.Hostname, Server: m.Server, Network: m.Network}
		if m.Sysroot != nil {
			s.Sysroot = *m.Sysroot
		}
		return s
	case "switch-root":
		return &SwitchRoot{Init: m.Init}
	}
	return nil
}

var sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// prepare copies m, applies manifest.RAMRootDefaults and validates what
// the plan needs.
func prepare(m *manifest.Manifest) (*manifest.Manifest, error) {
	if m == nil {
		return nil, fmt.Errorf("ramroot: no manifest")
	}
	c := *m
	if m.Image != nil {
		img := *m.Image
		if img.Torrent != nil {
			t := *img.Torrent
			img.Torrent = &t
		}
		c.Image = &img
	}
	c.Zram = append([]manifest.Zram(nil), m.Zram...)
	if m.Overlays != nil {
		c.Overlays = append([]string{}, m.Overlays...)
	}
	c.RAMRootDefaults()
	if c.Image == nil {
		return nil, fmt.Errorf("manifest %s: mode ramroot needs an image", c.Node)
	}
	img := c.Image
	switch {
	case img.Name == "":
		return nil, fmt.Errorf("manifest %s: image has no name", c.Node)
	case img.URL == "":
		return nil, fmt.Errorf("image %s: no url (and no server to default it from)", img.Name)
	case !sha256RE.MatchString(img.SHA256):
		return nil, fmt.Errorf("image %s: sha256 %q: want 64 lowercase hex digits", img.Name, img.SHA256)
	case img.Transport == manifest.TransportTorrent && (img.Torrent == nil || img.Torrent.URL == ""):
		return nil, fmt.Errorf("image %s: transport torrent without a torrent url", img.Name)
	case img.Transport != manifest.TransportHTTP && img.Transport != manifest.TransportTorrent:
		return nil, fmt.Errorf("image %s: transport %q not supported (http or torrent)", img.Name, img.Transport)
	}
	switch img.Format {
	case manifest.FormatSquashfs, manifest.FormatTar, manifest.FormatTarZstd:
	default:
		return nil, fmt.Errorf("image %s: format %q (want squashfs, tar or tar.zst)", img.Name, img.Format)
	}
	for i, z := range c.Zram {
		if _, err := ParseZramDevice(z.Device); err != nil {
			return nil, fmt.Errorf("zram %d: %w", i, err)
		}
		if _, err := ParseSize(z.Size); err != nil {
			return nil, fmt.Errorf("zram %s: %w", z.Device, err)
		}
		if _, err := MkfsCommand(z.FS, "/dev/x"); err != nil {
			return nil, fmt.Errorf("zram %s: %w", z.Device, err)
		}
		if z.Mount == "" || z.Mount[0] != '/' || path.Clean(z.Mount) == "/" {
			return nil, fmt.Errorf("zram %s: mount %q: want an absolute path other than /", z.Device, z.Mount)
		}
	}
	if img.Format == manifest.FormatSquashfs {
		if len(c.Overlays) == 0 || path.Clean(c.Overlays[0]) != "/" {
			return nil, fmt.Errorf("manifest %s: overlays %q: the first must be \"/\"", c.Node, c.Overlays)
		}
		for _, p := range c.Overlays {
			if p == "" || p[0] != '/' {
				return nil, fmt.Errorf("manifest %s: overlay %q: want an absolute path", c.Node, p)
			}
		}
	}
	if c.Init == "" || c.Init[0] != '/' {
		return nil, fmt.Errorf("manifest %s: init %q: want an absolute path", c.Node, c.Init)
	}
	return &c, nil
}
