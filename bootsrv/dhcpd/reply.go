package dhcpd

import (
	"net"
	"net/netip"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// maxFileField is the longest boot file name the BOOTP file field holds
// (128 bytes with the terminating NUL); longer names go in option 67.
const maxFileField = 127

var zero4 = net.IPv4zero.To4()

// Reply builds the packet for an OFFER, ACK, NAK or INFORM decision. It
// copies the relay agent information (82), client identifier (61, RFC 6842)
// and client UUID (97) options from the request.
func Reply(req *dhcpv4.DHCPv4, d Decision) *dhcpv4.DHCPv4 {
	n := d.Network
	resp := &dhcpv4.DHCPv4{
		OpCode:        dhcpv4.OpcodeBootReply,
		HWType:        req.HWType,
		TransactionID: req.TransactionID,
		Flags:         req.Flags,
		ClientIPAddr:  zero4,
		YourIPAddr:    zero4,
		ServerIPAddr:  zero4,
		GatewayIPAddr: ip4(d.Request.GIAddr),
		ClientHWAddr:  req.ClientHWAddr,
		Options:       make(dhcpv4.Options, 12),
	}
	copyOpt(resp, req, dhcpv4.OptionRelayAgentInformation)
	copyOpt(resp, req, dhcpv4.OptionClientIdentifier)
	resp.UpdateOption(dhcpv4.OptServerIdentifier(ip4(n.Server)))

	switch d.Outcome {
	case OutcomeNak:
		resp.UpdateOption(dhcpv4.OptMessageType(dhcpv4.MessageTypeNak))
		if d.Reason != "" {
			resp.UpdateOption(dhcpv4.OptMessage(d.Reason))
		}
		if d.Request.Relayed() {
			resp.SetBroadcast() // the relay must broadcast it: the client has no address
		}
		return resp
	case OutcomeOffer:
		resp.UpdateOption(dhcpv4.OptMessageType(dhcpv4.MessageTypeOffer))
	default: // Ack, Inform
		resp.UpdateOption(dhcpv4.OptMessageType(dhcpv4.MessageTypeAck))
		resp.ClientIPAddr = ip4(d.Request.CIAddr)
	}
	resp.ServerIPAddr = ip4(n.Server)
	if d.Outcome != OutcomeInform {
		resp.YourIPAddr = ip4(d.Addr)
		resp.UpdateOption(dhcpv4.OptIPAddressLeaseTime(d.Lease))
		resp.UpdateOption(dhcpv4.OptRenewTimeValue(d.Lease / 2))
		resp.UpdateOption(dhcpv4.OptRebindingTimeValue(d.Lease * 7 / 8))
	}
	resp.UpdateOption(dhcpv4.OptSubnetMask(net.CIDRMask(n.Subnet.Bits(), 32)))
	if n.Gateway.IsValid() {
		resp.UpdateOption(dhcpv4.OptRouter(ip4(n.Gateway)))
	}
	copyOpt(resp, req, dhcpv4.OptionClientMachineIdentifier)
	if d.Filename != "" {
		if len(d.Filename) <= maxFileField {
			resp.BootFileName = d.Filename
		} else {
			resp.UpdateOption(dhcpv4.OptBootFileName(d.Filename))
		}
	}
	return resp
}

func copyOpt(resp, req *dhcpv4.DHCPv4, code dhcpv4.OptionCode) {
	if v := req.Options.Get(code); v != nil {
		resp.Options[code.Code()] = v
	}
}

// ip4 converts an address to a 4-byte net.IP; invalid becomes 0.0.0.0.
func ip4(a netip.Addr) net.IP {
	if !a.Is4() {
		return zero4
	}
	b := a.As4()
	return net.IP(b[:])
}
