package dhcpd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/server4"
	"github.com/vishvananda/netlink"
	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// Config configures a Server.
type Config struct {
	// Listen is the UDP address to bind (default ":67").
	Listen string
	// Interface, if set, binds the socket to that interface (SO_BINDTODEVICE).
	Interface string
	Networks  []Network
	BootURL   func(Network) string
	Reserve   func(mac net.HardwareAddr) (ip netip.Addr, network string, ok bool)
	Reserved  func(netip.Addr) bool
	Leases    Leases
	OfferHold time.Duration
	Log       *slog.Logger
	// Workers is the number of goroutines reading and answering packets
	// (default 2*GOMAXPROCS, at least 2).
	Workers int
	// ClientPort and RelayPort are where replies go (defaults 68 and 67);
	// tests change them to run unprivileged on loopback.
	ClientPort, RelayPort int
}

// Server is the DHCPv4 server.
type Server struct {
	cfg   Config
	env   *Env
	log   *slog.Logger
	conn  *net.UDPConn
	pc    *ipv4.PacketConn
	stats counters

	closeOnce sync.Once
	nl        *netlink.Handle // opened in New: answers for New's network namespace
	ifMu      sync.RWMutex
	ifNet     map[int]ifEntry // arrival interface index -> network name
}

type ifEntry struct {
	network string
	at      time.Time
}

// ifCacheTTL is how long an interface's network is remembered.
const ifCacheTTL = 30 * time.Second

// New validates cfg and binds the socket; Serve answers on it.
func New(cfg Config) (*Server, error) {
	s, err := newServer(cfg)
	if err != nil {
		return nil, err
	}
	laddr, err := net.ResolveUDPAddr("udp4", s.cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("dhcp listen address %q: %w", s.cfg.Listen, err)
	}
	conn, err := server4.NewIPv4UDPConn(s.cfg.Interface, laddr)
	if err != nil {
		return nil, fmt.Errorf("dhcp listen %s (interface %q): %w", s.cfg.Listen, s.cfg.Interface, err)
	}
	s.conn = conn
	// Room for bursts (a boot storm, a GC pause): the default ~200 KB holds
	// only a few hundred requests.
	if err := conn.SetReadBuffer(4 << 20); err != nil {
		s.log.Warn("dhcp receive buffer", "err", err)
	}
	// A netlink socket keeps answering for the namespace it was opened in,
	// even when the workers run on threads of another one.
	if s.nl, err = netlink.NewHandle(unix.NETLINK_ROUTE); err != nil {
		conn.Close()
		return nil, fmt.Errorf("dhcp netlink: %w", err)
	}
	if err := s.checkTies(); err != nil {
		s.nl.Close()
		conn.Close()
		return nil, err
	}
	s.pc = ipv4.NewPacketConn(conn)
	if err := s.pc.SetControlMessage(ipv4.FlagInterface, true); err != nil {
		conn.Close()
		return nil, fmt.Errorf("dhcp listen %s: IP_PKTINFO: %w", s.cfg.Listen, err)
	}
	return s, nil
}

// newServer validates cfg and fills defaults, without a socket.
func newServer(cfg Config) (*Server, error) {
	if len(cfg.Networks) == 0 {
		return nil, errors.New("dhcp config: no networks")
	}
	if err := ValidateNetworks(cfg.Networks); err != nil {
		return nil, fmt.Errorf("dhcp config: %w", err)
	}
	if cfg.Listen == "" {
		cfg.Listen = ":67"
	}
	if cfg.Workers <= 0 {
		cfg.Workers = max(2, 2*runtime.GOMAXPROCS(0))
	}
	if cfg.ClientPort == 0 {
		cfg.ClientPort = dhcpv4.ClientPort
	}
	if cfg.RelayPort == 0 {
		cfg.RelayPort = dhcpv4.ServerPort
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	nets := append([]Network(nil), cfg.Networks...)
	s := &Server{
		cfg: cfg,
		log: cfg.Log,
		env: &Env{
			Networks:  nets,
			BootURL:   cfg.BootURL,
			Reserve:   cfg.Reserve,
			Reserved:  cfg.Reserved,
			Leases:    cfg.Leases,
			OfferHold: cfg.OfferHold,
			Log:       cfg.Log,
		},
		ifNet: make(map[int]ifEntry),
	}
	return s, nil
}

// Addr is the bound address (useful with port 0).
func (s *Server) Addr() net.Addr { return s.conn.LocalAddr() }

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats { return s.stats.snapshot() }

// Close closes the sockets; Serve returns. Serve closes them itself when it
// returns, so Close is only needed for a Server that is never served.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		err = s.conn.Close()
		if s.nl != nil {
			s.nl.Close()
		}
	})
	return err
}

