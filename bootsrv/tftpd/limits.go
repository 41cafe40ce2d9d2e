package tftpd

import (
	"errors"
	"net"
	"sync"
	"time"
)

// A TFTP read request is one small UDP packet with a source address anyone
// can forge; the answer is a 516-byte DATA packet sent again on every
// timeout. Unbounded, a spoofed flood makes the server a reflector (each
// RRQ used to bring 6 DATA packets, ~140 times its size) and costs a socket
// and a goroutine per request. So: at most MaxPerSource transfers from one
// source address (a request over it gets one short ERROR packet at once),
// at most MaxTransfers in all (a request over it waits up to Timeout for a
// slot, so that a boot storm queues rather than fails, then gets the
// ERROR), and few retransmits (Retries).

// Defaults of the caps (Server.MaxTransfers, MaxPerSource, Retries).
const (
	DefaultMaxTransfers = 256
	DefaultMaxPerSource = 4
	DefaultRetries      = 2
)

// errBusy is what a client over a cap is told (short: it is the whole
// answer to a possibly forged request).
var errBusy = errors.New("busy")

// slots counts running transfers, in total and per source address.
type slots struct {
	once  sync.Once
	sem   chan struct{} // one token per running transfer (MaxTransfers)
	mu    sync.Mutex
	total int
	per   map[string]int
	peak  int // most transfers at once (Stats)
}

// take reserves a slot for src: false at once when src is at maxPer,
// false after wait when all maxTotal slots stay taken.
func (s *slots) take(src string, maxTotal, maxPer int, wait time.Duration) bool {
	s.once.Do(func() { s.sem = make(chan struct{}, maxTotal) })
	s.mu.Lock()
	if s.per == nil {
		s.per = make(map[string]int)
	}
	if s.per[src] >= maxPer {
		s.mu.Unlock()
		return false
	}
	s.per[src]++
	s.mu.Unlock()
	select {
	case s.sem <- struct{}{}:
	default:
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case s.sem <- struct{}{}:
		case <-t.C:
			s.drop(src)
			return false
		}
	}
	s.mu.Lock()
	s.total++
	s.peak = max(s.peak, s.total)
	s.mu.Unlock()
	return true
}

func (s *slots) release(src string) {
	<-s.sem
	s.mu.Lock()
	s.total--
	s.mu.Unlock()
	s.drop(src)
}

func (s *slots) drop(src string) {
	s.mu.Lock()
	defer s.mu.Unlock()
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
