package dhcpd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// DefaultOfferHold is how long a dynamic address stays held for a client
// after an OFFER until its REQUEST turns it into a full lease.
const DefaultOfferHold = time.Minute

// Env is what Decide needs besides the request. It must not be copied after
// first use.
type Env struct {
	Networks []Network
	// BootURL returns the iPXE boot script URL for a network
	// (http://SERVER:PORT/boot.ipxe). Nil or "": iPXE clients get no file.
	BootURL func(Network) string
	// Reserve returns mac's static address and the name of its network
	// ("" = any network whose subnet contains the address).
	Reserve func(mac net.HardwareAddr) (ip netip.Addr, network string, ok bool)
	// Reserved reports whether an address belongs to any reservation; the
	// dynamic pool skips those. Nil: none are.
	Reserved func(netip.Addr) bool
	// Leases is the dynamic pool. Nil: unknown MACs are ignored everywhere.
	Leases Leases
	// OfferHold is how long an OFFER holds a dynamic address
	// (DefaultOfferHold when zero).
	OfferHold time.Duration
	// Log receives the decisions worth telling (nil: slog.Default()).
	Log *slog.Logger

	warned  sync.Map // string(mac) -> struct{}: pool-exhausted warnings given
	nWarned atomic.Int64
}

func (e *Env) log() *slog.Logger {
	if e.Log != nil {
		return e.Log
	}
	return slog.Default()
}

// Decide answers one request. arrived names the network of the interface a
// direct (unrelayed) request came in on; "" means an interface tied to no
// network, and a direct request without a client address from there is
// ignored (no rogue answers on an uplink). The reply is nil when nothing is to
// be sent. The error is set only for failures of the lease store; malformed
// or foreign packets are ignored with a Reason.
func (e *Env) Decide(req *dhcpv4.DHCPv4, arrived string) (*dhcpv4.DHCPv4, Decision, error) {
	r, err := Classify(req)
	if err != nil {
		return nil, Decision{Reason: err.Error()}, nil
	}
	d, err := e.decide(r, arrived)
	if err != nil || d.Network == nil {
		return nil, d, err
	}
	switch d.Outcome {
	case OutcomeOffer, OutcomeAck, OutcomeNak, OutcomeInform:
		return Reply(req, d), d, nil
	}
	return nil, d, nil
}

func (e *Env) decide(r Request, arrived string) (Decision, error) {
	d := Decision{Request: r}
	d.Network = e.network(&r, arrived)
	switch r.Type {
	case dhcpv4.MessageTypeDiscover:
		return e.discover(d)
	case dhcpv4.MessageTypeRequest:
		return e.request(d)
	case dhcpv4.MessageTypeRelease:
		return e.release(d)
	case dhcpv4.MessageTypeDecline:
		return e.decline(d)
	case dhcpv4.MessageTypeInform:
		if d.Network == nil {
			return ignore(d, "address outside every network"), nil
		}
		d.Outcome = OutcomeInform
		d.Filename = e.filename(&r, d.Network)
		return d, nil
	}
	return ignore(d, "message type "+r.Type.String()+" is not for a server"), nil
}

func ignore(d Decision, reason string) Decision {
	d.Outcome = OutcomeIgnore
	d.Reason = reason
	return d
}

// network picks the request's network: the relay's subnet (none when giaddr
// is in no configured network), else the subnet of a client that already has
// an address (unicast renewals; they get an ACK only for the lease or
// reservation of their MAC), else the arrival interface's network. A direct
// DISCOVER on an interface tied to no network gets nothing.
func (e *Env) network(r *Request, arrived string) *Network {
	switch {
	case r.Relayed():
		return containing(e.Networks, r.GIAddr)
	case !unspecified(r.CIAddr):
		return containing(e.Networks, r.CIAddr)
	case arrived != "":
		return named(e.Networks, arrived)
	}
	return nil
}

func (e *Env) discover(d Decision) (Decision, error) {
	if d.Network == nil {
		return ignore(d, "no network for this interface or relay"), nil
	}
	hold := e.OfferHold
	if hold <= 0 {
		hold = DefaultOfferHold
	}
	if lt := d.Network.LeaseTime(); hold > lt {
		hold = lt
	}
	var err error
	if d, err = e.address(d, hold); err != nil || !d.Addr.IsValid() {
		return d, err
	}
	d.Outcome = OutcomeOffer
	d.Lease = d.Network.LeaseTime()
	d.Filename = e.filename(&d.Request, d.Network)
	return d, nil
}

