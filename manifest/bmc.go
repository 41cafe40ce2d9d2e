package manifest

import (
	"fmt"
	"net/netip"
)

// BMCSetup is the in-band BMC set-up of a node with setupbmc: yes: the
// BMC's LAN address (with the prefix length of its inventory network),
// gateway, and one administrator account whose password is a secret the
// agent pulls by name (never in the manifest).
type BMCSetup struct {
	Address  string    `json:"address"` // e.g. 198.18.0.104/24
	Gateway  string    `json:"gateway,omitempty"`
	Channel  int       `json:"channel"` // LAN channel
	UserID   int       `json:"user_id"` // user slot
	User     string    `json:"user"`
	Password SecretRef `json:"password"`
}

// Validate checks the fields the agent will send to the BMC.
func (b *BMCSetup) Validate() error {
	p, err := netip.ParsePrefix(b.Address)
	if err != nil || !p.Addr().Is4() {
		return fmt.Errorf("bmc_setup address %q: want IPv4 ADDR/BITS", b.Address)
	}
	if b.Gateway != "" {
		if g, err := netip.ParseAddr(b.Gateway); err != nil || !g.Is4() {
			return fmt.Errorf("bmc_setup gateway %q: want an IPv4 address", b.Gateway)
		}
	}
	if b.Channel < 1 || b.Channel > 15 || b.UserID < 1 || b.UserID > 63 {
		return fmt.Errorf("bmc_setup channel %d / user id %d out of range", b.Channel, b.UserID)
	}
	if b.User == "" || len(b.User) > 16 || b.Password.Name == "" {
		return fmt.Errorf("bmc_setup: user (1-16 bytes) and password secret name are required")
	}
	return nil
}

// PhaseBMCConfigured is the agent's report after the set-up: Data holds
// bmc_mac, bmc_address and bmc_firmware ("address" and "mac" are
// checked by bootsrv as the node's own).
const (
	PhaseBMCConfigured = "bmc-configured"
	PhaseBMCFailed     = "bmc-failed"
)
