package swarm

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"slices"
	"testing"

	"github.com/anacrolix/torrent/metainfo"
)

// wireMsg is one parsed message: ID (-1 keep-alive), payload length and,
// for HAVE and PIECE, the index.
type wireMsg struct {
	id, n, index int
}

// parseAll runs a parser over b cut into chunks of size step (0: whole)
// and returns the messages; hs reports whether a handshake was seen.
func parseAll(b []byte, step int) (msgs []wireMsg, hs, pass bool) {
	var p wireParser
	for len(b) > 0 {
		c := b
		if step > 0 && len(c) > step {
			c = c[:step]
		}
		for len(c) > 0 {
			ev, n, end := p.next(c)
			if n <= 0 {
				panic("no progress")
			}
			c, b = c[n:], b[n:]
			switch {
			case ev == evPlainStream || ev == evPass:
				pass = true
			case ev == evHandshake:
				hs = hs || end
			case end:
				m := wireMsg{id: p.msgID, n: int(p.off)}
				if p.msgID == msgHave || p.msgID == msgPiece {
					m.index = p.index()
				}
				msgs = append(msgs, m)
			}
		}
	}
	return msgs, hs, pass
}

func handshake(ih metainfo.Hash) []byte {
	b := []byte(protocolString)
	b = append(b, make([]byte, 8)...)
	b = append(b, ih[:]...)
	return append(b, bytes.Repeat([]byte{'P'}, 20)...)
}

func pieceMsg(index, begin, n int) []byte {
	p := binary.BigEndian.AppendUint32(nil, uint32(index))
	p = binary.BigEndian.AppendUint32(p, uint32(begin))
	return appendMessage(nil, msgPiece, append(p, make([]byte, n)...))
}

func TestWireParserSplits(t *testing.T) {
	var s []byte
	s = append(s, handshake(metainfo.Hash{1})...)
	s = append(s, 0, 0, 0, 0)    // keep-alive
	s = appendMessage(s, 1, nil) // unchoke
	s = appendMessage(s, msgBitfield, []byte{0xff, 0x80})
	s = appendHave(s, 7)
	s = append(s, pieceMsg(3, 16384, 1000)...)
	s = appendMessage(s, msgHaveAll, nil)
	want := []wireMsg{{-1, 0, 0}, {1, 0, 0}, {msgBitfield, 2, 0}, {msgHave, 4, 7}, {msgPiece, 1008, 3}, {msgHaveAll, 0, 0}}
	for _, step := range []int{0, 1, 2, 3, 5, 7, 13, 64, 69} {
		t.Run(fmt.Sprintf("step%d", step), func(t *testing.T) {
			got, hs, pass := parseAll(s, step)
			if !hs || pass || !slices.Equal(got, want) {
				t.Errorf("parse in %d-byte chunks = %v (handshake %v, pass %v), want %v", step, got, hs, pass, want)
			}
		})
	}
	if _, hs, pass := parseAll([]byte("\x13BitTorrent protocoX"+string(make([]byte, 60))), 3); hs || !pass {
		t.Errorf("parse of a non-BitTorrent stream: handshake %v pass %v, want false true", hs, pass)
	}
}

func FuzzWireParser(f *testing.F) {
	f.Add(append(handshake(metainfo.Hash{}), appendHave(nil, 3)...), 5)
	f.Add(append(handshake(metainfo.Hash{}), pieceMsg(1, 0, 40)...), 1)
	f.Add([]byte{0x13, 'B', 0xff}, 2)
	f.Fuzz(func(t *testing.T, b []byte, step int) {
		if step < 0 || step > len(b) {
			step = 0
		}
		whole, hs, pass := parseAll(b, 0)
		cut, hs2, pass2 := parseAll(b, step)
		if !slices.Equal(whole, cut) || hs != hs2 || pass != pass2 {
			t.Errorf("parse whole = %v %v %v, in %d-byte chunks = %v %v %v", whole, hs, pass, step, cut, hs2, pass2)
		}
	})
}

