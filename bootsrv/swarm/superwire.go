package swarm

import (
	"context"
	"net"
	"sync"
	"sync/atomic"

	"github.com/anacrolix/torrent/metainfo"
)

// Peer-wire message IDs the super-seeding wrapper looks at (BEP 3, BEP 6).
const (
	msgHave     = 4
	msgBitfield = 5
	msgPiece    = 7
	msgHaveAll  = 0x0e
)

// handshakeLen is a plaintext BitTorrent handshake: 19, "BitTorrent
// protocol", 8 reserved bytes, info-hash, peer ID. A connection that does
// not start with one (header obfuscation) is passed through untouched.
const handshakeLen = 68

const protocolString = "\x13BitTorrent protocol"

// maxObservedBitfield bounds the peer bitfield the wrapper buffers (a
// 16 GiB image at 256 KiB pieces has an 8 KiB bitfield).
const maxObservedBitfield = 1 << 20

// superLookup returns the policy for an info-hash (nil: not super-seeded).
type superLookup func(metainfo.Hash) *superSeed

// superListener wraps accepted connections in superConn.
type superListener struct {
	net.Listener
	lookup superLookup
}

func (l superListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newSuperConn(c, l.lookup), nil
}

// superDialer dials peers from the listening address, wrapped.
type superDialer struct {
	d      net.Dialer
	lookup superLookup
}

func (d *superDialer) Dial(ctx context.Context, addr string) (net.Conn, error) {
	c, err := d.d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return newSuperConn(c, d.lookup), nil
}

func (d *superDialer) DialerNetwork() string { return "tcp" }

// superConn rewrites the seeder's outgoing have-announcements (see
// superseed.go) and watches the peer's to learn what it has.
type superConn struct {
	net.Conn
	lookup superLookup

	peerMu sync.Mutex
	peer   atomic.Pointer[ssPeer]
	gone   bool // no policy for this connection, or closed

	wmu      sync.Mutex // guards the fields below; held across writes
	out      wireParser
	skipping bool  // dropping the library's bitfield payload
	sent     bool  // the replacement bitfield went out: HAVEs may follow
	pending  []int // pieces to announce at the next message boundary
	flushing bool

	in     wireParser // only the reading goroutine uses these
	inBits []byte
}

func newSuperConn(c net.Conn, lookup superLookup) *superConn {
	return &superConn{Conn: c, lookup: lookup}
}

// peerFor returns the connection's policy state, creating it from the
// handshake's info-hash the first time either direction completes one.
func (c *superConn) peerFor(hs []byte) *ssPeer {
	c.peerMu.Lock()
	defer c.peerMu.Unlock()
	if p := c.peer.Load(); p != nil || c.gone {
		return p
	}
	var ih metainfo.Hash
	copy(ih[:], hs[28:48])
	s := c.lookup(ih)
	if s == nil {
		c.gone = true
		return nil
	}
	p := s.newPeer()
	c.peer.Store(p)
	return p
}

func (c *superConn) Close() error {
	c.peerMu.Lock()
	if p := c.peer.Load(); p != nil {
		p.close()
	}
	c.gone = true
	c.peerMu.Unlock()
	return c.Conn.Close()
}

// Write passes the library's bytes on, replacing its bitfield or HAVE_ALL
// with a bitfield of the revealed pieces and adding HAVEs between messages.
func (c *superConn) Write(b []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.out.mode == modePass {
		return c.Conn.Write(b)
	}
	total := len(b)
	out := make([]byte, 0, len(b)+64)
	for len(b) > 0 {
		ev, n, end := c.out.next(b)
		chunk := b[:n]
		b = b[n:]
		switch ev {
		case evPass, evPlainStream:
			out = append(out, chunk...)
		case evHandshake:
			out = append(out, chunk...)
			if end && c.peerFor(c.out.hs[:]) == nil {
				c.out.mode = modePass
			}
		case evHeader:
			if !c.out.headerDone() {
				continue // the header's bytes wait in c.out.hdr
			}
			p := c.peer.Load()
			switch {
			case c.out.msgID < 0:
				out = append(out, c.out.hdr[:4]...)
			case p != nil && (c.out.msgID == msgBitfield || c.out.msgID == msgHaveAll):
				c.skipping = true
				out = appendMessage(out, msgBitfield, p.revealedBitfield())
				c.sent, c.pending = true, nil
			default:
				out = append(out, c.out.hdr[:5]...)
			}
		case evPayload:
			if !c.skipping {
				out = append(out, chunk...)
			}
		}
		if end && c.out.mode == modeMessages && c.out.msgID >= 0 && ev != evHandshake {
			c.skipping = false
			if p := c.peer.Load(); p != nil && c.out.msgID == msgPiece && c.out.off > 8 {
				c.pending = append(c.pending, p.onSent(c.out.index(), c.out.off-8)...)
			}
		}
		if end && c.sent {
			out = c.appendPendingLocked(out)
		}
	}
	if _, err := c.Conn.Write(out); err != nil {
		return 0, err
	}
	return total, nil
}

func (c *superConn) appendPendingLocked(out []byte) []byte {
	for _, i := range c.pending {
		out = appendHave(out, i)
	}
	c.pending = c.pending[:0]
	return out
}

// atBoundaryLocked: the outgoing stream is between messages.
func (c *superConn) atBoundaryLocked() bool {
	return c.out.mode == modeMessages && c.out.left == 0 && c.out.hdrN == 0
}

// Read passes the peer's bytes on and notes its HAVE, BITFIELD and
// HAVE_ALL messages.
func (c *superConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 && c.in.mode != modePass {
		c.observe(b[:n])
	}
	return n, err
}

func (c *superConn) observe(b []byte) {
	var reveal []int
	for len(b) > 0 {
		ev, n, end := c.in.next(b)
		chunk := b[:n]
		b = b[n:]
		p := c.peer.Load()
		switch ev {
		case evHandshake:
			if end && c.peerFor(c.in.hs[:]) == nil {
				c.in.mode = modePass
			}
			continue
		case evHeader:
			if c.in.headerDone() && c.in.msgID == msgBitfield {
				c.inBits = nil
				if c.in.left <= maxObservedBitfield {
					c.inBits = make([]byte, 0, c.in.left)
				}
			}
		case evPayload:
			if c.in.msgID == msgBitfield && c.inBits != nil {
				c.inBits = append(c.inBits, chunk...)
			}
		}
		if !end || p == nil {
			continue
		}
		switch c.in.msgID {
		case msgHave:
			if c.in.off == 4 {
				reveal = append(reveal, p.onHave(c.in.index())...)
			}
		case msgHaveAll:
			reveal = append(reveal, p.onBitfield(nil, true)...)
		case msgBitfield:
			if c.inBits != nil {
				reveal = append(reveal, p.onBitfield(c.inBits, false)...)
			}
			c.inBits = nil
		}
	}
	c.queue(reveal)
}

// queue announces pieces revealed on the reading side: at once when the
// outgoing stream is between messages, else at the next boundary.
func (c *superConn) queue(pieces []int) {
	if len(pieces) == 0 {
		return
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.pending = append(c.pending, pieces...)
	if c.sent && !c.flushing {
		c.flushing = true
		go c.flush()
	}
}

// flush writes pending HAVEs if the outgoing stream is between messages.
// Errors are left for the library's next write to find.
func (c *superConn) flush() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.flushing = false
	if !c.atBoundaryLocked() || len(c.pending) == 0 {
		return
	}
	out := c.appendPendingLocked(nil)
	c.Conn.Write(out)
}
