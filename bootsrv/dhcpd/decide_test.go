package dhcpd

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
)

var uuid97 = append([]byte{0}, bytes.Repeat([]byte{0xab}, 16)...)

func TestDecide(t *testing.T) {
	const bootURL = "http://198.18.0.1:8080/boot.ipxe"
	tests := decideCases(bootURL)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := testNow
			env, ml := testEnv(&now)
			if tt.prepare != nil {
				tt.prepare(t, env)
			}
			req := tt.req(t)
			reply, d, err := env.Decide(req, tt.arrived)
			if err != nil {
				t.Fatalf("Decide: %v", err)
			}
			if d.Outcome != tt.outcome {
				t.Fatalf("Decide(%s) outcome = %v (%s), want %v", tt.name, d.Outcome, d.Reason, tt.outcome)
			}
			gotNet := ""
			if d.Network != nil {
				gotNet = d.Network.Name
			}
			if gotNet != tt.network {
				t.Errorf("network = %q, want %q", gotNet, tt.network)
			}
			wantAddr := tt.addr
			if wantAddr != "" && d.Addr.String() != wantAddr {
				t.Errorf("Decision.Addr = %v, want %s", d.Addr, wantAddr)
			}
			switch tt.outcome {
			case OutcomeOffer, OutcomeAck, OutcomeNak, OutcomeInform:
				if reply == nil {
					t.Fatalf("no reply for %v", tt.outcome)
				}
				// What goes on the wire must parse back the same.
				wire, err := dhcpv4.FromBytes(reply.ToBytes())
				if err != nil {
					t.Fatalf("reply does not parse: %v", err)
				}
				checkReply(t, req, wire, tt.outcome, tt.addr, tt.file, tt.gateway, tt.giaddr)
				reply = wire
			default:
				if reply != nil {
					t.Errorf("outcome %v with a reply: %s", tt.outcome, reply.Summary())
				}
			}
			if tt.check != nil {
				tt.check(t, reply, env, ml)
			}
		})
	}
}

var testNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func checkReply(t *testing.T, req, reply *dhcpv4.DHCPv4, outcome Outcome, addr, file, gateway, giaddr string) {
	t.Helper()
	wantType := map[Outcome]dhcpv4.MessageType{OutcomeOffer: dhcpv4.MessageTypeOffer, OutcomeAck: dhcpv4.MessageTypeAck,
		OutcomeInform: dhcpv4.MessageTypeAck, OutcomeNak: dhcpv4.MessageTypeNak}[outcome]
	if reply.OpCode != dhcpv4.OpcodeBootReply || reply.MessageType() != wantType {
		t.Errorf("reply op %v type %v, want BootReply %v", reply.OpCode, reply.MessageType(), wantType)
	}
	if reply.TransactionID != req.TransactionID || !bytes.Equal(reply.ClientHWAddr, req.ClientHWAddr) {
		t.Errorf("reply xid %v chaddr %v, want %v %v", reply.TransactionID, reply.ClientHWAddr, req.TransactionID, req.ClientHWAddr)
	}
	if addr == "" {
		addr = "0.0.0.0"
	}
	if reply.YourIPAddr.String() != addr {
		t.Errorf("yiaddr = %s, want %s", reply.YourIPAddr, addr)
	}
	if giaddr == "" {
		giaddr = "0.0.0.0"
	}
	if reply.GatewayIPAddr.String() != giaddr {
		t.Errorf("giaddr = %s, want %s", reply.GatewayIPAddr, giaddr)
	}
	if got := reply.BootFileName; got != file {
		t.Errorf("file = %q, want %q", got, file)
	}
	if outcome == OutcomeNak {
		return
	}
	if sid := reply.ServerIdentifier(); sid == nil || reply.ServerIPAddr.String() != sid.String() {
		t.Errorf("siaddr %s, server identifier %v, want equal and set", reply.ServerIPAddr, sid)
	}
	if m := reply.SubnetMask(); m.String() != "ffffff00" {
		t.Errorf("subnet mask = %v, want /24", m)
	}
	var gw string
	if r := reply.Router(); len(r) > 0 {
		gw = r[0].String()
	}
	if gw != gateway {
		t.Errorf("router = %q, want %q", gw, gateway)
	}
	if outcome != OutcomeInform {
		lt := reply.IPAddressLeaseTime(0)
		if lt <= 0 || reply.IPAddressRenewalTime(0) != lt/2 || reply.IPAddressRebindingTime(0) != lt*7/8 {
			t.Errorf("lease %v T1 %v T2 %v, want T1=lease/2 T2=lease*7/8", lt, reply.IPAddressRenewalTime(0), reply.IPAddressRebindingTime(0))
		}
	}
}

