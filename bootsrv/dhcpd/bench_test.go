package dhcpd

import (
	"log/slog"
	"net"
	"net/netip"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
)

// BenchmarkDORA measures one DISCOVER->OFFER plus REQUEST->ACK through the
// handler (parse, decide, lease, serialise), 4096 distinct MACs in a /16.
func BenchmarkDORA(b *testing.B) {
	n := Network{
		Name: "lab", Subnet: netip.MustParsePrefix("198.18.0.0/15"), Server: netip.MustParseAddr("198.18.0.1"),
		Gateway:      netip.MustParseAddr("198.18.0.254"),
		DynamicStart: netip.MustParseAddr("198.18.1.0"), DynamicEnd: netip.MustParseAddr("198.18.255.255"),
	}
	s, err := newServer(Config{Networks: []Network{n}, Leases: &MemLeases{}, Log: slog.New(slog.DiscardHandler),
		BootURL: func(Network) string { return "http://198.18.0.1:8080/boot.ipxe" }})
	if err != nil {
		b.Fatal(err)
	}
	const macs = 4096
	discovers := make([][]byte, macs)
	for i := range discovers {
		mac := net.HardwareAddr{0x02, 0, 0, 0, byte(i >> 8), byte(i)}
		p, _ := dhcpv4.New(dhcpv4.WithHwAddr(mac), dhcpv4.WithMessageType(dhcpv4.MessageTypeDiscover),
			dhcpv4.WithOption(dhcpv4.OptClientArch(iana.EFI_X86_64)), dhcpv4.WithBroadcast(true))
		discovers[i] = p.ToBytes()
	}
	requests := make([][]byte, macs)
	for i := range discovers {
		out, _, err := s.handle(discovers[i], 0)
		if err != nil || out == nil {
			b.Fatalf("warm-up discover %d: %v", i, err)
		}
		offer, _ := dhcpv4.FromBytes(out)
		req, _ := dhcpv4.NewRequestFromOffer(offer)
		requests[i] = req.ToBytes()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % macs
		if out, _, _ := s.handle(discovers[k], 0); out == nil {
			b.Fatal("no offer")
		}
		if out, _, _ := s.handle(requests[k], 0); out == nil {
			b.Fatal("no ack")
		}
	}
}
