package sshd

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// logBuf is a goroutine-safe log sink.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestLoginLoggedAfterAuthOnly: OpenSSH given only the public half of an
// authorized key asks the server whether the key would do (the server
// says yes) but cannot sign: no "ssh login" line. Before, the key check
// logged a login on that query, so anyone holding a public key could
// write login lines. A real login then logs exactly one.
func TestLoginLoggedAfterAuthOnly(t *testing.T) {
	var logs logBuf
	f := start(t, func(c *Config) { c.Log = slog.New(slog.NewTextHandler(&logs, nil)) })
	pubOnly := filepath.Join(f.tmp, "probe")
	if err := os.WriteFile(pubOnly, []byte(f.line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := run(t, "", "ssh", f.sshArgs(pubOnly, "-v", "-p", f.port, "root@127.0.0.1", "true")...)
	if code == 0 {
		t.Fatalf("ssh with only a public key logged in")
	}
	if !strings.Contains(stderr, "Server accepts key") {
		t.Fatalf("the probe did not ask the server about the key (ssh -v):\n%s", stderr)
	}
	if strings.Contains(logs.String(), "ssh login") {
		t.Errorf("key probe without a signature logged a login:\n%s", logs.String())
	}
	if out, _, code := run(t, "", "ssh", f.sshArgs(f.key, "-p", f.port, "root@127.0.0.1", "echo ok")...); code != 0 || out != "ok\n" {
		t.Fatalf("real login: %q, exit %d", out, code)
	}
	if n := strings.Count(logs.String(), "ssh login"); n != 1 {
		t.Errorf("after one real login the log has %d login lines:\n%s", n, logs.String())
	}
}

// rawConns opens n TCP connections from the local address src that
// never say anything, and returns them.
func rawConns(t *testing.T, src, addr string, n int) []net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	var out []net.Conn
	for range n {
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial %s from %s: %v", addr, src, err)
		}
		out = append(out, c)
	}
	t.Cleanup(func() {
		for _, c := range out {
			c.Close()
		}
	})
	return out
}

// closedSoon reports how many of conns the server has closed within d.
func closedSoon(conns []net.Conn, d time.Duration) int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	n := 0
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetReadDeadline(time.Now().Add(d))
			_, err := io.Copy(io.Discard, c) // the server's banner, then EOF when it hangs up
			if ne, ok := err.(net.Error); err == nil || !(ok && ne.Timeout()) {
				mu.Lock()
				n++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return n
}

// TestPreauthFlood: 200 raw TCP connections and 20 OpenSSH clients (with
// a key the server does not know) from 127.0.0.1 hold at most
// MaxStartupsPerSource pre-auth slots, the rest are hung up on at once;
// meanwhile an admin from 127.0.0.2 logs in and runs a command. Admitted
// silent connections are cut after LoginGrace. From many sources at
// once, no more than MaxStartups are ever admitted. Before, every
// connection got a goroutine for 30 seconds.
func TestPreauthFlood(t *testing.T) {
	const grace = 3 * time.Second
	f := start(t, func(c *Config) { c.MaxStartups, c.MaxStartupsPerSource, c.LoginGrace = 8, 3, grace })
	addr := "127.0.0.1:" + f.port
	flood := rawConns(t, "127.0.0.1", addr, 200)
	clientKey(t, f.tmp, "stranger")
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			exec.CommandContext(ctx, "ssh", f.sshArgs(filepath.Join(f.tmp, "stranger"), "-p", f.port, "root@127.0.0.1", "true")...).Run()
		}()
	}
	start := time.Now()
	out, stderr, code := run(t, "", "ssh", f.sshArgs(f.key, "-b", "127.0.0.2", "-p", f.port, "root@127.0.0.1", "echo admin ok")...)
	if code != 0 || out != "admin ok\n" {
		t.Fatalf("admin during the flood: %q, exit %d, %s", out, code, stderr)
	}
	t.Logf("admin logged in and ran a command in %v during a 200-connection flood", time.Since(start).Round(time.Millisecond))
	if p := f.srv.pre.peak(); p > 3+1 {
		t.Errorf("peak pre-auth connections %d, want at most 3 from 127.0.0.1 (+1 admin)", p)
	}
	if n := closedSoon(flood[3:], time.Second); n != len(flood)-3 {
		t.Errorf("%d of %d refused flood connections were hung up on, want all", n, len(flood)-3)
	}
	if n := closedSoon(flood[:3], grace+2*time.Second); n != 3 {
		t.Errorf("%d of the 3 admitted silent connections were cut after the login grace, want 3", n)
	}
	wg.Wait()

	// Many sources: the global cap holds.
	var many []net.Conn
	for i := 10; i < 40; i++ {
		many = append(many, rawConns(t, "127.0.1."+strconv.Itoa(i), addr, 2)...)
	}
	time.Sleep(200 * time.Millisecond)
	if p := f.srv.pre.peak(); p > 8 {
		t.Errorf("peak pre-auth connections from 30 sources %d, want at most MaxStartups 8", p)
	}
	if n := closedSoon(many, grace+2*time.Second); n != len(many) {
		t.Errorf("%d of %d connections closed after the grace, want all", n, len(many))
	}
	out, _, code = run(t, "", "ssh", f.sshArgs(f.key, "-b", "127.0.0.2", "-p", f.port, "root@127.0.0.1", "echo admin ok")...)
	if code != 0 || out != "admin ok\n" {
		t.Fatalf("admin after the flood: %q, exit %d", out, code)
	}
}