func TestDecideLongBootURLUsesOption67(t *testing.T) {
	now := testNow
	env, _ := testEnv(&now)
	long := "http://198.18.0.1:8080/" + string(bytes.Repeat([]byte("x"), 200)) + "/boot.ipxe"
	env.BootURL = func(Network) string { return long }
	reply, _, err := env.Decide(packet(t, dhcpv4.MessageTypeDiscover, macBIOS, dhcpv4.WithUserClass("iPXE", false)), "lab")
	if err != nil || reply == nil {
		t.Fatalf("Decide = %v, %v", reply, err)
	}
	if reply.BootFileName != "" || reply.BootFileNameOption() != long {
		t.Errorf("file field %q, option 67 %q; want the URL in option 67 only", reply.BootFileName, reply.BootFileNameOption())
	}
}

func TestDecidePoolExhausted(t *testing.T) {
	now := testNow
	env, _ := testEnv(&now)
	// lab's pool .100-.109 holds 9 usable addresses (.100 is reserved).
	for i := range 9 {
		mac := net.HardwareAddr{0x02, 0, 0, 0, 1, byte(i)}
		_, d, err := env.Decide(packet(t, dhcpv4.MessageTypeDiscover, mac), "lab")
		if err != nil || d.Outcome != OutcomeOffer {
			t.Fatalf("discover %d: %v %v (%s)", i, d.Outcome, err, d.Reason)
		}
	}
	late := net.HardwareAddr{0x02, 0, 0, 0, 2, 0}
	for range 2 {
		reply, d, err := env.Decide(packet(t, dhcpv4.MessageTypeDiscover, late), "lab")
		if err != nil || reply != nil || d.Outcome != OutcomeIgnore || d.Reason != ErrPoolExhausted.Error() {
			t.Fatalf("discover on a full pool = %v, %v (%q), %v; want ignore, pool exhausted", reply, d.Outcome, d.Reason, err)
		}
	}
	// A REQUEST for an address it does not hold is refused.
	_, d, _ := env.Decide(packet(t, dhcpv4.MessageTypeRequest, late, withRequested("198.18.0.105")), "lab")
	if d.Outcome != OutcomeNak {
		t.Errorf("request on a full pool = %v, want nak", d.Outcome)
	}
	// Offer holds run out: after DefaultOfferHold the pool has room again.
	now = now.Add(DefaultOfferHold + time.Second)
	if _, d, _ := env.Decide(packet(t, dhcpv4.MessageTypeDiscover, late), "lab"); d.Outcome != OutcomeOffer {
		t.Errorf("discover after offer holds expired = %v (%s), want offer", d.Outcome, d.Reason)
	}
}

// TestDecideDORA runs discover, request, renew and release for an unknown MAC.
func TestDecideDORA(t *testing.T) {
	now := testNow
	env, ml := testEnv(&now)
	offer, d, err := env.Decide(packet(t, dhcpv4.MessageTypeDiscover, macNew, withArch(iana.EFI_X86_64)), "lab")
	if err != nil || d.Outcome != OutcomeOffer {
		t.Fatalf("discover: %v %v", d.Outcome, err)
	}
	req, err := dhcpv4.NewRequestFromOffer(offer)
	if err != nil {
		t.Fatal(err)
	}
	ack, d, err := env.Decide(req, "lab")
	if err != nil || d.Outcome != OutcomeAck || !ack.YourIPAddr.Equal(offer.YourIPAddr) {
		t.Fatalf("request: %v %v %v", d.Outcome, d.Reason, err)
	}
	l, _ := ml.Lookup(macNew)
	if want := now.Add(time.Hour); !l.Expires.Equal(want) {
		t.Errorf("lease expires %v after ACK, want %v", l.Expires, want)
	}
	now = now.Add(30 * time.Minute)
	renew, _ := dhcpv4.NewRenewFromAck(ack)
	if _, d, _ := env.Decide(renew, "lab"); d.Outcome != OutcomeAck {
		t.Errorf("renew = %v (%s), want ack", d.Outcome, d.Reason)
	}
	rel, _ := dhcpv4.NewReleaseFromACK(ack)
	if _, d, _ := env.Decide(rel, "lab"); d.Outcome != OutcomeRelease {
		t.Errorf("release = %v, want release", d.Outcome)
	}
	if _, ok := ml.Lookup(macNew); ok {
		t.Errorf("lease kept after release")
	}
}