func (e *Env) request(d Decision) (Decision, error) {
	r := &d.Request
	if d.Network == nil {
		return ignore(d, "no network for this interface or relay"), nil
	}
	if !unspecified(r.ServerID) && r.ServerID != d.Network.Server {
		return ignore(d, "client chose server "+r.ServerID.String()), nil
	}
	want := r.Requested
	if unspecified(want) {
		want = r.CIAddr
	}
	if unspecified(want) {
		return ignore(d, "request names no address"), nil
	}
	var err error
	if d, err = e.address(d, d.Network.LeaseTime()); err != nil {
		return d, err
	}
	if !d.Addr.IsValid() {
		if d.Reason == ErrPoolExhausted.Error() {
			return nak(d, "requested "+want.String()+", pool exhausted"), nil
		}
		return d, nil // unknown MAC without a pool: not ours to refuse
	}
	if d.Addr != want {
		return nak(d, "requested "+want.String()+", MAC has "+d.Addr.String()), nil
	}
	d.Outcome = OutcomeAck
	d.Lease = d.Network.LeaseTime()
	d.Filename = e.filename(r, d.Network)
	return d, nil
}

func nak(d Decision, reason string) Decision {
	d.Outcome = OutcomeNak
	d.Reason = reason
	d.Addr = netip.Addr{}
	d.Lease = 0
	return d
}

// address fills d.Addr from the reservation or the dynamic pool; it leaves it
// invalid (with a Reason) when the MAC gets nothing in d.Network.
func (e *Env) address(d Decision, ttl time.Duration) (Decision, error) {
	n, mac := d.Network, d.Request.MAC
	if e.Reserve != nil {
		ip, netName, ok := e.Reserve(mac)
		if ok && (netName == "" || netName == n.Name) && n.Subnet.Contains(ip) {
			d.Addr, d.Static = ip, true
			return d, nil
		}
		if ok {
			e.debug("dhcp reservation is in another network", "mac", mac, "reserved", ip, "reserved_network", netName, "network", n.Name)
		}
	}
	if !n.HasPool() || e.Leases == nil {
		e.debug("dhcp unknown MAC in a network without a dynamic pool", "mac", mac, "network", n.Name)
		return ignore(d, "unknown MAC, no dynamic pool in network "+n.Name), nil
	}
	a, err := e.Leases.Lease(mac, n.Name, n.DynamicStart, n.DynamicEnd, ttl, e.Reserved)
	if errors.Is(err, ErrPoolExhausted) {
		e.warnOnce(mac, n)
		return ignore(d, ErrPoolExhausted.Error()), nil
	}
	if err != nil {
		d = ignore(d, "lease store failed")
		return d, fmt.Errorf("dhcp lease %s in %s: %w", mac, n.Name, err)
	}
	d.Addr = a
	return d, nil
}

func (e *Env) warnOnce(mac net.HardwareAddr, n *Network) {
	if _, loaded := e.warned.LoadOrStore(string(mac), struct{}{}); loaded {
		return
	}
	if e.nWarned.Add(1) > 4096 { // bound the memory a MAC flood can take
		e.warned.Clear()
		e.nWarned.Store(0)
	}
	e.log().Warn("dhcp dynamic pool exhausted, no offer", "mac", mac.String(), "network", n.Name,
		"range", n.DynamicStart.String()+"-"+n.DynamicEnd.String())
}

func (e *Env) debug(msg string, args ...any) {
	if l := e.log(); l.Enabled(context.Background(), slog.LevelDebug) {
		l.Debug(msg, args...)
	}
}

// filename is the boot file for the client: the script URL for iPXE, the
// iPXE binary for PXE firmware, nothing for everything else.
func (e *Env) filename(r *Request, n *Network) string {
	if r.IPXE {
		if e.BootURL == nil {
			return ""
		}
		return e.BootURL(*n)
	}
	switch r.Firmware {
	case FirmwareBIOS:
		return FileBIOS
	case FirmwareUEFI:
		return FileUEFI
	}
	return ""
}
