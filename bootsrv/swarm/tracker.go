package swarm

import (
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"sort"
	"sync"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
)

// Tracker defaults.
const (
	DefaultInterval = 30 * time.Second
	DefaultNumWant  = 50
	MaxNumWant      = 200
)

// Tracker is a private BitTorrent HTTP tracker: mount it at /announce. It
// answers only for registered info-hashes and only to peers whose source
// address Allow accepts. Peers that do not announce within PeerTTL are
// forgotten. The zero value is not usable: call NewTracker.
type Tracker struct {
	// Allow decides whether a source address may announce (bootsrv: a
	// known node or bootsrv itself). Nil allows every address.
	Allow func(ip netip.Addr) bool
	// Interval is the announce interval told to clients.
	Interval time.Duration
	// PeerTTL is how long a silent peer stays listed; default 3*Interval.
	PeerTTL time.Duration
	// Log receives refused announces; default slog.Default().
	Log *slog.Logger
	// Now is the clock (tests).
	Now func() time.Time

	mu     sync.Mutex
	swarms map[metainfo.Hash]*swarmState
}

type swarmState struct {
	name      string
	completed int // "completed" events seen
	peers     map[[20]byte]*peerState
}

type peerState struct {
	id         [20]byte
	addr       netip.AddrPort
	uploaded   int64
	downloaded int64
	left       int64
	first      time.Time
	last       time.Time
}

// NewTracker returns a tracker admitting the addresses allow accepts.
func NewTracker(allow func(netip.Addr) bool) *Tracker {
	return &Tracker{Allow: allow, swarms: map[metainfo.Hash]*swarmState{}}
}

// Register makes the tracker answer for ih; name is shown in the stats.
// Registering again keeps the peers and renames.
func (t *Tracker) Register(ih metainfo.Hash, name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.swarms == nil {
		t.swarms = map[metainfo.Hash]*swarmState{}
	}
	if s, ok := t.swarms[ih]; ok {
		s.name = name
		return
	}
	t.swarms[ih] = &swarmState{name: name, peers: map[[20]byte]*peerState{}}
}

// Unregister forgets ih and its peers.
func (t *Tracker) Unregister(ih metainfo.Hash) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.swarms, ih)
}

func (t *Tracker) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

func (t *Tracker) interval() time.Duration {
	if t.Interval > 0 {
		return t.Interval
	}
	return DefaultInterval
}

func (t *Tracker) ttl() time.Duration {
	if t.PeerTTL > 0 {
		return t.PeerTTL
	}
	return 3 * t.interval()
}

func (t *Tracker) log() *slog.Logger {
	if t.Log != nil {
		return t.Log
	}
	return slog.Default()
}

