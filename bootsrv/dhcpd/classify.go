package dhcpd

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
)

// Boot file names served over TFTP to PXE firmware.
const (
	FileBIOS = "undionly.kpxe"
	FileUEFI = "snponly.efi"
)

// Firmware is what kind of boot loader a client is.
type Firmware int

// The firmware kinds Classify tells apart.
const (
	FirmwareNone  Firmware = iota // no option 93: not a PXE client (an OS, the trap)
	FirmwareBIOS                  // option 93 = 0
	FirmwareUEFI                  // option 93 = 7 or 9 (x86-64 UEFI)
	FirmwareOther                 // any other architecture: address only
)

func (f Firmware) String() string {
	switch f {
	case FirmwareBIOS:
		return "bios"
	case FirmwareUEFI:
		return "uefi"
	case FirmwareOther:
		return "other"
	}
	return "none"
}

// Request is what the decision needs from a DHCP request.
type Request struct {
	Type      dhcpv4.MessageType
	MAC       net.HardwareAddr
	Firmware  Firmware
	Arch      int  // first option 93 value, -1 when absent
	IPXE      bool // option 77 "iPXE" or option 175 present
	GIAddr    netip.Addr
	CIAddr    netip.Addr
	Requested netip.Addr // option 50
	ServerID  netip.Addr // option 54
	Broadcast bool
}

// Relayed reports whether the request came through a relay agent.
func (r *Request) Relayed() bool { return r.GIAddr.IsValid() && !r.GIAddr.IsUnspecified() }

// errNotRequest is returned by Classify for anything that is not a client
// request this server can answer.
var errNotRequest = errors.New("not a DHCP client request")

// Classify extracts the fields the decision needs. It fails on packets that
// are not Ethernet BOOTREQUESTs with a DHCP message type.
func Classify(req *dhcpv4.DHCPv4) (Request, error) {
	var r Request
	if req == nil || req.OpCode != dhcpv4.OpcodeBootRequest {
		return r, errNotRequest
	}
	if req.HWType != iana.HWTypeEthernet || len(req.ClientHWAddr) != 6 {
		return r, fmt.Errorf("hardware type %d length %d: %w", req.HWType, len(req.ClientHWAddr), errNotRequest)
	}
	r.Type = req.MessageType()
	if r.Type == dhcpv4.MessageTypeNone {
		return r, fmt.Errorf("no message type (BOOTP): %w", errNotRequest)
	}
	r.MAC = req.ClientHWAddr
	r.GIAddr = addr4(req.GatewayIPAddr)
	r.CIAddr = addr4(req.ClientIPAddr)
	r.Requested = addr4(req.Options.Get(dhcpv4.OptionRequestedIPAddress))
	r.ServerID = addr4(req.Options.Get(dhcpv4.OptionServerIdentifier))
	r.Broadcast = req.IsBroadcast()
	r.Arch = -1
	if v := req.Options.Get(dhcpv4.OptionClientSystemArchitectureType); len(v) >= 2 {
		r.Arch = int(v[0])<<8 | int(v[1])
	}
	r.Firmware = firmwareOf(r.Arch)
	r.IPXE = isIPXE(req)
	return r, nil
}

func firmwareOf(arch int) Firmware {
	switch {
	case arch < 0:
		return FirmwareNone
	case iana.Arch(arch) == iana.INTEL_X86PC:
		return FirmwareBIOS
	case iana.Arch(arch) == iana.EFI_X86_64, iana.Arch(arch) == iana.EFI_BC:
		return FirmwareUEFI
	}
	return FirmwareOther
}

var ipxeClass = []byte("iPXE")

// isIPXE reports whether the client is iPXE: option 175 (iPXE's encapsulated
// options) or user class 77 "iPXE", raw (what iPXE sends) or RFC 3004.
func isIPXE(req *dhcpv4.DHCPv4) bool {
	if req.Options.Has(dhcpv4.OptionEtherboot) {
		return true
	}
	return isIPXEClass(req.Options.Get(dhcpv4.OptionUserClassInformation))
}

// isIPXEClass reports whether a user class option (77) value says iPXE.
func isIPXEClass(v []byte) bool {
	if len(v) == 0 {
		return false
	}
	if bytes.Equal(v, ipxeClass) {
		return true
	}
	// RFC 3004: length-prefixed strings.
	for len(v) > 0 {
		n := int(v[0])
		if n == 0 || n+1 > len(v) {
			return false
		}
		if bytes.Equal(v[1:n+1], ipxeClass) {
			return true
		}
		v = v[n+1:]
	}
	return false
}

// addr4 converts a 4-byte field to an address; anything else is invalid.
func addr4(b []byte) netip.Addr {
	if len(b) == 16 {
		b = net.IP(b).To4()
	}
	if len(b) != 4 {
		return netip.Addr{}
	}
	return netip.AddrFrom4([4]byte(b))
}

// unspecified reports whether a is invalid or 0.0.0.0.
func unspecified(a netip.Addr) bool { return !a.IsValid() || a.IsUnspecified() }
