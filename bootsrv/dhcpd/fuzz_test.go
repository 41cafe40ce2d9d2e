package dhcpd

import (
	"log/slog"
	"net"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
)

// FuzzHandle feeds arbitrary bytes through dhcpv4.FromBytes and the whole
// handler: it must never panic, and any reply must parse back.
func FuzzHandle(f *testing.F) {
	seed := func(mods ...dhcpv4.Modifier) { seedPacket(f, mods...) }
	seed(dhcpv4.WithMessageType(dhcpv4.MessageTypeDiscover), withArch(iana.INTEL_X86PC))
	seed(dhcpv4.WithMessageType(dhcpv4.MessageTypeDiscover), dhcpv4.WithUserClass("iPXE", false), dhcpv4.WithRelay(net.IPv4(127, 0, 0, 1)))
	seed(dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest), withRequested("127.0.0.100"), withServerID("127.0.0.1"))
	seed(dhcpv4.WithMessageType(dhcpv4.MessageTypeRelease), dhcpv4.WithClientIP(net.IPv4(127, 0, 0, 100)))
	seed(dhcpv4.WithMessageType(dhcpv4.MessageTypeInform), dhcpv4.WithClientIP(net.IPv4(127, 0, 0, 5)))
	seed(dhcpv4.WithMessageType(dhcpv4.MessageTypeDecline), withRequested("127.0.0.101"))
	f.Add([]byte{})
	f.Add([]byte{1, 1, 6, 0})
	f.Add(make([]byte, 240))

	s, err := newServer(Config{Networks: []Network{loopNetwork()}, Leases: &MemLeases{}, Log: slog.New(slog.DiscardHandler),
		BootURL: func(Network) string { return "http://127.0.0.1:8080/boot.ipxe" }})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		out, dst, _ := s.handle(b, 0)
		if out == nil {
			return
		}
		if dst == nil {
			t.Fatalf("reply without destination")
		}
		if _, err := dhcpv4.FromBytes(out); err != nil {
			t.Fatalf("reply does not parse: %v", err)
		}
	})
}

// seedPacket adds a packet from macNew with mods to a fuzz corpus.
func seedPacket(f *testing.F, mods ...dhcpv4.Modifier) {
	f.Helper()
	p, err := dhcpv4.New(append([]dhcpv4.Modifier{dhcpv4.WithHwAddr(macNew)}, mods...)...)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(p.ToBytes())
}
