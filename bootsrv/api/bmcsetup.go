package api

import (
	"fmt"
	"net/netip"

	"github.com/disklesstrap/disklesstrap/bootsrv/inventory"
	"github.com/disklesstrap/disklesstrap/manifest"
)

// BMC set-up from the trap (setupbmc: yes): the manifest carries the BMC's
// address with the prefix length and gateway of the inventory network it
// falls in (a /24 without a gateway when none does), user slot 2 of LAN
// channel 1, bmc_user, and bmc_password by secret name. The agent pulls
// the password like the other per-boot secrets (pullSecret).
const (
	bmcSetupChannel = 1
	bmcSetupUserID  = 2
)

// bmcSetupFields fills m.BMCSetup, or states in m.Problems what is missing.
func bmcSetupFields(m *manifest.Manifest, c *inventory.Cluster, n *inventory.Node) {
	if inventory.Val(n.Attrs.SetupBMC) != "yes" {
		return
	}
	b, err := bmcSetupOf(c, n)
	if err != nil {
		m.Problems = append(m.Problems, fmt.Sprintf("setupbmc: node %s: %v", n.Name, err))
		return
	}
	m.BMCSetup = b
}

func bmcSetupOf(c *inventory.Cluster, n *inventory.Node) (*manifest.BMCSetup, error) {
	addr, user, pass := inventory.Val(n.Attrs.BMCAddress), inventory.Val(n.Attrs.BMCUser), inventory.Val(n.Attrs.BMCPassword)
	if addr == "" || user == "" || pass == "" {
		return nil, fmt.Errorf("needs bmc_address, bmc_user and bmc_password")
	}
	ap, err := inventory.ParseBMCAddress(addr)
	if err != nil {
		return nil, fmt.Errorf("bmc_address: %w", err)
	}
	b := &manifest.BMCSetup{Address: netip.PrefixFrom(ap.Addr(), 24).String(), Channel: bmcSetupChannel,
		UserID: bmcSetupUserID, User: user, Password: manifest.SecretRef{Name: pass}}
	if c != nil {
		if nw, ok := c.NetworkFor(ap.Addr()); ok {
			b.Address = netip.PrefixFrom(ap.Addr(), nw.Subnet.Bits()).String()
			if nw.Gateway.IsValid() {
				b.Gateway = nw.Gateway.String()
			}
		}
	}
	return b, b.Validate()
}