// Serve answers requests until ctx is done or the socket is closed. It
// returns nil after ctx ends.
func (s *Server) Serve(ctx context.Context) error {
	s.log.Info("dhcp serving", "addr", s.conn.LocalAddr().String(), "interface", s.cfg.Interface,
		"networks", len(s.env.Networks), "workers", s.cfg.Workers)
	stop := context.AfterFunc(ctx, func() { s.conn.Close() })
	defer stop()
	defer s.Close()
	errc := make(chan error, s.cfg.Workers)
	for range s.cfg.Workers {
		go func() { errc <- s.worker() }()
	}
	var first error
	for range s.cfg.Workers {
		if err := <-errc; err != nil && first == nil {
			first = err
			s.conn.Close() // stop the other workers too
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	return first
}

// handle answers one packet: the reply bytes and where to send them, or nil.
func (s *Server) handle(b []byte, ifIndex int) ([]byte, *net.UDPAddr, error) {
	return s.handleWire(new(wirePacket), nil, b, ifIndex)
}

// handleWire is handle with a reused packet and reply buffer (the reply is
// appended to out). Requests the fast path can read (wire.go) never go
// through dhcpv4's parser and encoder; the others do.
func (s *Server) handleWire(p *wirePacket, out, b []byte, ifIndex int) ([]byte, *net.UDPAddr, error) {
	if !p.parse(b) {
		return s.handleSlow(b, ifIndex)
	}
	r := p.classify()
	s.stats.received[r.Type].Add(1)
	d, err := s.env.decide(r, s.arrived(ifIndex))
	s.stats.outcome[d.Outcome].Add(1)
	s.debugDecision(&d, r.MAC)
	if err != nil || d.Network == nil {
		return nil, nil, err
	}
	switch d.Outcome {
	case OutcomeOffer, OutcomeAck, OutcomeNak, OutcomeInform:
		return appendReply(out, p, &d), s.destination(&d), nil
	}
	return nil, nil, nil
}

// handleSlow answers a packet through dhcpv4's parser and encoder.
func (s *Server) handleSlow(b []byte, ifIndex int) ([]byte, *net.UDPAddr, error) {
	req, err := dhcpv4.FromBytes(b)
	if err != nil {
		s.stats.malformed.Add(1)
		return nil, nil, nil
	}
	s.stats.received[req.MessageType()].Add(1)
	reply, d, err := s.env.Decide(req, s.arrived(ifIndex))
	s.stats.outcome[d.Outcome].Add(1)
	s.debugDecision(&d, req.ClientHWAddr)
	if reply == nil {
		return nil, nil, err
	}
	return reply.ToBytes(), s.destination(&d), err
}

// debugDecision logs a decision: at Info for the lease a client is given
// (ACK) and for NAKs, at Debug for the rest (DISCOVER/OFFER, ignored).
func (s *Server) debugDecision(d *Decision, mac net.HardwareAddr) {
	level := slog.LevelDebug
	if d.Outcome == OutcomeAck || d.Outcome == OutcomeNak {
		level = slog.LevelInfo
	}
	if s.log.Enabled(context.Background(), level) {
		s.log.Log(context.Background(), level, "dhcp", "type", d.Request.Type.String(), "mac", mac.String(),
			"outcome", d.Outcome.String(), "addr", d.Addr.String(), "file", d.Filename, "reason", d.Reason)
	}
}

// destination is where a reply goes: the relay, the client's address, or
// the broadcast address of the arrival interface.
func (s *Server) destination(d *Decision) *net.UDPAddr {
	r := &d.Request
	switch {
	case r.Relayed():
		return &net.UDPAddr{IP: ip4(r.GIAddr), Port: s.cfg.RelayPort}
	case d.Outcome != OutcomeNak && !unspecified(r.CIAddr):
		return &net.UDPAddr{IP: ip4(r.CIAddr), Port: s.cfg.ClientPort}
	}
	return &net.UDPAddr{IP: net.IPv4bcast, Port: s.cfg.ClientPort}
}
