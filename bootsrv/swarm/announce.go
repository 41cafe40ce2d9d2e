package swarm

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
)

// Announce events (BEP 3). EventNone is a regular interval announce.
const (
	EventNone      = ""
	EventStarted   = "started"
	EventCompleted = "completed"
	EventStopped   = "stopped"
)

// Announce is one parsed /announce request.
type Announce struct {
	InfoHash   [20]byte
	PeerID     [20]byte
	Addr       netip.AddrPort // source address of the request, port from the query
	Uploaded   int64
	Downloaded int64
	Left       int64
	Event      string
	NumWant    int  // -1 when absent
	Compact    bool // compact=1 (BEP 23); we answer compact unless compact=0
	NoPeerID   bool // no_peer_id=1 (non-compact answers only)
}

// InfoHashHex is the info-hash in lower-case hex.
func (a *Announce) InfoHashHex() string { return hex.EncodeToString(a.InfoHash[:]) }

// ParseAnnounce parses the query string of an announce request coming from
// remote. The peer's address is always remote's IP: the "ip" parameter is
// ignored, so a node cannot announce another address than its own.
func ParseAnnounce(rawQuery string, remote netip.Addr) (*Announce, error) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, fmt.Errorf("announce query: %w", err)
	}
	a := &Announce{NumWant: -1, Compact: true}
	if err := fixed20(q, "info_hash", &a.InfoHash); err != nil {
		return nil, err
	}
	if err := fixed20(q, "peer_id", &a.PeerID); err != nil {
		return nil, err
	}
	port, err := strconv.ParseUint(q.Get("port"), 10, 16)
	if err != nil || port == 0 {
		return nil, fmt.Errorf("announce: field port %q: want 1..65535", q.Get("port"))
	}
	if !remote.IsValid() {
		return nil, fmt.Errorf("announce: no source address")
	}
	a.Addr = netip.AddrPortFrom(remote.Unmap(), uint16(port))
	for _, f := range []struct {
		name     string
		dst      *int64
		optional bool
	}{
		{"uploaded", &a.Uploaded, true},
		{"downloaded", &a.Downloaded, true},
		{"left", &a.Left, false},
	} {
		s := q.Get(f.name)
		if s == "" && f.optional {
			continue
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("announce: field %s %q: want a non-negative integer", f.name, s)
		}
		*f.dst = v
	}
	switch ev := q.Get("event"); ev {
	case EventNone, "empty":
		a.Event = EventNone
	case EventStarted, EventCompleted, EventStopped:
		a.Event = ev
	default:
		return nil, fmt.Errorf("announce: field event %q: want started, completed, stopped or none", ev)
	}
	if s := q.Get("numwant"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("announce: field numwant %q: want a non-negative integer", s)
		}
		a.NumWant = n
	}
	a.Compact = q.Get("compact") != "0"
	a.NoPeerID = q.Get("no_peer_id") == "1"
	return a, nil
}

func fixed20(q url.Values, key string, dst *[20]byte) error {
	vs, ok := q[key]
	if !ok || len(vs) != 1 {
		return fmt.Errorf("announce: field %s: want exactly one value", key)
	}
	if len(vs[0]) != 20 {
		return fmt.Errorf("announce: field %s: %d bytes, want 20", key, len(vs[0]))
	}
	copy(dst[:], vs[0])
	return nil
}
