package labcluster

import (
	"context"
	"fmt"
	"strings"

	"github.com/disklesstrap/disklesstrap/initrd"
	"github.com/disklesstrap/disklesstrap/tools/lab"
)

// DefaultBridges are the two lab networks of a multipath cluster:
// br0 (198.18.0.0/24, boot) and br1 (198.19.0.0/24, second path).
var DefaultBridges = []lab.Bridge{lab.DefaultBridge, lab.SecondBridge}

// bridges is Options.Bridges, or DefaultBridges when a node has a second
// NIC, or nil (the lab's default).
func (o Options) bridges() []lab.Bridge {
	if o.Bridges != nil {
		return o.Bridges
	}
	for _, n := range o.Nodes {
		if n.MAC2 != "" {
			return DefaultBridges
		}
	}
	return nil
}

// macs are the node's NICs in bridge order.
func (n Node) macs() []string {
	if n.MAC2 == "" {
		return []string{n.MAC}
	}
	return []string{n.MAC, n.MAC2}
}

// extraNetworks renders inventory networks lab2, lab3... for the bridges
// after the first (no bootsrv interface: bootsrv serves DHCP on br0 only).
func extraNetworks(bridges []lab.Bridge) string {
	var b strings.Builder
	for i, br := range bridges {
		if i == 0 {
			continue
		}
		fmt.Fprintf(&b, "  - name: lab%d\n    subnet: %s\n    server: %s\n", i+1, br.Addr.Masked(), br.Addr.Addr())
	}
	return b.String()
}

// secondInterface renders the node's net1 inventory entry ("" without MAC2).
func secondInterface(n Node) string {
	if n.MAC2 == "" {
		return ""
	}
	return fmt.Sprintf("      - name: net1\n        network: lab2\n        mac: %q\n        ip: %s\n", n.MAC2, n.IP2)
}

// NodeIP2 returns the inventory address of a node's second interface.
func (c *Cluster) NodeIP2(name string) string {
	for _, n := range c.opts.Nodes {
		if n.Name == name {
			return n.IP2
		}
	}
	return ""
}

// ISCSIModules and ISCSIHostBinaries are the initramfs additions of mode
// iscsi (initrd's, as trapctl initrd build --iscsi adds them).
var (
	ISCSIModules      = initrd.ISCSIModules
	ISCSIHostBinaries = initrd.ISCSIHostBinaries
)

// InitrdExtra is what BuildInitrdExtra adds to the lab's trap initramfs.
type InitrdExtra struct {
	Modules      []string // after initrd.DefaultModules
	HostBinaries []string // after initrd.DefaultHostBinaries
	Helpers      []string // initrd.Config.Helpers
	Files        []initrd.File
}

// BuildInitrdExtra builds a trap initramfs like BuildInitrd with extra
// modules, host binaries and helpers, leaving the defaults (and so the
// other lab tests' image) alone. ISCSIModules and ISCSIHostBinaries make
// the iSCSI test's image.
func BuildInitrdExtra(ctx context.Context, out string, x InitrdExtra) (string, error) {
	k, err := FindKernel()
	if err != nil {
		return "", err
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	res, err := initrd.Build(ctx, initrd.Config{
		ModuleDir:     root,
		ModulesRoot:   k.ModulesRoot,
		KernelVersion: k.Version,
		Modules:       append(append([]string{}, initrd.DefaultModules...), x.Modules...),
		OnDemand:      initrd.BMCModules,
		HostBinaries:  append(append([]string{}, initrd.DefaultHostBinaries...), x.HostBinaries...),
		Helpers:       x.Helpers,
		Files:         x.Files,
		Output:        out,
	})
	if err != nil {
		return "", fmt.Errorf("build trap initramfs: %w", err)
	}
	return res.Path, nil
}
