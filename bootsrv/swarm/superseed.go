package swarm

import (
	"math/rand/v2"
	"sync"
)

// Super-seeding (after BEP 16): the seeder does not tell a peer it has
// every piece. It tells each peer about a few pieces at a time, choosing
// the pieces it has uploaded (or promised to another peer) least often,
// and reveals another one whenever a revealed piece has gone out in full
// or the peer got it elsewhere. Peers booting together then ask the seeder
// for different pieces and trade the rest among themselves, so the seeder
// sends the image about once instead of once per peer.
//
// The library has no hook for this, so it is done on the wire (see
// superwire.go): the seeder's bitfield (or HAVE_ALL) is replaced with the
// revealed subset and HAVE messages are added as pieces are revealed. The
// seeder still serves any piece it is asked for.

// superSeed is the reveal policy for one torrent, shared by its peers.
type superSeed struct {
	mu        sync.Mutex
	pieceLen  int64 // usual piece length
	lastLen   int64 // length of the last piece
	numPieces int
	sent      []int // full copies uploaded
	assigned  []int // revealed to a peer that has not got it yet
	holders   []int // connected peers that have it
	peers     int
}

func newSuperSeed(numPieces int, pieceLen, totalLen int64) *superSeed {
	last := totalLen - int64(numPieces-1)*pieceLen
	return &superSeed{
		pieceLen: pieceLen, lastLen: last, numPieces: numPieces,
		sent: make([]int, numPieces), assigned: make([]int, numPieces), holders: make([]int, numPieces),
	}
}

func (s *superSeed) length(i int) int64 {
	if i == s.numPieces-1 {
		return s.lastLen
	}
	return s.pieceLen
}

// windowLocked is how many pieces a peer may have revealed but not yet
// got. The seeder serves a peer's requests in no particular order, so a
// revealed piece is complete (and can be traded) only about when the
// whole window is: the window is superWindowBytes split over the peers
// (a lone peer needs a deep one to stay busy, many peers share the
// seeder's bandwidth and should get each piece soon), and no more than
// half the pieces split over the peers; never fewer than 2 pieces.
func (s *superSeed) windowLocked() int {
	peers := int64(max(1, s.peers))
	w := int64(s.numPieces) / (2 * peers)
	w = min(w, superWindowBytes/peers/s.pieceLen)
	return int(max(2, w))
}

// superWindowBytes is the data all peers together may have revealed but
// not yet got.
var superWindowBytes int64 = 8 << 20

// ssPeer is one connection's view: what the peer has and what it was told.
type ssPeer struct {
	s           *superSeed
	has         []bool
	revealed    []bool
	outstanding map[int]struct{}
	sentBytes   map[int]int64
	start       int
	closed      bool
}

// newPeer registers a connection and reveals its first pieces.
func (s *superSeed) newPeer() *ssPeer {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.peers++
	p := &ssPeer{
		s: s, has: make([]bool, s.numPieces), revealed: make([]bool, s.numPieces),
		outstanding: map[int]struct{}{}, sentBytes: map[int]int64{},
		start: rand.IntN(s.numPieces),
	}
	p.fillLocked()
	return p
}

// revealedBitfield is the bitfield payload announcing what p was told.
func (p *ssPeer) revealedBitfield() []byte {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	b := make([]byte, (p.s.numPieces+7)/8)
	for i, r := range p.revealed {
		if r {
			b[i/8] |= 0x80 >> (i % 8)
		}
	}
	return b
}

// onSent records n bytes of piece i uploaded to p and returns the pieces
// to reveal now.
func (p *ssPeer) onSent(i int, n int64) []int {
	s := p.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.closed || i < 0 || i >= s.numPieces {
		return nil
	}
	p.sentBytes[i] += n
	if p.sentBytes[i] < s.length(i) {
		return nil
	}
	delete(p.sentBytes, i)
	s.sent[i]++
	p.gotLocked(i)
	return p.fillLocked()
}

// onHave records that the peer has piece i and returns pieces to reveal.
func (p *ssPeer) onHave(i int) []int {
	s := p.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.closed || i < 0 || i >= s.numPieces {
		return nil
	}
	p.gotLocked(i)
	return p.fillLocked()
}

// onBitfield records a bitfield (or, with all set, HAVE_ALL).
func (p *ssPeer) onBitfield(bf []byte, all bool) []int {
	s := p.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.closed {
		return nil
	}
	for i := range s.numPieces {
		if all || (i/8 < len(bf) && bf[i/8]&(0x80>>(i%8)) != 0) {
			p.gotLocked(i)
		}
	}
	return p.fillLocked()
}

// close forgets the peer: its pieces are no longer promised or held.
func (p *ssPeer) close() {
	s := p.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	s.peers--
	for i := range p.outstanding {
		s.assigned[i]--
	}
	for i, h := range p.has {
		if h {
			s.holders[i]--
		}
	}
}

func (p *ssPeer) gotLocked(i int) {
	s := p.s
	if !p.has[i] {
		p.has[i] = true
		s.holders[i]++
	}
	if _, ok := p.outstanding[i]; ok {
		delete(p.outstanding, i)
		s.assigned[i]--
	}
}

// fillLocked reveals pieces until the window is full: the peer lacks them
// and they have gone out (or been promised) least often, then are held by
// fewest peers; ties go to the first from the peer's own random start.
func (p *ssPeer) fillLocked() []int {
	s := p.s
	var out []int
	for w := s.windowLocked(); len(p.outstanding) < w; {
		best, bestScore, bestHolders := -1, 0, 0
		for k := range s.numPieces {
			i := (p.start + k) % s.numPieces
			if p.has[i] || p.revealed[i] {
				continue
			}
			score := s.sent[i] + s.assigned[i]
			if best < 0 || score < bestScore || (score == bestScore && s.holders[i] < bestHolders) {
				best, bestScore, bestHolders = i, score, s.holders[i]
				if score == 0 && bestHolders == 0 {
					break
				}
			}
		}
		if best < 0 {
			break
		}
		p.revealed[best] = true
		p.outstanding[best] = struct{}{}
		s.assigned[best]++
		out = append(out, best)
	}
	return out
}