// ServeHTTP answers one announce. Errors go back as a bencoded "failure
// reason" with status 200, as BEP 3 clients expect.
func (t *Tracker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	remote, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		failure(w, "cannot tell your address")
		return
	}
	ip := remote.Addr().Unmap()
	if t.Allow != nil && !t.Allow(ip) {
		t.log().Warn("tracker: announce refused", "remote", ip.String())
		failure(w, "address not allowed")
		return
	}
	a, err := ParseAnnounce(r.URL.RawQuery, ip)
	if err != nil {
		failure(w, err.Error())
		return
	}
	resp, err := t.announce(a)
	if err != nil {
		failure(w, err.Error())
		return
	}
	b, err := bencode.Marshal(resp)
	if err != nil {
		failure(w, "internal error")
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

func failure(w http.ResponseWriter, reason string) {
	b, _ := bencode.Marshal(map[string]string{"failure reason": reason})
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write(b)
}

// announceResponse is the bencoded answer. Peers is a string of 6-byte
// entries when compact, else a list of dicts.
type announceResponse struct {
	Interval    int64 `bencode:"interval"`
	MinInterval int64 `bencode:"min interval"`
	Complete    int   `bencode:"complete"`
	Incomplete  int   `bencode:"incomplete"`
	Peers       any   `bencode:"peers"`
	Peers6      any   `bencode:"peers6,omitempty"`
}

type dictPeer struct {
	ID   string `bencode:"peer id,omitempty"`
	IP   string `bencode:"ip"`
	Port int    `bencode:"port"`
}

// announce records a and returns the answer.
func (t *Tracker) announce(a *Announce) (*announceResponse, error) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.swarms[metainfo.Hash(a.InfoHash)]
	if !ok {
		return nil, fmt.Errorf("unknown info_hash %s", a.InfoHashHex())
	}
	s.expire(now.Add(-t.ttl()))
	if a.Event == EventStopped {
		delete(s.peers, a.PeerID)
	} else {
		p, ok := s.peers[a.PeerID]
		if !ok {
			p = &peerState{id: a.PeerID, first: now}
			s.peers[a.PeerID] = p
		}
		p.addr, p.uploaded, p.downloaded, p.left, p.last = a.Addr, a.Uploaded, a.Downloaded, a.Left, now
		if a.Event == EventCompleted {
			s.completed++
		}
	}
	want := a.NumWant
	switch {
	case want < 0:
		want = DefaultNumWant
	case want > MaxNumWant:
		want = MaxNumWant
	}
	resp := &announceResponse{
		Interval:    int64(t.interval() / time.Second),
		MinInterval: int64(t.interval()/time.Second) / 2,
	}
	var others []*peerState
	for _, p := range s.peers {
		if p.left == 0 {
			resp.Complete++
		} else {
			resp.Incomplete++
		}
		if p.id != a.PeerID {
			others = append(others, p)
		}
	}
	rand.Shuffle(len(others), func(i, j int) { others[i], others[j] = others[j], others[i] })
	if a.Left == 0 {
		// A seeder needs no other seeders: list leechers first.
		sort.SliceStable(others, func(i, j int) bool { return others[i].left != 0 && others[j].left == 0 })
	}
	if len(others) > want {
		others = others[:want]
	}
	if a.Compact {
		var v4, v6 []byte
		for _, p := range others {
			ip := p.addr.Addr()
			port := []byte{byte(p.addr.Port() >> 8), byte(p.addr.Port())}
			if ip.Is4() {
				v4 = append(append(v4, ip.AsSlice()...), port...)
			} else {
				v6 = append(append(v6, ip.AsSlice()...), port...)
			}
		}
		resp.Peers = string(v4)
		if len(v6) > 0 {
			resp.Peers6 = string(v6)
		}
	} else {
		list := make([]dictPeer, 0, len(others))
		for _, p := range others {
			d := dictPeer{IP: p.addr.Addr().String(), Port: int(p.addr.Port())}
			if !a.NoPeerID {
				d.ID = string(p.id[:])
			}
			list = append(list, d)
		}
		resp.Peers = list
	}
	return resp, nil
}

func (s *swarmState) expire(before time.Time) {
	for id, p := range s.peers {
		if p.last.Before(before) {
			delete(s.peers, id)
		}
	}
}

// PeerStats is one peer as it last announced.
type PeerStats struct {
	PeerID     string         `json:"peer_id"` // hex
	Addr       netip.AddrPort `json:"addr"`
	Uploaded   int64          `json:"uploaded"`
	Downloaded int64          `json:"downloaded"`
	Left       int64          `json:"left"`
	Seeder     bool           `json:"seeder"`
	FirstSeen  time.Time      `json:"first_seen"`
	LastSeen   time.Time      `json:"last_seen"`
}

// SwarmStats is what `trapctl image swarm NAME` shows for one torrent.
type SwarmStats struct {
	InfoHash  string      `json:"infohash"`
	Name      string      `json:"name"`
	Seeders   int         `json:"seeders"`
	Leechers  int         `json:"leechers"`
	Completed int         `json:"completed"` // "completed" events since registration
	Peers     []PeerStats `json:"peers"`     // sorted by address
}

// Stats returns the swarm of ih, expired peers removed.
func (t *Tracker) Stats(ih metainfo.Hash) (SwarmStats, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.swarms[ih]
	if !ok {
		return SwarmStats{}, false
	}
	return t.statsLocked(ih, s), true
}

// AllStats returns every registered swarm, sorted by name.
func (t *Tracker) AllStats() []SwarmStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]SwarmStats, 0, len(t.swarms))
	for ih, s := range t.swarms {
		out = append(out, t.statsLocked(ih, s))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (t *Tracker) statsLocked(ih metainfo.Hash, s *swarmState) SwarmStats {
	s.expire(t.now().Add(-t.ttl()))
	st := SwarmStats{InfoHash: ih.HexString(), Name: s.name, Completed: s.completed}
	for _, p := range s.peers {
		ps := PeerStats{
			PeerID: hex.EncodeToString(p.id[:]), Addr: p.addr,
			Uploaded: p.uploaded, Downloaded: p.downloaded, Left: p.left,
			Seeder: p.left == 0, FirstSeen: p.first, LastSeen: p.last,
		}
		if ps.Seeder {
			st.Seeders++
		} else {
			st.Leechers++
		}
		st.Peers = append(st.Peers, ps)
	}
	sort.Slice(st.Peers, func(i, j int) bool { return st.Peers[i].Addr.Compare(st.Peers[j].Addr) < 0 })
	return st
}
