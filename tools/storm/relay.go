package storm

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
)

// Relay plays a DHCP relay agent: it sends requests with giaddr set from
// its own address, port 67, and hands each reply to the exchange waiting
// for its transaction ID.
type Relay struct {
	conn    *net.UDPConn
	servers []*net.UDPAddr // every packet goes to all (replicas)
	giaddr  net.IP

	mu      sync.Mutex
	pending map[dhcpv4.TransactionID]chan *dhcpv4.DHCPv4
	done    chan struct{}
}

// ErrNak is returned by DORA when the server refused the REQUEST.
var ErrNak = errors.New("dhcp: NAK")

// NewRelay binds relay:67 and sends to server on each of serverPorts (one
// per bootsrv replica; the first answer wins).
func NewRelay(relay, server netip.Addr, serverPorts ...int) (*Relay, error) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: relay.AsSlice(), Port: dhcpv4.ServerPort})
	if err != nil {
		return nil, fmt.Errorf("relay listen %s:67: %w", relay, err)
	}
	conn.SetReadBuffer(4 << 20)
	r := &Relay{
		conn:    conn,
		giaddr:  relay.AsSlice(),
		pending: make(map[dhcpv4.TransactionID]chan *dhcpv4.DHCPv4),
		done:    make(chan struct{}),
	}
	for _, p := range serverPorts {
		r.servers = append(r.servers, &net.UDPAddr{IP: server.AsSlice(), Port: p})
	}
	go r.read()
	return r, nil
}

// Close stops the relay.
func (r *Relay) Close() error {
	err := r.conn.Close()
	<-r.done
	return err
}

func (r *Relay) read() {
	defer close(r.done)
	buf := make([]byte, 4096)
	for {
		n, _, err := r.conn.ReadFromUDP(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		p, err := dhcpv4.FromBytes(buf[:n])
		if err != nil {
			continue
		}
		r.mu.Lock()
		ch := r.pending[p.TransactionID]
		r.mu.Unlock()
		if ch != nil {
			select {
			case ch <- p:
			default: // a duplicate answer nobody waits for
			}
		}
	}
}

// exchange sends p and waits up to timeout for a reply with its xid.
func (r *Relay) exchange(ctx context.Context, p *dhcpv4.DHCPv4, timeout time.Duration) (*dhcpv4.DHCPv4, error) {
	ch := make(chan *dhcpv4.DHCPv4, 1)
	r.mu.Lock()
	r.pending[p.TransactionID] = ch
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.pending, p.TransactionID)
		r.mu.Unlock()
	}()
	sent := 0
	var serr error
	for _, srv := range r.servers {
		if _, err := r.conn.WriteToUDP(p.ToBytes(), srv); err != nil {
			serr = err
			continue
		}
		sent++
	}
	if sent == 0 {
		return nil, fmt.Errorf("dhcp send %s: %w", p.MessageType(), serr)
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case reply := <-ch:
		return reply, nil
	case <-t.C:
		return nil, fmt.Errorf("dhcp %s: no answer in %s", p.MessageType(), timeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func newXID() dhcpv4.TransactionID {
	var x dhcpv4.TransactionID
	v := rand.Uint32()
	x[0], x[1], x[2], x[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	return x
}

// DORA runs DISCOVER, OFFER, REQUEST, ACK for mac, as relayed by r, once;
// it returns the acknowledged address. Each exchange waits up to timeout.
func (r *Relay) DORA(ctx context.Context, mac net.HardwareAddr, timeout time.Duration) (netip.Addr, error) {
	xid := newXID()
	disc, err := dhcpv4.New(dhcpv4.WithHwAddr(mac), dhcpv4.WithTransactionID(xid),
		dhcpv4.WithMessageType(dhcpv4.MessageTypeDiscover), dhcpv4.WithRelay(r.giaddr),
		dhcpv4.WithOption(dhcpv4.OptClientArch(iana.INTEL_X86PC)))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("dhcp discover %s: %w", mac, err)
	}
	offer, err := r.exchange(ctx, disc, timeout)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%s: %w", mac, err)
	}
	if offer.MessageType() != dhcpv4.MessageTypeOffer {
		return netip.Addr{}, fmt.Errorf("dhcp discover %s: got %s, want OFFER", mac, offer.MessageType())
	}
	req, err := dhcpv4.NewRequestFromOffer(offer, dhcpv4.WithRelay(r.giaddr))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("dhcp request %s: %w", mac, err)
	}
	ack, err := r.exchange(ctx, req, timeout)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%s: %w", mac, err)
	}
	switch ack.MessageType() {
	case dhcpv4.MessageTypeAck:
	case dhcpv4.MessageTypeNak:
		return netip.Addr{}, fmt.Errorf("dhcp request %s: %w (%s)", mac, ErrNak, ack.Message())
	default:
		return netip.Addr{}, fmt.Errorf("dhcp request %s: got %s, want ACK", mac, ack.MessageType())
	}
	a, ok := netip.AddrFromSlice(ack.YourIPAddr.To4())
	if !ok {
		return netip.Addr{}, fmt.Errorf("dhcp ack %s: no address", mac)
	}
	return a, nil
}
