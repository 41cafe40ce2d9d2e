package dhcpd

import (
	"log/slog"
	"net/netip"
	"strings"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
)

func TestTieNetwork(t *testing.T) {
	nets := testNetworks()
	nets[1].Interface = "br1" // far: named
	addr := netip.MustParseAddr
	tests := []struct {
		name, link string
		addrs      []netip.Addr
		want       string
	}{
		{"named interface", "br1", nil, "far"},
		{"named interface wins over its addresses", "br1", []netip.Addr{addr("198.18.0.1")}, "far"},
		{"address in a subnet", "br0", []netip.Addr{addr("198.18.0.1")}, "lab"},
		{"address in a named network's subnet does not tie", "eth9", []netip.Addr{addr("198.18.8.5")}, ""},
		{"uplink address in no subnet", "eth0", []netip.Addr{addr("198.19.200.1")}, ""},
		{"no address", "eth0", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tieNetwork(nets, tt.link, tt.addrs); got != tt.want {
				t.Errorf("tieNetwork(%s, %v) = %q, want %q", tt.link, tt.addrs, got, tt.want)
			}
		})
	}
}

// TestDecideLoneNetworkNoFallback: with a single configured network, a
// DISCOVER from an interface tied to no network ("") used to get that
// network's offer and boot file (rogue DHCP on an uplink); it gets nothing.
func TestDecideLoneNetworkNoFallback(t *testing.T) {
	env, _ := testEnv(&testNow)
	env.Networks = env.Networks[:1]
	req := packet(t, dhcpv4.MessageTypeDiscover, macBIOS, withArch(iana.INTEL_X86PC))
	reply, d, err := env.Decide(req, "")
	if err != nil || reply != nil || d.Outcome != OutcomeIgnore {
		t.Fatalf("Decide from an untied interface = %v, %v (%s), %v; want no reply", reply, d.Outcome, d.Reason, err)
	}
	if reply, d, _ := env.Decide(req, "lab"); reply == nil || d.Outcome != OutcomeOffer {
		t.Fatalf("Decide from lab's interface = %v (%s), want an offer", d.Outcome, d.Reason)
	}
}

// TestNewRefusesUntiedNetworks: DHCP on, and no interface of this host ties
// to a network: New says so instead of serving nobody (or everybody).
func TestNewRefusesUntiedNetworks(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    Network
	}{
		{"subnet on no interface", Network{Name: "far", Subnet: netip.MustParsePrefix("198.18.77.0/24"), Server: netip.MustParseAddr("198.18.77.1")}},
		{"named interface missing", Network{Name: "far", Interface: "dtnosuch0", Subnet: netip.MustParsePrefix("127.0.0.0/24"), Server: netip.MustParseAddr("127.0.0.1")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := New(Config{Listen: "127.0.0.1:0", Networks: []Network{tc.n}, Log: slog.New(slog.DiscardHandler)})
			if err == nil {
				srv.Close()
				t.Fatal("New served a network tied to no interface")
			}
			for _, want := range []string{"no network is tied", "far (", "interface:"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
	// The same network tied by name to lo is fine.
	n := Network{Name: "loop", Interface: "lo", Subnet: netip.MustParsePrefix("198.18.77.0/24"), Server: netip.MustParseAddr("198.18.77.1")}
	srv, err := New(Config{Listen: "127.0.0.1:0", Networks: []Network{n}, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("New with interface lo: %v", err)
	}
	srv.Close()
}
