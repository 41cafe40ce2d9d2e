package tftpd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pin/tftp/v3"
)

// errNotFound is the only error a client ever sees for a read that fails
// before the transfer starts; it reveals no path.
var errNotFound = errors.New("file not found")

// Server is a read-only TFTP server rooted in one directory.
type Server struct {
	root string
	log  *slog.Logger

	// Timeout is the per-packet retransmission timeout (default 2s) and
	// Retries how often a packet is sent again (default DefaultRetries);
	// MaxTransfers and MaxPerSource cap the transfers running at once, in
	// all and from one source address (limits.go). Set them before Serve.
	Timeout      time.Duration
	Retries      int
	MaxTransfers int
	MaxPerSource int

	sent, refused, failed, busy, started atomic.Uint64
	slots                                slots
}

// Stats counts transfers.
type Stats struct {
	Sent    uint64 // files sent completely
	Refused uint64 // not found, outside the root, not a regular file, writes
	Failed  uint64 // transfers that broke off
	Busy    uint64 // requests refused by a cap (limits.go)
	Started uint64 // transfers that got a slot
	Peak    int    // most transfers running at once
}

// New returns a server for the files under root. A nil log means
// slog.Default().
func New(root string, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	return &Server{root: root, log: log, Timeout: 2 * time.Second, Retries: DefaultRetries,
		MaxTransfers: DefaultMaxTransfers, MaxPerSource: DefaultMaxPerSource}
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	return Stats{Sent: s.sent.Load(), Refused: s.refused.Load(), Failed: s.failed.Load(),
		Busy: s.busy.Load(), Started: s.started.Load(), Peak: s.slots.peakNow()}
}

// Serve listens on the UDP address addr (e.g. ":69") and serves until ctx is
// done; it then waits for running transfers and returns nil.
func (s *Server) Serve(ctx context.Context, addr string) error {
	conn, err := net.ListenPacket("udp", addr)
	if err != nil {
		return fmt.Errorf("tftp listen %s: %w", addr, err)
	}
	return s.ServeConn(ctx, conn)
}

// ServeConn is Serve on a socket the caller opened (tests use port 0). It
// closes conn when it returns.
func (s *Server) ServeConn(ctx context.Context, conn net.PacketConn) error {
	root, err := os.OpenRoot(s.root)
	if err != nil {
		conn.Close()
		return fmt.Errorf("tftp root: %w", err)
	}
	defer root.Close()
	absRoot, err := filepath.Abs(s.root)
	if err != nil {
		conn.Close()
		return fmt.Errorf("tftp root %s: %w", s.root, err)
	}
	if s.MaxTransfers <= 0 {
		s.MaxTransfers = DefaultMaxTransfers
	}
	if s.MaxPerSource <= 0 {
		s.MaxPerSource = DefaultMaxPerSource
	}
	srv := tftp.NewServer(func(name string, rf io.ReaderFrom) error {
		return s.read(root, absRoot, name, rf)
	}, nil) // nil write handler: write requests are refused
	srv.SetTimeout(s.Timeout)
	srv.SetRetries(s.Retries)
	// A fixed pause before a retransmit (the library's default is a random
	// one up to a second): a transfer's lifetime, and so how long it holds
	// its slot, is bounded by (Retries+1) * (Timeout + Timeout/4).
	srv.SetBackoff(func(int) time.Duration { return s.Timeout / 4 })
	srv.SetHook(hook{s})
	stop := context.AfterFunc(ctx, srv.Shutdown)
	defer stop()
	s.log.Info("tftp serving", "addr", conn.LocalAddr().String(), "root", s.root)
	err = srv.Serve(conn)
	if ctx.Err() != nil {
		return nil
	}
	if err != nil {
		return fmt.Errorf("tftp serve %s: %w", conn.LocalAddr(), err)
	}
	return nil
}

// read answers one read request.
func (s *Server) read(root *os.Root, absRoot, name string, rf io.ReaderFrom) error {
	peer, src := "", ""
	if ot, ok := rf.(tftp.OutgoingTransfer); ok {
		ra := ot.RemoteAddr()
		peer, src = ra.String(), source(&ra)
	}
	if !s.slots.take(src, s.MaxTransfers, s.MaxPerSource, s.Timeout) {
		if n := s.busy.Add(1); n&(n-1) == 0 { // log the 1st, 2nd, 4th, 8th... refusal
			s.log.Warn("tftp refused: too many transfers", "peer", peer, "refused_so_far", n,
				"max_transfers", s.MaxTransfers, "max_per_source", s.MaxPerSource)
		}
		return errBusy
	}
	defer s.slots.release(src)
	s.started.Add(1)
	rel, ok := Clean(absRoot, name)
	if !ok {
		s.refused.Add(1)
		s.log.Warn("tftp refused: path leaves the root", "name", name, "peer", peer)
		return errNotFound
	}
	f, err := root.Open(rel)
	if err != nil {
		s.refused.Add(1)
		s.log.Info("tftp not found", "name", name, "peer", peer, "err", err)
		return errNotFound
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		s.refused.Add(1)
		s.log.Info("tftp not a regular file", "name", name, "peer", peer)
		return errNotFound
	}
	if ot, ok := rf.(tftp.OutgoingTransfer); ok {
		ot.SetSize(fi.Size()) // answers the tsize option
	}
	start := time.Now()
	n, err := rf.ReadFrom(f)
	if err != nil {
		// The transfer is already under way; pin/tftp has told the client.
		s.log.Warn("tftp transfer failed", "name", rel, "peer", peer, "sent", n, "err", err)
		return err
	}
	s.log.Info("tftp sent", "name", rel, "peer", peer, "bytes", n, "duration", time.Since(start).Round(time.Millisecond).String())
	return nil
}

// Clean maps a requested name to a path relative to the root, or reports
// false when the name leaves the root. Leading slashes are dropped (the root
// is "/" to clients), an absolute path that starts with the root's own
// absolute path is accepted, backslashes count as slashes, and any ".."
// element is refused outright. Symlinks are checked later by os.Root.
func Clean(absRoot, name string) (string, bool) {
	if name == "" || strings.ContainsRune(name, 0) {
		return "", false
	}
	name = strings.ReplaceAll(name, `\`, "/")
	if absRoot != "" && absRoot != "/" && strings.HasPrefix(name, absRoot+"/") {
		name = name[len(absRoot):]
	}
	for _, el := range strings.Split(name, "/") {
		if el == ".." {
			return "", false
		}
	}
	rel := strings.TrimLeft(path.Clean("/"+name), "/")
	if rel == "" || !fs.ValidPath(rel) {
		return "", false
	}
	return rel, true
}

// hook counts finished and failed transfers.
type hook struct{ s *Server }

func (h hook) OnSuccess(tftp.TransferStats) { h.s.sent.Add(1) }

func (h hook) OnFailure(st tftp.TransferStats, err error) {
	if errors.Is(err, errNotFound) || errors.Is(err, errBusy) {
		return // counted as refused or busy already
	}
	if strings.Contains(err.Error(), "write requests") {
		h.s.refused.Add(1)
		h.s.log.Warn("tftp refused a write request", "name", st.Filename, "peer", st.RemoteAddr.String())
		return
	}
	h.s.failed.Add(1)
}
