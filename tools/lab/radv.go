package lab

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// ICMPv6 message types used by the router advertisement sender.
const (
	icmpRouterSolicitation  = 133
	icmpRouterAdvertisement = 134
	ndOptSourceLinkAddr     = 1
	ndOptPrefixInfo         = 3
)

// RouterLinkLocal is the link-local address every lab bridge sends its
// router advertisements from.
var RouterLinkLocal = netip.MustParseAddr("fe80::1")

// RA is a decoded IPv6 router advertisement (RFC 4861 4.2).
type RA struct {
	CurHopLimit    uint8
	Managed        bool // M flag: addresses via DHCPv6
	Other          bool // O flag: other configuration via DHCPv6
	RouterLifetime uint16
	ReachableTime  uint32
	RetransTimer   uint32
	SourceLinkAddr net.HardwareAddr
	Prefixes       int // number of prefix information options
}

// BuildRA encodes the lab's router advertisement: M=0 O=0, router
// lifetime 0 (not a default router), no prefixes, only the source
// link-layer address option. The kernel fills in the checksum.
func BuildRA(mac net.HardwareAddr) []byte {
	b := make([]byte, 16, 24)
	b[0] = icmpRouterAdvertisement
	// b[1] code 0, b[2:4] checksum, b[4] cur hop limit 0 (unspecified),
	// b[5] flags 0, b[6:8] router lifetime 0, reachable 0, retrans 0.
	if len(mac) == 6 {
		b = append(b, ndOptSourceLinkAddr, 1)
		b = append(b, mac...)
	}
	return b
}

// ParseRA decodes an ICMPv6 router advertisement (ICMPv6 header included).
func ParseRA(b []byte) (RA, error) {
	var ra RA
	if len(b) < 16 {
		return ra, fmt.Errorf("router advert: %d bytes, want at least 16", len(b))
	}
	if b[0] != icmpRouterAdvertisement || b[1] != 0 {
		return ra, fmt.Errorf("router advert: type %d code %d, want %d/0", b[0], b[1], icmpRouterAdvertisement)
	}
	ra.CurHopLimit = b[4]
	ra.Managed = b[5]&0x80 != 0
	ra.Other = b[5]&0x40 != 0
	ra.RouterLifetime = binary.BigEndian.Uint16(b[6:8])
	ra.ReachableTime = binary.BigEndian.Uint32(b[8:12])
	ra.RetransTimer = binary.BigEndian.Uint32(b[12:16])
	opts := b[16:]
	for len(opts) > 0 {
		if len(opts) < 2 {
			return ra, errors.New("router advert: truncated option header")
		}
		n := int(opts[1]) * 8
		if n == 0 {
			return ra, fmt.Errorf("router advert: option type %d has length 0", opts[0])
		}
		if n > len(opts) {
			return ra, fmt.Errorf("router advert: option type %d length %d exceeds %d bytes left", opts[0], n, len(opts))
		}
		switch opts[0] {
		case ndOptSourceLinkAddr:
			ra.SourceLinkAddr = append(net.HardwareAddr(nil), opts[2:n]...)
			if n == 8 {
				ra.SourceLinkAddr = ra.SourceLinkAddr[:6]
			}
		case ndOptPrefixInfo:
			ra.Prefixes++
		}
		opts = opts[n:]
	}
	return ra, nil
}

// raSender sends router advertisements on one bridge: periodically and in
// answer to router solicitations.
type raSender struct {
	bridge   string
	fd       int
	ifindex  int
	msg      []byte
	interval time.Duration
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once
	sent     int
}

func (l *Lab) startRA(bridge string, i int) (*raSender, error) {
	s := &raSender{bridge: bridge, fd: -1, interval: l.opts.RAInterval,
		stop: make(chan struct{}), done: make(chan struct{})}
	err := l.InNamespace(func() error {
		ifi, err := net.InterfaceByName(bridge)
		if err != nil {
			return err
		}
		s.ifindex = ifi.Index
		s.msg = BuildRA(ifi.HardwareAddr)
		s.fd, err = openRASocket(ifi.Index, bridge)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("router adverts on %s: %w", bridge, err)
	}
	go s.run(l)
	return s, nil
}

func openRASocket(ifindex int, ifname string) (int, error) {
	fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMPV6)
	if err != nil {
		return -1, fmt.Errorf("icmpv6 socket: %w", err)
	}
	filter := unix.ICMPv6Filter{}
	for i := range filter.Data {
		filter.Data[i] = 0xffffffff // block everything ...
	}
	filter.Data[icmpRouterSolicitation>>5] &^= 1 << (icmpRouterSolicitation & 31) // ... but solicitations
	var src [16]byte
	copy(src[:], RouterLinkLocal.AsSlice())
	steps := []struct {
		what string
		fn   func() error
	}{
		{"bind to device", func() error { return unix.BindToDevice(fd, ifname) }},
		{"multicast hops", func() error { return unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_HOPS, 255) }},
		{"unicast hops", func() error { return unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, 255) }},
		{"multicast if", func() error { return unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_IF, ifindex) }},
		{"multicast loop", func() error { return unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_LOOP, 0) }},
		{"icmp filter", func() error { return unix.SetsockoptICMPv6Filter(fd, unix.SOL_ICMPV6, unix.ICMPV6_FILTER, &filter) }},
		{"bind " + RouterLinkLocal.String(), func() error {
			return unix.Bind(fd, &unix.SockaddrInet6{Addr: src, ZoneId: uint32(ifindex)})
		}},
	}
	for _, st := range steps {
		if err := st.fn(); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("icmpv6 socket %s: %w", st.what, err)
		}
	}
	return fd, nil
}

func (s *raSender) run(l *Lab) {
	defer close(s.done)
	dst := &unix.SockaddrInet6{Addr: [16]byte{0xff, 0x02, 15: 0x01}, ZoneId: uint32(s.ifindex)}
	var lastErr string
	send := func() {
		if err := unix.Sendto(s.fd, s.msg, 0, dst); err != nil {
			// Without carrier or during teardown sends fail; log once per kind.
			if err.Error() != lastErr {
				l.log.Debug("router advert send", "bridge", s.bridge, "err", err)
				lastErr = err.Error()
			}
			return
		}
		s.sent++
	}
	next := time.Now()
	buf := make([]byte, 1500)
	lastAnswer := time.Time{}
	for {
		select {
		case <-s.stop:
			return
		default:
		}
		if now := time.Now(); !now.Before(next) {
			send()
			next = now.Add(s.interval)
		}
		wait := min(time.Until(next), 200*time.Millisecond)
		if wait < time.Millisecond {
			wait = time.Millisecond
		}
		tv := unix.NsecToTimeval(wait.Nanoseconds())
		_ = unix.SetsockoptTimeval(s.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
		n, _, err := unix.Recvfrom(s.fd, buf, 0)
		if err != nil || n < 1 || buf[0] != icmpRouterSolicitation {
			continue
		}
		// Answer a solicitation at once (at most every 100 ms).
		if time.Since(lastAnswer) > 100*time.Millisecond {
			send()
			lastAnswer = time.Now()
		}
	}
}

// Stop ends the sender and closes its socket.
func (s *raSender) Stop() error {
	s.once.Do(func() {
		close(s.stop)
		<-s.done
		unix.Close(s.fd)
	})
	return nil
}