func TestSuperSeedPolicy(t *testing.T) {
	// 1 MiB pieces: 8 MiB of window shared by the peers, far from using
	// up the pieces.
	const pieces, plen = 1024, 1 << 20
	s := newSuperSeed(pieces, plen, pieces*plen-100)
	var peers []*ssPeer
	seen := map[int]int{}
	for range 4 {
		p := s.newPeer()
		peers = append(peers, p)
	}
	for _, p := range peers {
		for i := range p.outstanding {
			seen[i]++
		}
	}
	for i, n := range seen {
		if n > 1 {
			t.Errorf("piece %d revealed to %d peers at start, want 1", i, n)
		}
	}
	if got := len(peers[0].outstanding); got != 8 {
		t.Errorf("first peer got %d pieces revealed, want 8 (alone: 8 MiB)", got)
	}
	p := peers[3]
	w := len(p.outstanding)
	if w != 2 {
		t.Errorf("fourth peer got %d pieces revealed, want 2 (8 MiB over 4 peers)", w)
	}
	var first int
	for i := range p.outstanding {
		first = i
		break
	}
	if got := p.onSent(first, s.length(first)-1); got != nil {
		t.Errorf("onSent(partial piece) revealed %v, want nothing", got)
	}
	got := p.onSent(first, 1)
	if len(got) != 1 || s.sent[first] != 1 || len(p.outstanding) != w {
		t.Fatalf("onSent(rest of piece %d) revealed %v, sent %d, outstanding %d; want 1 new, 1, %d", first, got, s.sent[first], len(p.outstanding), w)
	}
	if seen[got[0]] != 0 {
		t.Errorf("revealed piece %d was promised to another peer while %d pieces were unsent", got[0], pieces-len(seen))
	}
	// The last piece is shorter.
	if s.length(pieces-1) != plen-100 {
		t.Errorf("length(last) = %d, want %d", s.length(pieces-1), plen-100)
	}
	// A peer that has everything gets nothing more, and closing releases it.
	q := peers[1]
	if got := q.onBitfield(nil, true); got != nil || len(q.outstanding) != 0 {
		t.Errorf("after HAVE_ALL revealed %v, outstanding %d, want none", got, len(q.outstanding))
	}
	for _, p := range peers {
		p.close()
	}
	for i := range pieces {
		if s.assigned[i] != 0 || s.holders[i] != 0 {
			t.Fatalf("after every peer closed: piece %d assigned %d, held %d, want 0", i, s.assigned[i], s.holders[i])
		}
	}
}

// captureConn records writes and serves reads from in.
type captureConn struct {
	net.Conn
	out bytes.Buffer
	in  *bytes.Reader
}

func (c *captureConn) Write(b []byte) (int, error) { return c.out.Write(b) }
func (c *captureConn) Read(b []byte) (int, error)  { return c.in.Read(b) }
func (c *captureConn) Close() error                { return nil }

func TestSuperConnRewrites(t *testing.T) {
	const pieces, plen = 40, 1024
	ih := metainfo.Hash{9}
	s := newSuperSeed(pieces, plen, pieces*plen)
	peerBits := make([]byte, 5)
	peerBits[0] = 0x80 // the peer has piece 0
	in := append(handshake(ih), appendMessage(nil, msgBitfield, peerBits)...)
	cc := &captureConn{in: bytes.NewReader(in)}
	c := newSuperConn(cc, func(h metainfo.Hash) *superSeed {
		if h == ih {
			return s
		}
		return nil
	})
	buf := make([]byte, 7)
	for {
		if _, err := c.Read(buf); err != nil {
			break
		}
	}
	// The library writes its handshake, an extended handshake and HAVE_ALL
	// in odd chunks, then a full PIECE.
	lib := append(handshake(ih), appendMessage(nil, 20, []byte("d1:md"+"e"))...)
	lib = appendMessage(lib, msgHaveAll, nil)
	for len(lib) > 0 {
		n := min(len(lib), 11)
		if w, err := c.Write(lib[:n]); err != nil || w != n {
			t.Fatalf("Write(%d bytes) = %d, %v", n, w, err)
		}
		lib = lib[n:]
	}
	p := c.peer.Load()
	if p == nil {
		t.Fatal("no policy state after the handshake")
	}
	var revealed, outstanding []int
	for i, r := range p.revealed {
		if r {
			revealed = append(revealed, i)
		}
	}
	for i := range p.outstanding {
		outstanding = append(outstanding, i)
	}
	slices.Sort(outstanding)
	if slices.Contains(outstanding, 0) {
		t.Errorf("piece 0, which the peer has, is still outstanding")
	}
	msgs, _, _ := parseAll(cc.out.Bytes(), 0)
	if len(msgs) != 2 || msgs[1].id != msgBitfield {
		t.Fatalf("seeder sent %v, want extended handshake and a bitfield", msgs)
	}
	bf := cc.out.Bytes()[len(cc.out.Bytes())-5:]
	var inBitfield []int
	for i := range pieces {
		if bf[i/8]&(0x80>>(i%8)) != 0 {
			inBitfield = append(inBitfield, i)
		}
	}
	if !slices.Equal(inBitfield, revealed) {
		t.Errorf("bitfield announces %v, want the revealed pieces %v", inBitfield, revealed)
	}
	cc.out.Reset()
	if _, err := c.Write(pieceMsg(outstanding[0], 0, plen)); err != nil {
		t.Fatal(err)
	}
	msgs, _, _ = parseAll(append(handshake(ih), cc.out.Bytes()...), 0)
	if len(msgs) != 2 || msgs[0].id != msgPiece || msgs[1].id != msgHave || slices.Contains(revealed, msgs[1].index) || msgs[1].index == 0 {
		t.Errorf("after sending piece %d the seeder wrote %v, want the PIECE then a HAVE of a new piece", outstanding[0], msgs)
	}
	c.Close()
}
