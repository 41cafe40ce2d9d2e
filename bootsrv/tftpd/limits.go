package tftpd

import (
	"errors"
	"net"
	"sync"
)

// A TFTP read request is one small UDP packet with a source address anyone
// can forge; the answer is a 516-byte DATA packet sent again on every
// timeout. Unbounded, a spoofed flood makes the server a reflector (each
// RRQ used to bring ~6 DATA packets, ~120 times its size) and costs a socket
// and a goroutine per request. So: at most MaxTransfers transfers at once,
// at most MaxPerSource from one source address, and few retransmits
// (Retries). A request over a cap gets one short ERROR packet and nothing
// more.

// Defaults of the caps (Server.MaxTransfers, MaxPerSource, Retries).
const (
	DefaultMaxTransfers = 64
	DefaultMaxPerSource = 4
	DefaultRetries      = 2
)

// errBusy is what a client over a cap is told (short: it is the whole
// answer to a possibly forged request).
var errBusy = errors.New("busy")

// slots counts running transfers, in total and per source address.
type slots struct {
	mu    sync.Mutex
	total int
	per   map[string]int
	peak  int // most transfers at once (Stats)
}

// take reserves a slot for src; false when a cap is reached.
func (s *slots) take(src string, maxTotal, maxPer int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.per == nil {
		s.per = make(map[string]int)
	}
	if s.total >= maxTotal || s.per[src] >= maxPer {
		return false
	}
	s.total++
	s.per[src]++
	s.peak = max(s.peak, s.total)
	return true
}

func (s *slots) release(src string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total--
	if s.per[src]--; s.per[src] <= 0 {
		delete(s.per, src)
	}
}

func (s *slots) peakNow() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

// source is the rate-limit key of a peer: its IP address.
func source(a net.Addr) string {
	if u, ok := a.(*net.UDPAddr); ok {
		return u.IP.String()
	}
	if a == nil {
		return ""
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}
