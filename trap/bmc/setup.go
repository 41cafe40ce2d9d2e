package bmc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// Config is the BMC set-up the inventory asks for (setupbmc: yes).
type Config struct {
	Channel  byte         // LAN channel (1 on most BMCs and ipmi_sim)
	Addr     netip.Prefix // bmc_address with the network's prefix length
	Gateway  netip.Addr   // invalid: left as it is
	UserID   byte         // user slot (2 is the usual first admin slot)
	User     string
	Password []byte // from the node secret release; never printed
}

// Step is one printable change of the set-up.
type Step struct {
	Desc string
	Run  func(ctx context.Context, d Device) error
}

func (s Step) String() string { return s.Desc }

// Steps returns the set-up as printable steps, in order: the LAN
// parameters inside a set-in-progress bracket, then the user. A bad
// config is an error naming the field.
func Steps(c Config) ([]Step, error) {
	if !c.Addr.IsValid() || !c.Addr.Addr().Is4() {
		return nil, fmt.Errorf("bmc_address: %q is not an IPv4 address", c.Addr)
	}
	if c.Gateway.IsValid() && !c.Gateway.Is4() {
		return nil, fmt.Errorf("bmc gateway: %s is not an IPv4 address", c.Gateway)
	}
	if c.User == "" || len(c.User) > 16 || strings.ContainsAny(c.User, "\x00") {
		return nil, fmt.Errorf("bmc_user: %q must be 1-16 bytes", c.User)
	}
	if len(c.Password) == 0 || len(c.Password) > 20 {
		return nil, fmt.Errorf("bmc_password: the secret must be 1-20 bytes, got %d", len(c.Password))
	}
	if c.UserID < 1 || c.UserID > 63 {
		return nil, fmt.Errorf("bmc user slot: %d not in 1-63", c.UserID)
	}
	ch := c.Channel
	a4 := c.Addr.Addr().As4()
	mask := net.CIDRMask(c.Addr.Bits(), 32)
	lan := func(desc string, param byte, v []byte) Step {
		return Step{Desc: fmt.Sprintf("lan %d %s", ch, desc), Run: func(ctx context.Context, d Device) error {
			return SetLAN(ctx, d, ch, param, v)
		}}
	}
	steps := []Step{
		lan("set-in-progress", lanSetInProgress, []byte{1}),
		lan("ip source static", lanIPSource, []byte{ipSourceStatic}),
		lan("ip address "+c.Addr.Addr().String(), lanIPAddr, a4[:]),
		lan("netmask "+net.IP(mask).String(), lanNetmask, []byte(mask)),
	}
	if c.Gateway.IsValid() {
		g := c.Gateway.As4()
		steps = append(steps, lan("gateway "+c.Gateway.String(), lanGateway, g[:]))
	}
	steps = append(steps,
		// Commit write applies the parameters (ipmi_sim discards them on
		// a set-complete without it); it is optional in the spec, so a
		// BMC that refuses it (completion code) applies them as set.
		Step{Desc: fmt.Sprintf("lan %d commit-write", ch), Run: func(ctx context.Context, d Device) error {
			err := SetLAN(ctx, d, ch, lanSetInProgress, []byte{2})
			var ce *CompletionError
			if errors.As(err, &ce) {
				return nil
			}
			return err
		}},
		lan("set-complete", lanSetInProgress, []byte{0}),
		Step{Desc: fmt.Sprintf("user %d name %s", c.UserID, c.User), Run: func(ctx context.Context, d Device) error {
			return SetUserName(ctx, d, c.UserID, c.User)
		}},
		Step{Desc: fmt.Sprintf("user %d password (secret, %d bytes)", c.UserID, len(c.Password)), Run: func(ctx context.Context, d Device) error {
			return SetUserPassword(ctx, d, c.UserID, c.Password)
		}},
		Step{Desc: fmt.Sprintf("user %d access channel %d admin", c.UserID, ch), Run: func(ctx context.Context, d Device) error {
			return SetUserAccess(ctx, d, ch, c.UserID)
		}},
		Step{Desc: fmt.Sprintf("user %d enable", c.UserID), Run: func(ctx context.Context, d Device) error {
			return EnableUser(ctx, d, c.UserID)
		}},
	)
	return steps, nil
}

// Info is what the node reports about its BMC after the set-up.
type Info struct {
	MAC      string `json:"mac"`
	Address  string `json:"address"`
	Firmware string `json:"firmware"`
}

// Setup runs the steps in order, then reads back the BMC's MAC, address
// and firmware. It stops at the first failing step, naming it.
func Setup(ctx context.Context, d Device, c Config) (Info, error) {
	steps, err := Steps(c)
	if err != nil {
		return Info{}, err
	}
	for _, s := range steps {
		if err := s.Run(ctx, d); err != nil {
			return Info{}, fmt.Errorf("bmc setup: %s: %w", s, err)
		}
	}
	return Read(ctx, d, c.Channel)
}

// Read returns the BMC's MAC, LAN address and firmware revision.
func Read(ctx context.Context, d Device, ch byte) (Info, error) {
	id, err := GetDeviceID(ctx, d)
	if err != nil {
		return Info{}, err
	}
	mac, err := GetMAC(ctx, d, ch)
	if err != nil {
		return Info{}, err
	}
	ip, err := GetIP(ctx, d, ch)
	if err != nil {
		return Info{}, err
	}
	return Info{MAC: mac.String(), Address: ip.String(), Firmware: id.Firmware}, nil
}
