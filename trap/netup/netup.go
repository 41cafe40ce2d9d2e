// Package netup brings up the boot interface: it finds the link whose MAC
// is BOOTIF (or, without BOOTIF, the first non-loopback link with carrier),
// sets it up, runs DHCP on it, then adds the leased address and the
// default route. Loopback is set up too.
//
// All host changes go through the Ops interface: the agent passes Netlink()
// (vishvananda/netlink + insomniacslk/dhcp nclient4), unit tests pass a
// recorder that writes the calls as text, so the decision logic is tested
// without root. The real Ops is proven in the QEMU lab.
package netup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"
)

// Link is what netup needs to know about a network link.
type Link struct {
	Name     string
	MAC      net.HardwareAddr
	Loopback bool
	Up       bool // administratively up
	Carrier  bool // lower layer up
}

// Lease is the result of a DHCP exchange.
type Lease struct {
	Addr    netip.Prefix // address with its prefix length
	Gateway netip.Addr   // invalid when the server sent no router
	DNS     []netip.Addr
	Server  netip.Addr // DHCP server identifier
	Domain  string
}

// Ops are the host operations netup performs.
type Ops interface {
	Links() ([]Link, error)
	SetUp(name string) error
	DHCP(ctx context.Context, name string, mac net.HardwareAddr) (*Lease, error)
	AddAddr(name string, addr netip.Prefix) error
	AddDefaultRoute(name string, gw netip.Addr) error
}

// Config tunes Up. Zero values mean the defaults.
type Config struct {
	// MAC selects the boot interface (from BOOTIF). Nil: first link with
	// carrier.
	MAC net.HardwareAddr
	// LinkWait is how long to wait for the link to appear (and, without a
	// MAC, to get carrier). Default 30s.
	LinkWait time.Duration
	// Poll is the link polling interval. Default 250ms.
	Poll time.Duration
	// DHCPAttempts is how many DHCP exchanges to try. Default 8.
	DHCPAttempts int
	// Backoff is the first delay between DHCP attempts, doubled each time
	// up to MaxBackoff. Defaults 1s and 10s.
	Backoff, MaxBackoff time.Duration
	Log                 *slog.Logger
	// Sleep waits between polls/attempts; tests replace it. Default: a
	// timer honoring ctx.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Result is the configured boot interface.
type Result struct {
	Interface string
	MAC       net.HardwareAddr
	Lease     Lease
	// LinkUp is when the link was found and set up (DHCP started).
	LinkUp time.Time
}

func (c *Config) defaults() {
	if c.LinkWait <= 0 {
		c.LinkWait = 30 * time.Second
	}
	if c.Poll <= 0 {
		c.Poll = 250 * time.Millisecond
	}
	if c.DHCPAttempts <= 0 {
		c.DHCPAttempts = 8
	}
	if c.Backoff <= 0 {
		c.Backoff = time.Second
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 10 * time.Second
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.Sleep == nil {
		c.Sleep = sleep
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Up configures the boot interface and returns what it did.
func Up(ctx context.Context, ops Ops, cfg Config) (*Result, error) {
	cfg.defaults()
	link, err := findLink(ctx, ops, &cfg)
	if err != nil {
		return nil, err
	}
	cfg.Log.Info("boot interface", "link", link.Name, "mac", link.MAC.String())
	if !link.Up {
		if err := ops.SetUp(link.Name); err != nil {
			return nil, fmt.Errorf("set link %s up: %w", link.Name, err)
		}
	}
	linkUp := time.Now()
	lease, err := dhcp(ctx, ops, &cfg, link)
	if err != nil {
		return nil, err
	}
	if err := ops.AddAddr(link.Name, lease.Addr); err != nil && !isExist(err) {
		return nil, fmt.Errorf("add address %s to %s: %w", lease.Addr, link.Name, err)
	}
	if lease.Gateway.IsValid() {
		if err := ops.AddDefaultRoute(link.Name, lease.Gateway); err != nil && !isExist(err) {
			return nil, fmt.Errorf("add default route via %s on %s: %w", lease.Gateway, link.Name, err)
		}
	}
	return &Result{Interface: link.Name, MAC: link.MAC, Lease: *lease, LinkUp: linkUp}, nil
}

// findLink sets loopback up and waits for the boot link.
func findLink(ctx context.Context, ops Ops, cfg *Config) (Link, error) {
	deadline := time.Now().Add(cfg.LinkWait)
	loUp := false
	raised := map[string]bool{}
	for polls := 0; ; polls++ {
		links, err := ops.Links()
		if err != nil {
			return Link{}, fmt.Errorf("list links: %w", err)
		}
		for _, l := range links {
			if l.Loopback && !l.Up && !loUp {
				if err := ops.SetUp(l.Name); err != nil {
					cfg.Log.Warn("loopback up", "link", l.Name, "err", err)
				}
				loUp = true
			}
		}
		if cfg.MAC != nil {
			for _, l := range links {
				if !l.Loopback && bytes.Equal(l.MAC, cfg.MAC) {
					return l, nil
				}
			}
		} else {
			for _, l := range links {
				if !l.Loopback && l.Up && l.Carrier {
					return l, nil
				}
			}
			// Carrier needs the link administratively up: raise every
			// candidate once, then keep polling.
			for _, l := range links {
				if !l.Loopback && !l.Up && !raised[l.Name] {
					raised[l.Name] = true
					if err := ops.SetUp(l.Name); err != nil {
						cfg.Log.Warn("set link up", "link", l.Name, "err", err)
					}
				}
			}
		}
		if polls > 0 && !time.Now().Before(deadline) {
			if cfg.MAC != nil {
				return Link{}, fmt.Errorf("no link with MAC %s after %s (links: %s)", cfg.MAC, cfg.LinkWait, names(links))
			}
			return Link{}, fmt.Errorf("no link with carrier after %s (links: %s)", cfg.LinkWait, names(links))
		}
		if err := cfg.Sleep(ctx, cfg.Poll); err != nil {
			return Link{}, fmt.Errorf("wait for boot link: %w", err)
		}
	}
}

func dhcp(ctx context.Context, ops Ops, cfg *Config, link Link) (*Lease, error) {
	delay := cfg.Backoff
	var last error
	n := 0
	for i := 1; i <= cfg.DHCPAttempts; i++ {
		lease, err := ops.DHCP(ctx, link.Name, link.MAC)
		if err == nil && !lease.Addr.IsValid() {
			err = errors.New("lease without an address")
		}
		if err == nil {
			cfg.Log.Info("dhcp lease", "link", link.Name, "addr", lease.Addr, "gateway", lease.Gateway, "server", lease.Server)
			return lease, nil
		}
		cfg.Log.Warn("dhcp failed", "link", link.Name, "attempt", i, "err", err)
		last, n = err, i
		if ctx.Err() != nil || i == cfg.DHCPAttempts {
			break
		}
		if err := cfg.Sleep(ctx, delay); err != nil {
			break
		}
		delay = min(delay*2, cfg.MaxBackoff)
	}
	return nil, fmt.Errorf("dhcp on %s (%s): %d attempts, last error: %w", link.Name, link.MAC, n, last)
}

func names(links []Link) string {
	var b bytes.Buffer
	for i, l := range links {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s=%s", l.Name, l.MAC)
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}
