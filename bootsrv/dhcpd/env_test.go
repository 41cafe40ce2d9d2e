package dhcpd

import (
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
)

// The test networks: lab is direct with a pool, far is behind a relay,
// fixed has no pool.
func testNetworks() []Network {
	return []Network{
		{
			Name: "lab", Subnet: netip.MustParsePrefix("198.18.0.0/24"),
			Server: netip.MustParseAddr("198.18.0.1"), Gateway: netip.MustParseAddr("198.18.0.254"),
			DynamicStart: netip.MustParseAddr("198.18.0.100"), DynamicEnd: netip.MustParseAddr("198.18.0.109"),
			Lease: time.Hour,
		},
		{
			Name: "far", Subnet: netip.MustParsePrefix("198.18.8.0/24"),
			Server: netip.MustParseAddr("198.18.0.1"), Gateway: netip.MustParseAddr("198.18.8.1"),
			DynamicStart: netip.MustParseAddr("198.18.8.100"), DynamicEnd: netip.MustParseAddr("198.18.8.199"),
		},
		{
			Name: "fixed", Subnet: netip.MustParsePrefix("198.18.4.0/24"),
			Server: netip.MustParseAddr("198.18.4.1"),
		},
	}
}

var (
	macBIOS  = mustMAC("52:54:00:00:00:01") // reserved 198.18.0.11 in lab
	macFar   = mustMAC("52:54:00:00:00:02") // reserved 198.18.8.12 in far
	macAny   = mustMAC("52:54:00:00:00:03") // reserved 198.18.0.13, network unnamed
	macNew   = mustMAC("52:54:00:00:00:99") // unknown
	macOther = mustMAC("52:54:00:00:00:98") // unknown
)

var reservations = map[string]struct {
	ip      netip.Addr
	network string
}{
	macBIOS.String(): {netip.MustParseAddr("198.18.0.11"), "lab"},
	macFar.String():  {netip.MustParseAddr("198.18.8.12"), "far"},
	macAny.String():  {netip.MustParseAddr("198.18.0.13"), ""},
	// An address inside lab's pool: the pool must skip it.
	"52:54:00:00:00:04": {netip.MustParseAddr("198.18.0.100"), "lab"},
}

func mustMAC(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

// testEnv returns an Env over testNetworks with the reservations above and
// fresh MemLeases on a fixed clock.
func testEnv(now *time.Time) (*Env, *MemLeases) {
	ml := &MemLeases{Now: func() time.Time { return *now }}
	env := &Env{
		Networks: testNetworks(),
		BootURL:  func(n Network) string { return "http://" + n.Server.String() + ":8080/boot.ipxe" },
		Reserve: func(mac net.HardwareAddr) (netip.Addr, string, bool) {
			r, ok := reservations[mac.String()]
			return r.ip, r.network, ok
		},
		Reserved: func(a netip.Addr) bool {
			for _, r := range reservations {
				if r.ip == a {
					return true
				}
			}
			return false
		},
		Leases: ml,
		Log:    slog.New(slog.DiscardHandler),
	}
	return env, ml
}

// packet builds a client request.
func packet(t testing.TB, typ dhcpv4.MessageType, mac net.HardwareAddr, mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
	t.Helper()
	all := append([]dhcpv4.Modifier{dhcpv4.WithHwAddr(mac), dhcpv4.WithMessageType(typ), dhcpv4.WithBroadcast(true)}, mods...)
	p, err := dhcpv4.New(all...)
	if err != nil {
		t.Fatalf("dhcpv4.New: %v", err)
	}
	return p
}

func withArch(a iana.Arch) dhcpv4.Modifier { return dhcpv4.WithOption(dhcpv4.OptClientArch(a)) }

func withRequested(a string) dhcpv4.Modifier {
	return dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.ParseIP(a)))
}

func withServerID(a string) dhcpv4.Modifier {
	return dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.ParseIP(a)))
}
