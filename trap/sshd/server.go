// Package sshd is the trap's SSH server, built on golang.org/x/crypto/ssh.
//
// The host key is an ed25519 key generated at start and kept in memory
// only. Authentication is public key only, against the manifest's
// authorized_keys lines (any user name is accepted; sessions run as the
// agent's user, root in the initramfs); password and keyboard-interactive
// are never offered. Sessions support PTY shells (creack/pty, with
// window-change), exec with the command's exit status, env requests, and
// the "sftp" subsystem (pkg/sftp, in process). scp works both ways: modern
// OpenSSH scp speaks SFTP, and legacy `scp -O` execs the `scp` binary
// through the shell when one is on PATH (busybox has none).
//
// Connections are bounded like OpenSSH's sshd (limits.go): at most
// MaxStartups unauthenticated connections, MaxStartupsPerSource from one
// address (more are closed at once), LoginGrace to finish logging in,
// keepalives that drop a vanished peer, and a timeout for a login with no
// open session. "ssh login" is logged once the key's signature has been
// verified, never on a client's question whether a key would be accepted.
package sshd

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// Config configures a Server.
type Config struct {
	// Addr is the listen address. Default ":22".
	Addr string
	// AuthorizedKeys are authorized_keys lines (options are ignored).
	AuthorizedKeys []string
	// Shell runs sessions: "Shell" for a login shell, "Shell -c CMD" for
	// exec. Default "/bin/sh".
	Shell string
	// ExecPrelude is shell code run before every exec request's command, on
	// a line of its own (the agent uses it so that `ssh node trap continue`
	// runs the trap command, not the shell's trap builtin).
	ExecPrelude string
	// Env is the base environment of every session (PATH, HOME, PS1...).
	// TERM comes from the pty request, else "dumb" is not set.
	Env []string
	// Dir is the sessions' working directory (and sftp's). Default "/".
	Dir string
	// HostKey is used instead of generating one (tests).
	HostKey ed25519.PrivateKey
	Log     *slog.Logger

	// Limits (zero: the Default... constants in limits.go). MaxStartups
	// bounds the connections not yet authenticated, MaxStartupsPerSource
	// those from one address; more are closed at once. LoginGrace is the
	// time from connect to a finished login. After login the server sends
	// a keepalive every Keepalive and drops a peer that misses
	// KeepaliveMax in a row; a connection with no open session for
	// UnusedTimeout is closed.
	MaxStartups          int
	MaxStartupsPerSource int
	LoginGrace           time.Duration
	Keepalive            time.Duration
	KeepaliveMax         int
	UnusedTimeout        time.Duration
}

func (c *Config) setDefaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.MaxStartups, DefaultMaxStartups)
	def(&c.MaxStartupsPerSource, DefaultMaxStartupsPerSource)
	def(&c.KeepaliveMax, DefaultKeepaliveMax)
	defDur(&c.LoginGrace, DefaultLoginGrace)
	defDur(&c.Keepalive, DefaultKeepalive)
	defDur(&c.UnusedTimeout, DefaultUnusedTimeout)
}

// Server is a running or ready SSH server.
type Server struct {
	cfg     Config
	signer  ssh.Signer
	log     *slog.Logger
	mu      sync.Mutex
	keys    map[string]string // marshaled public key -> comment
	ln      net.Listener
	conns   map[*ssh.ServerConn]struct{}
	closed  bool
	wg      sync.WaitGroup
	sshConf *ssh.ServerConfig
	pre     *startups
}

// New generates the host key and parses the authorized keys. Malformed
// key lines are logged and skipped; no valid key at all is not an error
// (nobody can log in, which is the safe default).
func New(cfg Config) (*Server, error) {
	if cfg.Addr == "" {
		cfg.Addr = ":22"
	}
	if cfg.Shell == "" {
		cfg.Shell = "/bin/sh"
	}
	if cfg.Dir == "" {
		cfg.Dir = "/"
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	cfg.setDefaults()
	key := cfg.HostKey
	if key == nil {
		var err error
		_, key, err = ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generate ed25519 host key: %w", err)
		}
	}
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		return nil, fmt.Errorf("host key signer: %w", err)
	}
	s := &Server{cfg: cfg, signer: signer, log: cfg.Log, conns: map[*ssh.ServerConn]struct{}{},
		pre: newStartups(cfg.MaxStartups, cfg.MaxStartupsPerSource)}
	s.SetAuthorizedKeys(cfg.AuthorizedKeys)
	s.sshConf = &ssh.ServerConfig{
		PublicKeyCallback: s.checkKey,
		MaxAuthTries:      6,
		ServerVersion:     "SSH-2.0-DisklessTrap",
	}
	s.sshConf.AddHostKey(signer)
	return s, nil
}

