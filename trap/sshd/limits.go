package sshd

import (
	"net"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// Defaults of the connection limits (Config fields left zero), after
// OpenSSH's sshd: MaxStartups 10, LoginGraceTime (120 s there, shorter
// here: a trap serves a few admins on a LAN), ClientAliveInterval with
// ClientAliveCountMax 3, UnusedConnectionTimeout.
const (
	DefaultMaxStartups          = 10
	DefaultMaxStartupsPerSource = 3
	DefaultLoginGrace           = 20 * time.Second
	DefaultKeepalive            = 15 * time.Second
	DefaultKeepaliveMax         = 3
	DefaultUnusedTimeout        = 5 * time.Minute
)

// startups counts the connections that have not authenticated yet, in
// total and per source address, so that a flood of half-open handshakes
// (raw TCP connections that never speak, clients that stall in key
// exchange) holds a bounded number of goroutines and sockets and cannot
// crowd out an admin connecting from another address.
type startups struct {
	mu        sync.Mutex
	max, per  int
	total     int
	bySource  map[string]int
	refused   int       // since the last log line
	lastLog   time.Time // rate limit for the "refused" log line
	peakTotal int       // the most ever admitted at once (tests)
}

func newStartups(max, per int) *startups {
	return &startups{max: max, per: per, bySource: map[string]int{}}
}

// admit reserves a pre-auth slot for addr's host; false means drop the
// connection now. When it returns a log count > 0 the caller logs that
// many refusals (at most one line a second).
func (s *startups) admit(addr net.Addr) (ok bool, logRefused int) {
	host := hostOf(addr)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.total >= s.max || s.bySource[host] >= s.per {
		s.refused++
		if now := time.Now(); now.Sub(s.lastLog) >= time.Second {
			s.lastLog, logRefused, s.refused = now, s.refused, 0
		}
		return false, logRefused
	}
	s.total++
	s.bySource[host]++
	s.peakTotal = max(s.peakTotal, s.total)
	return true, 0
}

// done releases addr's slot (handshake finished, failed or timed out).
func (s *startups) done(addr net.Addr) {
	host := hostOf(addr)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total--
	if s.bySource[host]--; s.bySource[host] <= 0 {
		delete(s.bySource, host)
	}
}

func (s *startups) peak() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peakTotal
}

func hostOf(addr net.Addr) string {
	if a, ok := addr.(*net.TCPAddr); ok {
		return a.IP.String()
	}
	h, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	return h
}

// keepalive sends keepalive@openssh.com every interval after login and
// closes the connection when maxMissed replies in a row do not come back
// within an interval (a peer that vanished without a FIN), like sshd's
// ClientAliveInterval/ClientAliveCountMax. It returns when the
// connection closes or stop is closed.
func keepalive(sc *ssh.ServerConn, interval time.Duration, maxMissed int, stop <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	missed := 0
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		reply := make(chan error, 1)
		go func() {
			_, _, err := sc.SendRequest("keepalive@openssh.com", true, nil)
			reply <- err
		}()
		select {
		case err := <-reply:
			if err != nil {
				return // connection gone
			}
			missed = 0
		case <-time.After(interval):
			if missed++; missed >= maxMissed {
				sc.Close()
				return
			}
		case <-stop:
			return
		}
	}
}

// unused closes a logged-in connection that has had no open channel for
// timeout (sshd's UnusedConnectionTimeout): a login that never opens a
// session, or stays after its last session ended, does not hold a slot.
type unused struct {
	mu    sync.Mutex
	open  int
	timer *time.Timer
	d     time.Duration
}

func newUnused(sc *ssh.ServerConn, d time.Duration) *unused {
	return &unused{d: d, timer: time.AfterFunc(d, func() { sc.Close() })}
}

func (u *unused) opened() {
	u.mu.Lock()
	u.open++
	u.timer.Stop()
	u.mu.Unlock()
}

func (u *unused) closed() {
	u.mu.Lock()
	if u.open--; u.open == 0 {
		u.timer.Reset(u.d)
	}
	u.mu.Unlock()
}

func (u *unused) stop() { u.timer.Stop() }
