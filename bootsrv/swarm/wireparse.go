package swarm

import "encoding/binary"

// wireParser splits one direction of a plaintext peer-wire stream into
// the handshake, message headers and payload bytes, however the stream is
// cut into reads or writes. It never copies payloads.
type wireParser struct {
	mode  int
	hs    [handshakeLen]byte
	hsN   int
	hdr   [5]byte // length prefix and message ID
	hdrN  int
	msgID int   // current message's ID, -1 for a keep-alive
	left  int64 // payload bytes still to come
	off   int64 // payload bytes seen
	head  [8]byte
}

const (
	modeHandshake = iota
	modeMessages
	modePass // not a plaintext peer-wire stream, or not ours to look at
)

type wireEvent int

const (
	evHandshake   wireEvent = iota + 1 // n handshake bytes; atEnd once p.hs is complete
	evPlainStream                      // not BitTorrent plaintext: pass everything from here on
	evHeader                           // n header bytes; p.hdr and p.msgID once headerDone
	evPayload                          // n payload bytes of p.msgID
	evPass                             // mode is modePass: all bytes
)

// next consumes a prefix of b and says what it was. n > 0 when len(b) > 0.
// atEnd reports that a message (or the handshake) ended with these bytes.
func (p *wireParser) next(b []byte) (ev wireEvent, n int, atEnd bool) {
	switch p.mode {
	case modePass:
		return evPass, len(b), false
	case modeHandshake:
		for n < len(b) && p.hsN < handshakeLen {
			if p.hsN < len(protocolString) && b[n] != protocolString[p.hsN] {
				p.mode = modePass
				return evPlainStream, len(b), false
			}
			p.hs[p.hsN] = b[n]
			p.hsN++
			n++
		}
		if p.hsN == handshakeLen {
			p.mode = modeMessages
			return evHandshake, n, true
		}
		return evHandshake, n, false
	}
	if p.left > 0 {
		n = int(min(p.left, int64(len(b))))
		for i := 0; i < n && p.off+int64(i) < int64(len(p.head)); i++ {
			p.head[p.off+int64(i)] = b[i]
		}
		p.off += int64(n)
		p.left -= int64(n)
		return evPayload, n, p.left == 0
	}
	// A header: 4-byte length, then (unless a keep-alive) the ID.
	for n < len(b) && p.hdrN < 4 {
		p.hdr[p.hdrN] = b[n]
		p.hdrN++
		n++
	}
	if p.hdrN < 4 {
		return evHeader, n, false
	}
	length := binary.BigEndian.Uint32(p.hdr[:4])
	if length == 0 {
		p.hdrN, p.msgID = 0, -1
		return evHeader, n, true
	}
	if n == len(b) {
		return evHeader, n, false
	}
	p.hdr[4] = b[n]
	n++
	p.msgID = int(p.hdr[4])
	p.hdrN = 0
	p.left, p.off = int64(length)-1, 0
	p.head = [8]byte{}
	return evHeader, n, p.left == 0
}

// headerDone reports whether the last evHeader completed the header.
func (p *wireParser) headerDone() bool { return p.hdrN == 0 }

// index is the first payload word (HAVE's and PIECE's piece index).
func (p *wireParser) index() int { return int(binary.BigEndian.Uint32(p.head[:4])) }

// appendMessage appends a peer-wire message.
func appendMessage(b []byte, id byte, payload []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(1+len(payload)))
	b = append(b, id)
	return append(b, payload...)
}

func appendHave(b []byte, i int) []byte {
	return appendMessage(b, msgHave, binary.BigEndian.AppendUint32(nil, uint32(i)))
}