// SetAuthorizedKeys replaces the allowed keys (e.g. after a manifest
// refetch). It returns how many lines parsed.
func (s *Server) SetAuthorizedKeys(lines []string) int {
	keys := map[string]string{}
	for i, line := range lines {
		for _, l := range strings.Split(line, "\n") {
			l = strings.TrimSpace(l)
			if l == "" || strings.HasPrefix(l, "#") {
				continue
			}
			pk, comment, _, _, err := ssh.ParseAuthorizedKey([]byte(l))
			if err != nil {
				s.log.Warn("ssh key skipped", "index", i, "err", err)
				continue
			}
			keys[string(pk.Marshal())] = comment
		}
	}
	s.mu.Lock()
	s.keys = keys
	s.mu.Unlock()
	return len(keys)
}

func (s *Server) checkKey(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	s.mu.Lock()
	comment, ok := s.keys[string(key.Marshal())]
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("key %s not authorized", ssh.FingerprintSHA256(key))
	}
	// Not a login yet: the callback also answers a client asking whether
	// a key would do (no signature). handleConn logs the login once the
	// signature has been checked.
	return &ssh.Permissions{Extensions: map[string]string{"fp": ssh.FingerprintSHA256(key), "comment": comment}}, nil
}

// HostKey returns the public host key.
func (s *Server) HostKey() ssh.PublicKey { return s.signer.PublicKey() }

// AuthorizedKey returns the host key in authorized_keys form, without the
// trailing newline.
func (s *Server) AuthorizedKey() string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.signer.PublicKey())))
}

// Fingerprint returns the host key's SHA256 fingerprint ("SHA256:...").
func (s *Server) Fingerprint() string { return ssh.FingerprintSHA256(s.signer.PublicKey()) }

// Listen opens the listening socket (so callers know the port before
// Serve).
func (s *Server) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("ssh server closed")
	}
	if s.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("ssh listen %s: %w", s.cfg.Addr, err)
	}
	s.ln = ln
	return nil
}

// Addr is the listening address (nil before Listen).
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Serve accepts connections until Close. It calls Listen when needed.
// It returns nil after Close.
func (s *Server) Serve() error {
	if err := s.Listen(); err != nil {
		return err
	}
	s.mu.Lock()
	ln := s.ln
	s.mu.Unlock()
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(delay*2, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return fmt.Errorf("ssh accept: %w", err)
		}
		delay = 0
		if ok, n := s.pre.admit(c.RemoteAddr()); !ok {
			if n > 0 {
				s.log.Warn("ssh connections refused: too many unauthenticated", "count", n, "last", c.RemoteAddr().String(),
					"max", s.cfg.MaxStartups, "per_source", s.cfg.MaxStartupsPerSource)
			}
			c.Close()
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handleConn(c)
		}()
	}
}

// Close stops listening, closes every connection (killing their sessions)
// and waits for the handlers to finish.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	var err error
	if s.ln != nil {
		err = s.ln.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

func (s *Server) handleConn(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(s.cfg.LoginGrace)) // key exchange and authentication
	sc, chans, reqs, err := ssh.NewServerConn(c, s.sshConf)
	s.pre.done(c.RemoteAddr())
	if err != nil {
		s.log.Info("ssh handshake failed", "remote", c.RemoteAddr().String(), "err", err)
		c.Close()
		return
	}
	_ = c.SetDeadline(time.Time{})
	s.log.Info("ssh login", "user", sc.User(), "remote", sc.RemoteAddr().String(),
		"key", sc.Permissions.Extensions["fp"], "comment", sc.Permissions.Extensions["comment"])
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		sc.Close()
		return
	}
	s.conns[sc] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, sc)
		s.mu.Unlock()
		sc.Close()
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go ssh.DiscardRequests(reqs)
	stop := make(chan struct{})
	defer close(stop)
	go keepalive(sc, s.cfg.Keepalive, s.cfg.KeepaliveMax, stop)
	idle := newUnused(sc, s.cfg.UnusedTimeout)
	defer idle.stop()
	var wg sync.WaitGroup
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "only session channels")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			s.log.Warn("ssh channel accept", "err", err)
			continue
		}
		wg.Add(1)
		idle.opened()
		go func() {
			defer wg.Done()
			defer idle.closed()
			(&session{srv: s, ch: ch, user: sc.User()}).serve(ctx, creqs)
		}()
	}
	cancel()
	wg.Wait()
}