// decideCase is one row of the decision table.
type decideCase struct {
	name    string
	req     func(t *testing.T) *dhcpv4.DHCPv4
	arrived string
	// prepare runs on the env before the request (e.g. an earlier lease).
	prepare func(t *testing.T, env *Env)

	outcome Outcome
	addr    string // yiaddr ("" = 0.0.0.0)
	file    string
	network string // "" = no network expected
	gateway string // option 3, "" = absent
	giaddr  string
	check   func(t *testing.T, reply *dhcpv4.DHCPv4, env *Env, ml *MemLeases)
}

// decideCases is the decision table (TestDecide; TestWireMatchesReply checks
// the fast path against it).
func decideCases(bootURL string) []decideCase {
	return []decideCase{
		{
			name: "BIOS discover, reserved",
			req: func(t *testing.T) *dhcpv4.DHCPv4 {
				return packet(t, dhcpv4.MessageTypeDiscover, macBIOS, withArch(iana.INTEL_X86PC))
			},
			arrived: "lab", outcome: OutcomeOffer, addr: "198.18.0.11", file: FileBIOS, network: "lab", gateway: "198.18.0.254",
		},
		{
			name: "UEFI arch 7",
			req: func(t *testing.T) *dhcpv4.DHCPv4 {
				return packet(t, dhcpv4.MessageTypeDiscover, macBIOS, withArch(iana.EFI_X86_64))
			},
			arrived: "lab", outcome: OutcomeOffer, addr: "198.18.0.11", file: FileUEFI, network: "lab", gateway: "198.18.0.254",
		},
		{
			name: "UEFI arch 9",
			req: func(t *testing.T) *dhcpv4.DHCPv4 {
				return packet(t, dhcpv4.MessageTypeDiscover, macBIOS, withArch(iana.EFI_BC))
			},
			arrived: "lab", outcome: OutcomeOffer, addr: "198.18.0.11", file: FileUEFI, network: "lab", gateway: "198.18.0.254",
		},
		{
			name: "iPXE user class on BIOS",
			req: func(t *testing.T) *dhcpv4.DHCPv4 {
				return packet(t, dhcpv4.MessageTypeDiscover, macBIOS, withArch(iana.INTEL_X86PC), dhcpv4.WithUserClass("iPXE", false))
			},
			arrived: "lab", outcome: OutcomeOffer, addr: "198.18.0.11", file: bootURL, network: "lab", gateway: "198.18.0.254",
		},
		{
			name: "iPXE RFC 3004 user class on UEFI",
			req: func(t *testing.T) *dhcpv4.DHCPv4 {
				return packet(t, dhcpv4.MessageTypeDiscover, macBIOS, withArch(iana.EFI_X86_64), dhcpv4.WithUserClass("iPXE", true))
			},
			arrived: "lab", outcome: OutcomeOffer, addr: "198.18.0.11", file: bootURL, network: "lab", gateway: "198.18.0.254",
		},
		{
			name: "iPXE option 175 on UEFI",
			req: func(t *testing.T) *dhcpv4.DHCPv4 {
				return packet(t, dhcpv4.MessageTypeDiscover, macBIOS, withArch(iana.EFI_BC),
					dhcpv4.WithGeneric(dhcpv4.OptionEtherboot, []byte{0xb1, 0x01, 0x01}))
			},
			arrived: "lab", outcome: OutcomeOffer, addr: "198.18.0.11", file: bootURL, network: "lab", gateway: "198.18.0.254",
		},
		{
			name: "other arch gets an address only",
			req: func(t *testing.T) *dhcpv4.DHCPv4 {
				return packet(t, dhcpv4.MessageTypeDiscover, macBIOS, withArch(iana.EFI_ARM64))
			},
			arrived: "lab", outcome: OutcomeOffer, addr: "198.18.0.11", file: "", network: "lab", gateway: "198.18.0.254",
		},
		{
			name:    "no arch (an OS) gets an address only",
			req:     func(t *testing.T) *dhcpv4.DHCPv4 { return packet(t, dhcpv4.MessageTypeDiscover, macBIOS) },
			arrived: "lab", outcome: OutcomeOffer, addr: "198.18.0.11", file: "", network: "lab", gateway: "198.18.0.254",
		},
		{
			name: "reservation without network name",
			req: func(t *testing.T) *dhcpv4.DHCPv4 {
				return packet(t, dhcpv4.MessageTypeDiscover, macAny, withArch(iana.INTEL_X86PC))
			},
			arrived: "lab", outcome: OutcomeOffer, addr: "198.18.0.13", file: FileBIOS, network: "lab", gateway: "198.18.0.254",
		},
		{
			name: "unknown MAC gets a dynamic address, skipping the reserved .100",
			req: func(t *testing.T) *dhcpv4.DHCPv4 {
				return packet(t, dhcpv4.MessageTypeDiscover, macNew, withArch(iana.INTEL_X86PC))
			},
			arrived: "lab", outcome: OutcomeOffer, addr: "198.18.0.101", file: FileBIOS, network: "lab", gateway: "198.18.0.254",
			check: func(t *testing.T, _ *dhcpv4.DHCPv4, _ *Env, ml *MemLeases) {
				l, ok := ml.Lookup(macNew)
				if !ok || l.Addr != netip.MustParseAddr("198.18.0.101") {
					t.Errorf("Lookup(%s) = %v, %v, want 198.18.0.101", macNew, l, ok)
				}
				if want := testNow.Add(DefaultOfferHold); !l.Expires.Equal(want) {
					t.Errorf("offer hold expires %v, want %v", l.Expires, want)
				}
			},
		},
		{
			name: "unknown MAC in a network without pool is ignored",
			req: func(t *testing.T) *dhcpv4.DHCPv4 {
				return packet(t, dhcpv4.MessageTypeDiscover, macNew, withArch(iana.INTEL_X86PC))
			},
			arrived: "fixed", outcome: OutcomeIgnore, network: "fixed",
		},
		{
			name:    "direct request from an unknown interface with several networks is ignored",
			req:     func(t *testing.T) *dhcpv4.DHCPv4 { return packet(t, dhcpv4.MessageTypeDiscover, macBIOS) },
			arrived: "", outcome: OutcomeIgnore,
		},
		{
			name: "relayed into the second network",
			req: func(t *testing.T) *dhcpv4.DHCPv4 {
				return packet(t, dhcpv4.MessageTypeDiscover, macFar, withArch(iana.EFI_X86_64), dhcpv4.WithRelay(net.ParseIP("198.18.8.1")))
			},
			arrived: "lab", outcome: OutcomeOffer, addr: "198.18.8.12", file: FileUEFI, network: "far", gateway: "198.18.8.1", giaddr: "198.18.8.1",
			check: func(t *testing.T, reply *dhcpv4.DHCPv4, _ *Env, _ *MemLeases) {
				if got := reply.IPAddressLeaseTime(0); got != DefaultLease {
					t.Errorf("lease time = %v, want default %v", got, DefaultLease)
				}
			},
		},
		{
			name: "relayed unknown MAC into the second network's pool",
			req: func(t *testing.T) *dhcpv4.DHCPv4 {
				return packet(t, dhcpv4.MessageTypeDiscover, macNew, dhcpv4.WithRelay(net.ParseIP("198.18.8.1")))
			},
			outcome: OutcomeOffer, addr: "198.18.8.100", network: "far", gateway: "198.18.8.1", giaddr: "198.18.8.1",
		},
		{
			name: "relay from an unknown subnet is ignored",
			req: func(t *testing.T) *dhcpv4.DHCPv4 {
				return packet(t, dhcpv4.MessageTypeDiscover, macFar, dhcpv4.WithRelay(net.ParseIP("198.19.0.1")))
			},
			arrived: "lab", outcome: OutcomeIgnore,
		},
		{
			name: "request for the reserved address is acked",
			req: func(t *testing.T) *dhcpv4.DHCPv4 {
				return packet(t, dhcpv4.MessageTypeRequest, macBIOS, withArch(iana.INTEL_X86PC), withRequested("198.18.0.11"), withServerID("198.18.0.1"))
			},
			arrived: "lab", outcome: OutcomeAck, addr: "198.18.0.11", file: FileBIOS, network: "lab", gateway: "198.18.0.254",
		},
		{
			name: "request for a wrong address is naked",
			req: func(t *testing.T) *dhcpv4.DHCPv4 {
				return packet(t, dhcpv4.MessageTypeRequest, macBIOS, withRequested("198.18.0.50"))
			},
			arrived: "lab", outcome: OutcomeNak, network: "lab",
			check: func(t *testing.T, reply *dhcpv4.DHCPv4, _ *Env, _ *MemLeases) {
				if reply.BootFileName != "" || reply.Options.Has(dhcpv4.OptionIPAddressLeaseTime) {
					t.Errorf("NAK carries file %q or a lease time: %s", reply.BootFileName, reply.Summary())
				}
			},
		},
		{
			name: "request for another MAC's dynamic address is naked",
			prepare: func(t *testing.T, env *Env) {
				if _, err := env.Leases.Lease(macOther, "lab", netip.MustParseAddr("198.18.0.100"), netip.MustParseAddr("198.18.0.109"), time.Hour, env.Reserved); err != nil {
					t.Fatal(err)
				}
			},
			req: func(t *testing.T) *dhcpv4.DHCPv4 {
				return packet(t, dhcpv4.MessageTypeRequest, macNew, withRequested("198.18.0.101"))
			},
			arrived: "lab", outcome: OutcomeNak, network: "lab",
		},
		{
			name: "renewal unicast from ciaddr is acked in the client's network",
			req: func(t *testing.T) *dhcpv4.DHCPv4 {
				return packet(t, dhcpv4.MessageTypeRequest, macFar, dhcpv4.WithClientIP(net.ParseIP("198.18.8.12")), dhcpv4.WithBroadcast(false))
			},
			arrived: "lab", outcome: OutcomeAck, addr: "198.18.8.12", network: "far", gateway: "198.18.8.1",
			check: func(t *testing.T, reply *dhcpv4.DHCPv4, _ *Env, _ *MemLeases) {
				if !reply.ClientIPAddr.Equal(net.ParseIP("198.18.8.12")) {
					t.Errorf("ACK ciaddr = %s, want 198.18.8.12", reply.ClientIPAddr)
				}
			},
		},
		{
			name: "request to another server is ignored",
			req: func(t *testing.T) *dhcpv4.DHCPv4 {
				return packet(t, dhcpv4.MessageTypeRequest, macBIOS, withRequested("198.18.0.11"), withServerID("198.18.0.77"))
			},
			arrived: "lab", outcome: OutcomeIgnore, network: "lab",
		},
		{
			name: "request from unknown MAC in a network without pool is ignored",
			req: func(t *testing.T) *dhcpv4.DHCPv4 {
				return packet(t, dhcpv4.MessageTypeRequest, macNew, withRequested("198.18.4.20"))
			},
			arrived: "fixed", outcome: OutcomeIgnore, network: "fixed",
		},
		{
			name: "release frees the dynamic lease",
			prepare: func(t *testing.T, env *Env) {
				if _, err := env.Leases.Lease(macNew, "lab", netip.MustParseAddr("198.18.0.100"), netip.MustParseAddr("198.18.0.109"), time.Hour, env.Reserved); err != nil {
					t.Fatal(err)
				}
			},
			req: func(t *testing.T) *dhcpv4.DHCPv4 {
				return packet(t, dhcpv4.MessageTypeRelease, macNew, dhcpv4.WithClientIP(net.ParseIP("198.18.0.101")))
			},
			arrived: "lab", outcome: OutcomeRelease, addr: "198.18.0.101", network: "lab",
			check: func(t *testing.T, reply *dhcpv4.DHCPv4, _ *Env, ml *MemLeases) {
				if reply != nil {
					t.Errorf("RELEASE got a reply: %s", reply.Summary())
				}
				if l, ok := ml.Lookup(macNew); ok {
					t.Errorf("lease still there after RELEASE: %v", l)
				}
			},
		},
		{
			name: "release of someone else's address keeps the lease",
			prepare: func(t *testing.T, env *Env) {
				if _, err := env.Leases.Lease(macNew, "lab", netip.MustParseAddr("198.18.0.100"), netip.MustParseAddr("198.18.0.109"), time.Hour, env.Reserved); err != nil {
					t.Fatal(err)
				}
			},
			req: func(t *testing.T) *dhcpv4.DHCPv4 {
				return packet(t, dhcpv4.MessageTypeRelease, macNew, dhcpv4.WithClientIP(net.ParseIP("198.18.0.105")))
			},
			arrived: "lab", outcome: OutcomeRelease, addr: "198.18.0.105", network: "lab",
			check: func(t *testing.T, _ *dhcpv4.DHCPv4, _ *Env, ml *MemLeases) {
				if _, ok := ml.Lookup(macNew); !ok {
					t.Errorf("lease of 198.18.0.101 dropped by a RELEASE naming 198.18.0.105")
				}
			},
		},
		{
			name: "decline quarantines the address",
			prepare: func(t *testing.T, env *Env) {
				if _, err := env.Leases.Lease(macNew, "lab", netip.MustParseAddr("198.18.0.100"), netip.MustParseAddr("198.18.0.109"), time.Hour, env.Reserved); err != nil {
					t.Fatal(err)
				}
			},
			req: func(t *testing.T) *dhcpv4.DHCPv4 {
				return packet(t, dhcpv4.MessageTypeDecline, macNew, withRequested("198.18.0.101"))
			},
			arrived: "lab", outcome: OutcomeDecline, addr: "198.18.0.101", network: "lab",
			check: func(t *testing.T, _ *dhcpv4.DHCPv4, env *Env, ml *MemLeases) {
				a, err := ml.Lease(macNew, "lab", netip.MustParseAddr("198.18.0.100"), netip.MustParseAddr("198.18.0.109"), time.Hour, env.Reserved)
				if err != nil || a == netip.MustParseAddr("198.18.0.101") {
					t.Errorf("Lease after DECLINE = %v, %v; want another address than 198.18.0.101", a, err)
				}
			},
		},
		{
			name: "inform is acked without an address or lease",
			req: func(t *testing.T) *dhcpv4.DHCPv4 {
				return packet(t, dhcpv4.MessageTypeInform, macBIOS, dhcpv4.WithClientIP(net.ParseIP("198.18.0.11")), withArch(iana.INTEL_X86PC))
			},
			arrived: "lab", outcome: OutcomeInform, file: FileBIOS, network: "lab", gateway: "198.18.0.254",
			check: func(t *testing.T, reply *dhcpv4.DHCPv4, _ *Env, _ *MemLeases) {
				if reply.Options.Has(dhcpv4.OptionIPAddressLeaseTime) {
					t.Errorf("INFORM ACK has a lease time: %s", reply.Summary())
				}
			},
		},
		{
			name: "option 97 client UUID is passed through",
			req: func(t *testing.T) *dhcpv4.DHCPv4 {
				return packet(t, dhcpv4.MessageTypeDiscover, macBIOS, withArch(iana.EFI_X86_64),
					dhcpv4.WithGeneric(dhcpv4.OptionClientMachineIdentifier, uuid97))
			},
			arrived: "lab", outcome: OutcomeOffer, addr: "198.18.0.11", file: FileUEFI, network: "lab", gateway: "198.18.0.254",
			check: func(t *testing.T, reply *dhcpv4.DHCPv4, _ *Env, _ *MemLeases) {
				if got := reply.Options.Get(dhcpv4.OptionClientMachineIdentifier); !bytes.Equal(got, uuid97) {
					t.Errorf("option 97 = %x, want %x", got, uuid97)
				}
			},
		},
		{
			name:    "a server message (OFFER) is ignored",
			req:     func(t *testing.T) *dhcpv4.DHCPv4 { return packet(t, dhcpv4.MessageTypeOffer, macBIOS) },
			arrived: "lab", outcome: OutcomeIgnore, network: "lab",
		},
		{
			name: "BOOTREPLY opcode is ignored",
			req: func(t *testing.T) *dhcpv4.DHCPv4 {
				p := packet(t, dhcpv4.MessageTypeDiscover, macBIOS)
				p.OpCode = dhcpv4.OpcodeBootReply
				return p
			},
			arrived: "lab", outcome: OutcomeIgnore,
		},
	}
}
