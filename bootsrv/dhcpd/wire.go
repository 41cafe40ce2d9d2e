package dhcpd

import (
	"encoding/binary"
	"net"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
)

// The fast path: the server's workers read the requests they can answer
// straight from the packet bytes (wirePacket) and write the reply straight
// into a reused buffer (appendReply), without dhcpv4.FromBytes' option map
// and ToBytes' sorting. It handles the ordinary case only: a well-formed
// Ethernet BOOTREQUEST with a one-byte message type and no repeated
// option. Everything else takes dhcpv4 (the slow path), so the two agree
// by construction on odd packets; TestWireMatchesReply and FuzzWire check
// that they agree byte for byte on the rest.

const (
	hdrLen       = 236 // BOOTP header up to the magic cookie
	optStart     = hdrLen + 4
	bootpMinLen  = 300
	optPad       = 0
	optEnd       = 255
	chaddrOffset = 28
	fileOffset   = 108
)

var magicCookie = [4]byte{99, 130, 83, 99}

// wireOpt locates one option's value in the packet.
type wireOpt struct {
	off, n uint16
	ok     bool
}

// wirePacket is a request parsed in place. It refers to the packet bytes
// and is reused by one worker.
type wirePacket struct {
	b    []byte
	opts [256]wireOpt
	mac  [6]byte
}

// parse reads b and reports whether the fast path can take it; false
// leaves the packet to dhcpv4 (malformed, BOOTP, foreign hardware,
// repeated options, ...).
func (p *wirePacket) parse(b []byte) bool {
	if len(b) < optStart || b[0] != byte(dhcpv4.OpcodeBootRequest) || b[1] != byte(iana.HWTypeEthernet) || b[2] != 6 ||
		[4]byte(b[hdrLen:optStart]) != magicCookie {
		return false
	}
	p.b = b
	p.opts = [256]wireOpt{}
	for i := optStart; ; {
		if i >= len(b) {
			return false // no End option
		}
		code := b[i]
		switch code {
		case optPad:
			i++
			continue
		case optEnd:
			// A type of 0 is MessageTypeNone: Classify refuses it.
			t := p.opts[dhcpv4.OptionDHCPMessageType.Code()]
			return t.n == 1 && b[t.off] != 0
		}
		if i+1 >= len(b) {
			return false
		}
		n := int(b[i+1])
		if i+2+n > len(b) || p.opts[code].ok {
			return false // cut short, or repeated (dhcpv4 concatenates those)
		}
		p.opts[code] = wireOpt{off: uint16(i + 2), n: uint16(n), ok: true}
		i += 2 + n
	}
}

// opt returns option code's value like dhcpv4.Options.Get: nil when absent
// or empty.
func (p *wirePacket) opt(code dhcpv4.OptionCode) []byte {
	o := p.opts[code.Code()]
	if o.n == 0 {
		return nil
	}
	return p.b[o.off : o.off+o.n : o.off+o.n]
}

// has is dhcpv4.Options.Has.
func (p *wirePacket) has(code dhcpv4.OptionCode) bool { return p.opts[code.Code()].ok }

func (p *wirePacket) flags() uint16 { return binary.BigEndian.Uint16(p.b[10:]) }

// classify is Classify for a parsed packet.
func (p *wirePacket) classify() Request {
	b := p.b
	copy(p.mac[:], b[chaddrOffset:chaddrOffset+6])
	r := Request{
		Type:      dhcpv4.MessageType(p.opt(dhcpv4.OptionDHCPMessageType)[0]),
		MAC:       net.HardwareAddr(p.mac[:]),
		CIAddr:    netip.AddrFrom4([4]byte(b[12:16])),
		GIAddr:    netip.AddrFrom4([4]byte(b[24:28])),
		Requested: addr4(p.opt(dhcpv4.OptionRequestedIPAddress)),
		ServerID:  addr4(p.opt(dhcpv4.OptionServerIdentifier)),
		Broadcast: p.flags()&0x8000 != 0,
		Arch:      -1,
	}
	if v := p.opt(dhcpv4.OptionClientSystemArchitectureType); len(v) >= 2 {
		r.Arch = int(v[0])<<8 | int(v[1])
	}
	r.Firmware = firmwareOf(r.Arch)
	r.IPXE = p.has(dhcpv4.OptionEtherboot) || isIPXEClass(p.opt(dhcpv4.OptionUserClassInformation))
	return r
}

