package dhcpd

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	"github.com/insomniacslk/dhcp/iana"
)

func loopNetwork() Network {
	return Network{
		Name: "loop", Subnet: netip.MustParsePrefix("127.0.0.0/24"),
		Server: netip.MustParseAddr("127.0.0.1"), Gateway: netip.MustParseAddr("127.0.0.254"),
		DynamicStart: netip.MustParseAddr("127.0.0.100"), DynamicEnd: netip.MustParseAddr("127.0.0.110"),
		Lease: 10 * time.Minute,
	}
}

// TestServerRelayedDORA runs a full relayed discover/offer/request/ack and a
// release through the UDP server on loopback, with nclient4 as the relay.
func TestServerRelayedDORA(t *testing.T) {
	relay, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatalf("listen relay socket: %v", err)
	}
	t.Cleanup(func() { relay.Close() })
	leases := &MemLeases{}
	srv, err := New(Config{
		Listen:    "127.0.0.1:0",
		Networks:  []Network{loopNetwork()},
		BootURL:   func(n Network) string { return "http://" + n.Server.String() + ":8080/boot.ipxe" },
		Leases:    leases,
		Log:       slog.New(slog.DiscardHandler),
		RelayPort: relay.LocalAddr().(*net.UDPAddr).Port,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve returned %v after cancel, want nil", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Serve did not return after cancel")
		}
	})

	mac := mustMAC("52:54:00:12:34:56")
	srvAddr := srv.Addr().(*net.UDPAddr)
	c, err := nclient4.NewWithConn(relay, mac, nclient4.WithServerAddr(srvAddr),
		nclient4.WithTimeout(time.Second), nclient4.WithRetry(3))
	if err != nil {
		t.Fatalf("nclient4: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	giaddr := net.IPv4(127, 0, 0, 1)
	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	defer rcancel()
	lease, err := c.Request(rctx, dhcpv4.WithRelay(giaddr), dhcpv4.WithOption(dhcpv4.OptClientArch(iana.INTEL_X86PC)),
		dhcpv4.WithGeneric(dhcpv4.OptionClientMachineIdentifier, uuid97))
	if err != nil {
		t.Fatalf("relayed DORA: %v", err)
	}
	ack := lease.ACK
	if got := ack.YourIPAddr.String(); got != "127.0.0.100" {
		t.Errorf("ACK yiaddr = %s, want 127.0.0.100", got)
	}
	if ack.BootFileName != FileBIOS || !ack.ServerIPAddr.Equal(net.IPv4(127, 0, 0, 1)) || !ack.GatewayIPAddr.Equal(giaddr) {
		t.Errorf("ACK file %q siaddr %s giaddr %s, want %q 127.0.0.1 127.0.0.1", ack.BootFileName, ack.ServerIPAddr, ack.GatewayIPAddr, FileBIOS)
	}
	if got := ack.IPAddressLeaseTime(0); got != 10*time.Minute {
		t.Errorf("ACK lease time = %v, want 10m", got)
	}
	if l, ok := leases.Lookup(mac); !ok || l.Addr.String() != "127.0.0.100" {
		t.Errorf("lease store has %v, %v; want 127.0.0.100", l, ok)
	}

	// iPXE asks again: same address, the script URL as file.
	lease2, err := c.Request(rctx, dhcpv4.WithRelay(giaddr), dhcpv4.WithUserClass("iPXE", false))
	if err != nil {
		t.Fatalf("second DORA: %v", err)
	}
	if lease2.ACK.YourIPAddr.String() != "127.0.0.100" || lease2.ACK.BootFileName != "http://127.0.0.1:8080/boot.ipxe" {
		t.Errorf("iPXE ACK = %s %q, want 127.0.0.100 and the boot.ipxe URL", lease2.ACK.YourIPAddr, lease2.ACK.BootFileName)
	}

	rel, err := dhcpv4.NewReleaseFromACK(ack, dhcpv4.WithRelay(giaddr))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := relay.WriteTo(rel.ToBytes(), srvAddr); err != nil {
		t.Fatalf("send release: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ok := leases.Lookup(mac); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lease still held 5s after RELEASE")
		}
		time.Sleep(10 * time.Millisecond)
	}
	st := srv.Stats()
	if st.Received["DISCOVER"] < 2 || st.Received["REQUEST"] < 2 || st.Received["RELEASE"] != 1 ||
		st.Offers < 2 || st.Acks < 2 || st.Releases != 1 || st.Errors != 0 {
		t.Errorf("Stats = %+v, want >=2 discovers/requests/offers/acks, 1 release, no errors", st)
	}
}

func TestServerDestination(t *testing.T) {
	s, err := newServer(Config{Networks: []Network{loopNetwork()}})
	if err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddr
	tests := []struct {
		name string
		d    Decision
		want string
	}{
		{"relayed offer", Decision{Outcome: OutcomeOffer, Request: Request{GIAddr: a("198.18.8.1")}}, "198.18.8.1:67"},
		{"relayed nak", Decision{Outcome: OutcomeNak, Request: Request{GIAddr: a("198.18.8.1"), CIAddr: a("198.18.8.9")}}, "198.18.8.1:67"},
		{"direct new client", Decision{Outcome: OutcomeOffer, Request: Request{GIAddr: a("0.0.0.0"), CIAddr: a("0.0.0.0")}}, "255.255.255.255:68"},
		{"direct renewal", Decision{Outcome: OutcomeAck, Request: Request{CIAddr: a("198.18.0.50")}}, "198.18.0.50:68"},
		{"direct inform", Decision{Outcome: OutcomeInform, Request: Request{CIAddr: a("198.18.0.50")}}, "198.18.0.50:68"},
		{"direct nak is broadcast", Decision{Outcome: OutcomeNak, Request: Request{CIAddr: a("198.18.0.50")}}, "255.255.255.255:68"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.destination(&tt.d).String(); got != tt.want {
				t.Errorf("destination(%s) = %s, want %s", tt.name, got, tt.want)
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	good := loopNetwork()
	tests := []struct {
		name string
		nets []Network
	}{
		{"no networks", nil},
		{"no name", []Network{func() Network { n := good; n.Name = ""; return n }()}},
		{"gateway outside", []Network{func() Network { n := good; n.Gateway = netip.MustParseAddr("10.0.0.1"); return n }()}},
		{"half a pool", []Network{func() Network { n := good; n.DynamicEnd = netip.Addr{}; return n }()}},
		{"pool backwards", []Network{func() Network {
			n := good
			n.DynamicStart, n.DynamicEnd = n.DynamicEnd, n.DynamicStart
			return n
		}()}},
		{"duplicate name", []Network{good, good}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := newServer(Config{Networks: tt.nets}); err == nil {
				t.Errorf("newServer(%s) succeeded, want an error", tt.name)
			}
		})
	}
}

func TestServeStopsOnClosedSocket(t *testing.T) {
	srv, err := New(Config{Listen: "127.0.0.1:0", Networks: []Network{loopNetwork()}, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background()) }()
	time.Sleep(20 * time.Millisecond)
	srv.Close()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, net.ErrClosed) {
			t.Errorf("Serve after Close = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after Close")
	}
}