// connCount is the number of logged-in connections.
func (s *Server) connCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// TestUnusedConnectionClosed: `ssh -N` logs in and opens no session; the
// server hangs up after UnusedTimeout (before, it stayed forever).
func TestUnusedConnectionClosed(t *testing.T) {
	f := start(t, func(c *Config) { c.UnusedTimeout = time.Second })
	begin := time.Now()
	_, stderr, code := run(t, "", "ssh", f.sshArgs(f.key, "-N", "-p", f.port, "root@127.0.0.1")...)
	took := time.Since(begin)
	if took > 10*time.Second {
		t.Fatalf("ssh -N still connected after %v (exit %d, %s)", took, code, stderr)
	}
	t.Logf("ssh -N disconnected after %v", took.Round(time.Millisecond))
	// A session keeps the connection: a 2 s command outlives the 1 s timeout.
	out, _, code := run(t, "", "ssh", f.sshArgs(f.key, "-p", f.port, "root@127.0.0.1", "sleep 2; echo done")...)
	if code != 0 || out != "done\n" {
		t.Errorf("2 s session with a 1 s unused timeout: %q, exit %d", out, code)
	}
}

// freezer is a TCP proxy whose server-to-client direction can be frozen:
// the client stops receiving, as if it had vanished without a FIN.
type freezer struct {
	ln     net.Listener
	mu     sync.Mutex
	frozen bool
}

func newFreezer(t *testing.T, target string) *freezer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &freezer{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			go func() { io.Copy(s, c); s.Close() }()
			go func() {
				buf := make([]byte, 32<<10)
				for {
					n, err := s.Read(buf)
					if err != nil {
						c.Close()
						return
					}
					p.mu.Lock()
					fr := p.frozen
					p.mu.Unlock()
					if !fr {
						c.Write(buf[:n])
					}
				}
			}()
		}
	}()
	return p
}

func (p *freezer) freeze() { p.mu.Lock(); p.frozen = true; p.mu.Unlock() }

// TestKeepaliveDropsDeadPeer: a logged-in client that stops answering
// (its replies never come: the proxy drops what the server sends) is
// dropped after KeepaliveMax missed keepalives; before, the connection
// and its shell stayed forever.
func TestKeepaliveDropsDeadPeer(t *testing.T) {
	f := start(t, func(c *Config) { c.Keepalive, c.KeepaliveMax = 300*time.Millisecond, 3 })
	p := newFreezer(t, "127.0.0.1:"+f.port)
	_, pport, _ := net.SplitHostPort(p.ln.Addr().String())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, "ssh", f.sshArgs(f.key, "-p", pport, "root@127.0.0.1", "echo up; sleep 60")...)
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); cmd.Wait() }()
	buf := make([]byte, 3)
	if _, err := io.ReadFull(stdout, buf); err != nil || string(buf) != "up\n" {
		t.Fatalf("session did not start: %q %v", buf, err)
	}
	if n := f.srv.connCount(); n != 1 {
		t.Fatalf("%d connections before the freeze, want 1", n)
	}
	p.freeze()
	begin := time.Now()
	for f.srv.connCount() != 0 {
		if time.Since(begin) > 10*time.Second {
			t.Fatalf("server still holds the dead peer's connection after %v", time.Since(begin))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("dead peer dropped %v after it stopped answering", time.Since(begin).Round(time.Millisecond))
}