// appendReply appends the reply for d to dst: the same bytes as
// Reply(req, d).ToBytes() for the request p was parsed from.
func appendReply(dst []byte, p *wirePacket, d *Decision) []byte {
	n := d.Network
	start := len(dst)
	dst = append(dst, make([]byte, optStart)...)
	h := dst[start:]
	h[0] = byte(dhcpv4.OpcodeBootReply)
	h[1] = p.b[1]
	h[2] = 6
	copy(h[4:8], p.b[4:8]) // xid
	flags := p.flags()
	copy(h[24:28], p.b[24:28]) // giaddr
	copy(h[chaddrOffset:chaddrOffset+6], p.b[chaddrOffset:chaddrOffset+6])
	copy(h[hdrLen:], magicCookie[:])

	var msgType dhcpv4.MessageType
	switch d.Outcome {
	case OutcomeNak:
		msgType = dhcpv4.MessageTypeNak
		if d.Request.Relayed() {
			flags |= 0x8000
		}
	case OutcomeOffer:
		msgType = dhcpv4.MessageTypeOffer
	default:
		msgType = dhcpv4.MessageTypeAck
		put4(h[12:16], d.Request.CIAddr)
	}
	binary.BigEndian.PutUint16(h[10:], flags)
	if d.Outcome != OutcomeNak {
		put4(h[20:24], n.Server)
		if d.Outcome != OutcomeInform {
			put4(h[16:20], d.Addr)
		}
	}
	longFile := false
	if d.Outcome != OutcomeNak && d.Filename != "" {
		if len(d.Filename) <= maxFileField {
			copy(h[fileOffset:fileOffset+maxFileField], d.Filename)
		} else {
			longFile = true
		}
	}

	// Options in code order, 82 last (dhcpv4.Options.Marshal).
	if d.Outcome != OutcomeNak {
		dst = append(dst, 1, 4)
		dst = binary.BigEndian.AppendUint32(dst, ^uint32(0)<<(32-n.Subnet.Bits()))
		if n.Gateway.IsValid() {
			dst = append(dst, 3, 4)
			dst = append4(dst, n.Gateway)
		}
		if d.Outcome != OutcomeInform {
			dst = appendSeconds(dst, dhcpv4.OptionIPAddressLeaseTime, d.Lease)
		}
	}
	dst = append(dst, 53, 1, byte(msgType), 54, 4)
	dst = append4(dst, n.Server)
	if d.Outcome == OutcomeNak && d.Reason != "" {
		dst = appendOptString(dst, dhcpv4.OptionMessage, d.Reason)
	}
	if d.Outcome == OutcomeOffer || d.Outcome == OutcomeAck {
		dst = appendSeconds(dst, dhcpv4.OptionRenewTimeValue, d.Lease/2)
		dst = appendSeconds(dst, dhcpv4.OptionRebindingTimeValue, d.Lease*7/8)
	}
	dst = appendOpt(dst, dhcpv4.OptionClientIdentifier, p.opt(dhcpv4.OptionClientIdentifier))
	if longFile {
		dst = appendOptString(dst, dhcpv4.OptionBootfileName, d.Filename)
	}
	if d.Outcome != OutcomeNak {
		dst = appendOpt(dst, dhcpv4.OptionClientMachineIdentifier, p.opt(dhcpv4.OptionClientMachineIdentifier))
	}
	dst = appendOpt(dst, dhcpv4.OptionRelayAgentInformation, p.opt(dhcpv4.OptionRelayAgentInformation))
	dst = append(dst, optEnd)
	for len(dst)-start < bootpMinLen {
		dst = append(dst, optPad)
	}
	return dst
}

// appendOpt appends an option copied from the request; nil (absent or
// empty, which dhcpv4 does not copy) appends nothing. Values from a parsed
// request are at most 255 bytes.
func appendOpt(dst []byte, code dhcpv4.OptionCode, v []byte) []byte {
	if v == nil {
		return dst
	}
	dst = append(dst, code.Code(), byte(len(v)))
	return append(dst, v...)
}

// appendSeconds appends a duration option (uint32 seconds).
func appendSeconds(dst []byte, code dhcpv4.OptionCode, d time.Duration) []byte {
	dst = append(dst, code.Code(), 4)
	return binary.BigEndian.AppendUint32(dst, uint32(d/time.Second))
}

// append4 appends a as 4 bytes, 0.0.0.0 when it is not IPv4 (like ip4).
func append4(dst []byte, a netip.Addr) []byte {
	if !a.Is4() {
		return append(dst, 0, 0, 0, 0)
	}
	b := a.As4()
	return append(dst, b[:]...)
}

// put4 writes a into b (4 bytes), leaving zeros when it is not IPv4.
func put4(b []byte, a netip.Addr) {
	if a.Is4() {
		v := a.As4()
		copy(b, v[:])
	}
}

// appendOptString appends a string option, split in 255-byte pieces
// (RFC 3396) like dhcpv4 does.
func appendOptString(dst []byte, code dhcpv4.OptionCode, s string) []byte {
	for len(s) > 0 {
		k := min(len(s), 255)
		dst = append(dst, code.Code(), byte(k))
		dst = append(dst, s[:k]...)
		s = s[k:]
	}
	return dst
}
