package netup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/disklesstrap/disklesstrap/internal/golden"
)

// fake records every call as a line of text. Links come from a script:
// the i-th Links call returns links[min(i, len-1)].
type fake struct {
	log      strings.Builder
	links    [][]Link
	calls    int
	dhcpErrs []error // consumed one per DHCP call before succeeding
	lease    Lease
}

func (f *fake) Links() ([]Link, error) {
	i := min(f.calls, len(f.links)-1)
	f.calls++
	fmt.Fprintf(&f.log, "links -> %d\n", len(f.links[i]))
	return f.links[i], nil
}

func (f *fake) SetUp(name string) error {
	fmt.Fprintf(&f.log, "up %s\n", name)
	return nil
}

func (f *fake) DHCP(_ context.Context, name string, mac net.HardwareAddr) (*Lease, error) {
	fmt.Fprintf(&f.log, "dhcp %s %s\n", name, mac)
	if len(f.dhcpErrs) > 0 {
		err := f.dhcpErrs[0]
		f.dhcpErrs = f.dhcpErrs[1:]
		return nil, err
	}
	l := f.lease
	return &l, nil
}

func (f *fake) AddAddr(name string, p netip.Prefix) error {
	fmt.Fprintf(&f.log, "addr %s %s\n", name, p)
	return nil
}

func (f *fake) AddDefaultRoute(name string, gw netip.Addr) error {
	fmt.Fprintf(&f.log, "route default via %s dev %s\n", gw, name)
	return nil
}

func mac(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

var (
	lo    = Link{Name: "lo", Loopback: true}
	eth0  = Link{Name: "eth0", MAC: mac("52:54:00:00:00:01")}
	eth1  = Link{Name: "eth1", MAC: mac("52:54:00:00:00:02")}
	lease = Lease{Addr: netip.MustParsePrefix("198.18.0.11/24"), Gateway: netip.MustParseAddr("198.18.0.1"), Server: netip.MustParseAddr("198.18.0.1")}
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func withCarrier(l Link) Link { l.Up, l.Carrier = true, true; return l }

func TestUp(t *testing.T) {
	tests := []struct {
		name    string
		mac     net.HardwareAddr
		links   [][]Link
		errs    []error
		lease   Lease
		wantErr string
	}{
		{name: "bootif", mac: eth1.MAC, links: [][]Link{{lo, eth0, eth1}}, lease: lease},
		{name: "bootif-appears-late", mac: eth1.MAC, links: [][]Link{{lo}, {lo, eth0}, {lo, eth0, eth1}}, lease: lease},
		{name: "bootif-missing", mac: mac("52:54:00:00:00:99"), links: [][]Link{{lo, eth0}}, wantErr: "no link with MAC 52:54:00:00:00:99"},
		{name: "carrier", links: [][]Link{{lo, eth0, eth1}, {lo, eth0, withCarrier(eth1)}}, lease: lease},
		{name: "no-carrier", links: [][]Link{{lo, eth0}}, wantErr: "no link with carrier"},
		{name: "dhcp-retries", mac: eth0.MAC, links: [][]Link{{lo, eth0}}, errs: []error{errors.New("timeout"), errors.New("nak")}, lease: lease},
		{name: "dhcp-gives-up", mac: eth0.MAC, links: [][]Link{{lo, eth0}}, errs: []error{errors.New("t1"), errors.New("t2"), errors.New("t3"), errors.New("t4")}, wantErr: "3 attempts"},
		{name: "no-gateway", mac: eth0.MAC, links: [][]Link{{lo, eth0}}, lease: Lease{Addr: netip.MustParsePrefix("198.18.0.12/24")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fake{links: tt.links, dhcpErrs: tt.errs, lease: tt.lease}
			wait := time.Hour // the fake Sleep returns at once: links appear by poll count
			if strings.HasPrefix(tt.wantErr, "no link") {
				wait = time.Nanosecond
			}
			var slept []time.Duration
			res, err := Up(context.Background(), f, Config{
				MAC: tt.mac, LinkWait: wait, DHCPAttempts: 3, Log: quiet,
				Backoff: time.Second, MaxBackoff: 2 * time.Second,
				Sleep: func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil },
			})
			fmt.Fprintf(&f.log, "sleeps %v\n", slept)
			if err != nil {
				fmt.Fprintf(&f.log, "error: %v\n", err)
			} else {
				fmt.Fprintf(&f.log, "result %s %s %s\n", res.Interface, res.MAC, res.Lease.Addr)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Up() error = %v, want containing %q", err, tt.wantErr)
			}
			if tt.wantErr == "" && err != nil {
				t.Errorf("Up() error = %v, want nil", err)
			}
			golden.Check(t, filepath.Join("testdata", tt.name+".golden"), f.log.String())
		})
	}
}

// TestUpWaits checks that link polling really waits up to LinkWait.
func TestUpWaits(t *testing.T) {
	f := &fake{links: [][]Link{{lo}, {lo}, {lo}, {lo, eth0}}, lease: lease}
	start := time.Now()
	res, err := Up(context.Background(), f, Config{MAC: eth0.MAC, LinkWait: 5 * time.Second, Poll: 10 * time.Millisecond, Log: quiet})
	if err != nil || res.Interface != "eth0" {
		t.Fatalf("Up() = %v, %v, want eth0", res, err)
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("Up() returned after %v, want >= 3 polls of 10ms", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Up(ctx, &fake{links: [][]Link{{lo}}}, Config{MAC: eth0.MAC, LinkWait: time.Hour, Log: quiet}); !errors.Is(err, context.Canceled) {
		t.Errorf("Up(cancelled) error = %v, want context.Canceled", err)
	}
}

func TestLeaseFromACK(t *testing.T) {
	ack, err := dhcpv4.New(
		dhcpv4.WithYourIP(net.IPv4(198, 18, 0, 11)),
		dhcpv4.WithNetmask(net.CIDRMask(23, 32)),
		dhcpv4.WithRouter(net.IPv4(198, 18, 0, 1)),
		dhcpv4.WithDNS(net.IPv4(198, 18, 0, 2)),
		dhcpv4.WithServerIP(net.IPv4(198, 18, 0, 1)),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.IPv4(198, 18, 0, 1))),
	)
	if err != nil {
		t.Fatal(err)
	}
	l, err := leaseFromACK(ack)
	if err != nil {
		t.Fatalf("leaseFromACK() error = %v", err)
	}
	got := fmt.Sprintf("%s gw=%s dns=%v server=%s", l.Addr, l.Gateway, l.DNS, l.Server)
	want := "198.18.0.11/23 gw=198.18.0.1 dns=[198.18.0.2] server=198.18.0.1"
	if got != want {
		t.Errorf("leaseFromACK() = %s, want %s", got, want)
	}
	empty, _ := dhcpv4.New()
	if _, err := leaseFromACK(empty); err == nil {
		t.Errorf("leaseFromACK(no yiaddr) error = nil, want error")
	}
}
