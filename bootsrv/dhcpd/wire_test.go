package dhcpd

import (
	"bytes"
	"log/slog"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
)

// TestWireMatchesReply: for every row of the decision table, the fast path
// (wirePacket, appendReply) reads the same Request as Classify and writes
// the same bytes as Reply(...).ToBytes().
func TestWireMatchesReply(t *testing.T) {
	const bootURL = "http://198.18.0.1:8080/boot.ipxe"
	cases := decideCases(bootURL)
	// Beyond the table: a boot URL too long for the file field (option 67,
	// split at 255 bytes) and the options copied from the request.
	long := "http://198.18.0.1:8080/" + strings.Repeat("x", 300) + "/boot.ipxe"
	cases = append(cases, decideCase{name: "long boot URL", arrived: "lab",
		req: func(t *testing.T) *dhcpv4.DHCPv4 {
			return packet(t, dhcpv4.MessageTypeDiscover, macNew, dhcpv4.WithUserClass("iPXE", false),
				dhcpv4.WithGeneric(dhcpv4.OptionClientIdentifier, []byte{1, 2, 3}),
				dhcpv4.WithGeneric(dhcpv4.OptionClientMachineIdentifier, uuid97),
				dhcpv4.WithGeneric(dhcpv4.OptionRelayAgentInformation, []byte{1, 2, 'a', 'b'}))
		},
		prepare: func(t *testing.T, env *Env) { env.BootURL = func(Network) string { return long } },
	})
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			now := testNow
			slow, _ := testEnv(&now)
			fast, _ := testEnv(&now)
			if tt.prepare != nil {
				tt.prepare(t, slow)
				tt.prepare(t, fast)
			}
			wire := tt.req(t).ToBytes()
			req, err := dhcpv4.FromBytes(wire)
			if err != nil {
				t.Fatalf("FromBytes: %v", err)
			}
			reply, want, err := slow.Decide(req, tt.arrived)
			if err != nil {
				t.Fatalf("Decide: %v", err)
			}
			var p wirePacket
			if !p.parse(wire) {
				// Only what Classify refuses may leave the fast path.
				if _, err := Classify(req); err == nil {
					t.Fatalf("wirePacket.parse(%s) = false, want the fast path", tt.name)
				}
				return
			}
			r := p.classify()
			if wantR, _ := Classify(req); !reflect.DeepEqual(r, wantR) {
				t.Fatalf("classify() = %+v, want %+v", r, wantR)
			}
			got, err := fast.decide(r, tt.arrived)
			if err != nil {
				t.Fatalf("decide: %v", err)
			}
			if got.Outcome != want.Outcome || got.Addr != want.Addr || got.Filename != want.Filename {
				t.Fatalf("fast decision %v %v %q, want %v %v %q", got.Outcome, got.Addr, got.Filename, want.Outcome, want.Addr, want.Filename)
			}
			if reply == nil {
				return
			}
			wantB := reply.ToBytes()
			gotB := appendReply([]byte("prefix"), &p, &got)
			if !bytes.Equal(gotB[6:], wantB) {
				t.Errorf("appendReply = \n%x\nwant (Reply(...).ToBytes())\n%x", gotB[6:], wantB)
			}
		})
	}
}

// TestWireFallsBack: packets the fast path does not read go to dhcpv4.
func TestWireFallsBack(t *testing.T) {
	ok := packet(t, dhcpv4.MessageTypeDiscover, macNew).ToBytes()
	mod := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), ok...)) }
	end := bytes.LastIndexByte(ok, optEnd)
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"short", ok[:100]},
		{"reply", mod(func(b []byte) []byte { b[0] = 2; return b })},
		{"token ring", mod(func(b []byte) []byte { b[1] = 6; return b })},
		{"hlen 16", mod(func(b []byte) []byte { b[2] = 16; return b })},
		{"bad cookie", mod(func(b []byte) []byte { b[hdrLen] = 0; return b })},
		{"no end", ok[:end]},
		{"repeated option", mod(func(b []byte) []byte {
			return append(append(b[:end:end], 93, 2, 0, 7, 93, 2, 0, 9), optEnd)
		})},
		{"option past the end", mod(func(b []byte) []byte { return append(b[:end:end], 93, 9, 0) })},
		{"message type 0", mod(func(b []byte) []byte { b[bytes.Index(b, []byte{53, 1})+2] = 0; return b })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p wirePacket
			if p.parse(tc.b) {
				t.Errorf("wirePacket.parse(%s) = true, want false (dhcpv4's path)", tc.name)
			}
		})
	}
}

// FuzzWire: the server with the fast path and the server with dhcpv4 only
// answer the same bytes with the same reply, destination and counters.
func FuzzWire(f *testing.F) {
	seed := func(mods ...dhcpv4.Modifier) { seedPacket(f, mods...) }
	seed(dhcpv4.WithMessageType(dhcpv4.MessageTypeDiscover), withArch(iana.INTEL_X86PC))
	seed(dhcpv4.WithMessageType(dhcpv4.MessageTypeDiscover), dhcpv4.WithUserClass("iPXE", true), dhcpv4.WithRelay(net.IPv4(127, 0, 0, 1)),
		dhcpv4.WithGeneric(dhcpv4.OptionRelayAgentInformation, []byte{1, 1, 7}))
	seed(dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest), withRequested("127.0.0.100"), withServerID("127.0.0.1"),
		dhcpv4.WithGeneric(dhcpv4.OptionClientIdentifier, []byte{1, 2, 3}))
	seed(dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest), withRequested("127.0.0.200"), dhcpv4.WithRelay(net.IPv4(127, 0, 0, 1)))
	seed(dhcpv4.WithMessageType(dhcpv4.MessageTypeRelease), dhcpv4.WithClientIP(net.IPv4(127, 0, 0, 100)))
	seed(dhcpv4.WithMessageType(dhcpv4.MessageTypeInform), dhcpv4.WithClientIP(net.IPv4(127, 0, 0, 5)),
		dhcpv4.WithGeneric(dhcpv4.OptionClientMachineIdentifier, uuid97))
	seed(dhcpv4.WithMessageType(dhcpv4.MessageTypeDecline), withRequested("127.0.0.101"))

	now := testNow
	clock := func() time.Time { return now }
	mk := func() *Server {
		s, err := newServer(Config{Networks: []Network{loopNetwork()}, Leases: &MemLeases{Now: clock}, Log: slog.New(slog.DiscardHandler),
			BootURL: func(Network) string { return "http://127.0.0.1:8080/boot.ipxe" }})
		if err != nil {
			f.Fatal(err)
		}
		return s
	}
	fast, slow := mk(), mk()
	var p wirePacket
	f.Fuzz(func(t *testing.T, b []byte) {
		got, gotDst, gotErr := fast.handleWire(&p, nil, b, 0)
		want, wantDst, wantErr := slow.handleSlow(b, 0)
		if !bytes.Equal(got, want) || (gotErr == nil) != (wantErr == nil) || !reflect.DeepEqual(gotDst, wantDst) {
			t.Fatalf("fast path = %x to %v (%v)\nwant %x to %v (%v)", got, gotDst, gotErr, want, wantDst, wantErr)
		}
		if gs, ws := fast.Stats(), slow.Stats(); !reflect.DeepEqual(gs, ws) {
			t.Fatalf("fast path stats %+v, want %+v", gs, ws)
		}
	})
}
