package inventory

import (
	"fmt"
	"net/netip"
	"strings"
)

// Checks of the BMC attribute group (power over IPMI). An empty value is
// "unset"; bootsrv's power code names a node whose BMC is not configured.

// checkBMCAddress accepts an IPv4 address, optionally with a UDP port
// (ADDR:PORT; IPMI's default is 623).
func checkBMCAddress(s string) error {
	if s == "" {
		return nil
	}
	if _, err := ParseBMCAddress(s); err != nil {
		return err
	}
	return nil
}

// ParseBMCAddress parses a bmc_address value into an address and port.
func ParseBMCAddress(s string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		if !ap.Addr().Is4() || ap.Port() == 0 {
			return netip.AddrPort{}, fmt.Errorf("BMC address %q: want IPv4 ADDR or ADDR:PORT", s)
		}
		return ap, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() || a.IsUnspecified() || a.IsMulticast() {
		return netip.AddrPort{}, fmt.Errorf("BMC address %q: want IPv4 ADDR or ADDR:PORT", s)
	}
	return netip.AddrPortFrom(a, 623), nil
}

// checkBMCUser accepts an IPMI user name: 1-16 printable ASCII characters
// without spaces (IPMI v2.0 user names are at most 16 bytes).
func checkBMCUser(s string) error {
	if s == "" {
		return nil
	}
	if len(s) > 16 {
		return fmt.Errorf("BMC user %q: at most 16 characters (IPMI limit)", s)
	}
	if strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
		return fmt.Errorf("BMC user %q: want printable ASCII without spaces", s)
	}
	return nil
}
