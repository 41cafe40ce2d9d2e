package swarm

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
)

func id20(c byte) string { return strings.Repeat(string(c), 20) }

func query(ih, peer string, port int, left int64, extra ...string) string {
	q := url.Values{}
	q.Set("info_hash", ih)
	q.Set("peer_id", peer)
	q.Set("port", strconv.Itoa(port))
	q.Set("uploaded", "10")
	q.Set("downloaded", "20")
	q.Set("left", strconv.FormatInt(left, 10))
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return q.Encode()
}

func TestParseAnnounce(t *testing.T) {
	remote := netip.MustParseAddr("198.18.0.11")
	ih, pid := id20('h'), id20('p')
	for _, tc := range []struct {
		name    string
		q       string
		wantErr bool
		check   func(*Announce) bool
	}{
		{"ok", query(ih, pid, 6881, 5, "event", "started"), false, func(a *Announce) bool {
			return a.Addr == netip.MustParseAddrPort("198.18.0.11:6881") && a.Left == 5 && a.Event == EventStarted &&
				a.Uploaded == 10 && a.Downloaded == 20 && a.NumWant == -1 && a.Compact && string(a.InfoHash[:]) == ih
		}},
		{"ip param ignored", query(ih, pid, 1, 0, "ip", "10.0.0.1"), false, func(a *Announce) bool {
			return a.Addr.Addr() == remote
		}},
		{"numwant and compact=0", query(ih, pid, 1, 0, "numwant", "7", "compact", "0"), false, func(a *Announce) bool {
			return a.NumWant == 7 && !a.Compact
		}},
		{"empty event", query(ih, pid, 1, 0, "event", "empty"), false, func(a *Announce) bool { return a.Event == EventNone }},
		{"short info_hash", query("abc", pid, 1, 0), true, nil},
		{"short peer_id", query(ih, "x", 1, 0), true, nil},
		{"port 0", query(ih, pid, 0, 0), true, nil},
		{"port too big", query(ih, pid, 70000, 0), true, nil},
		{"negative left", query(ih, pid, 1, -1), true, nil},
		{"no left", strings.Replace(query(ih, pid, 1, 0), "left=0", "", 1), true, nil},
		{"bad event", query(ih, pid, 1, 0, "event", "paused"), true, nil},
		{"bad numwant", query(ih, pid, 1, 0, "numwant", "-3"), true, nil},
		{"bad escape", "info_hash=%zz", true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ParseAnnounce(tc.q, remote)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseAnnounce(%q) error = %v, want error %v", tc.q, err, tc.wantErr)
			}
			if err == nil && !tc.check(a) {
				t.Errorf("ParseAnnounce(%q) = %+v, not what the case expects", tc.q, a)
			}
		})
	}
}

func FuzzParseAnnounce(f *testing.F) {
	f.Add(query(id20('h'), id20('p'), 6881, 5, "event", "started"))
	f.Add(query(id20('h'), id20('p'), 1, 0, "numwant", "7", "compact", "0"))
	f.Add("info_hash=%00&port=1")
	f.Fuzz(func(t *testing.T, q string) {
		a, err := ParseAnnounce(q, netip.MustParseAddr("127.0.0.1"))
		if err == nil && (a.Addr.Port() == 0 || a.Left < 0 || a.Uploaded < 0) {
			t.Errorf("ParseAnnounce(%q) accepted %+v", q, a)
		}
	})
}

type trackerResp struct {
	Failure    string `bencode:"failure reason"`
	Interval   int    `bencode:"interval"`
	Complete   int    `bencode:"complete"`
	Incomplete int    `bencode:"incomplete"`
	Peers      any    `bencode:"peers"`
}

func announce(t *testing.T, tr *Tracker, remote, q string) trackerResp {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/announce?"+q, nil)
	req.RemoteAddr = remote
	w := httptest.NewRecorder()
	tr.ServeHTTP(w, req)
	var r trackerResp
	if err := bencode.Unmarshal(w.Body.Bytes(), &r); err != nil {
		t.Fatalf("announce answer %q: %v", w.Body.String(), err)
	}
	return r
}

func compactPeers(t *testing.T, r trackerResp) []string {
	t.Helper()
	s, ok := r.Peers.(string)
	if !ok || len(s)%6 != 0 {
		t.Fatalf("peers = %#v, want a compact string", r.Peers)
	}
	var out []string
	for i := 0; i < len(s); i += 6 {
		ip := netip.AddrFrom4([4]byte([]byte(s[i : i+4])))
		out = append(out, netip.AddrPortFrom(ip, uint16(s[i+4])<<8|uint16(s[i+5])).String())
	}
	return out
}

func TestTracker(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tr := NewTracker(func(ip netip.Addr) bool { return netip.MustParsePrefix("198.18.0.0/24").Contains(ip) })
	tr.Now = func() time.Time { return now }
	tr.Interval = 10 * time.Second
	var ih metainfo.Hash
	copy(ih[:], id20('h'))
	tr.Register(ih, "os")
	H := string(ih[:])

	if r := announce(t, tr, "203.0.113.5:5000", query(H, id20('a'), 6881, 100)); r.Failure != "address not allowed" {
		t.Errorf("announce from a stranger: failure %q, want address not allowed", r.Failure)
	}
	if r := announce(t, tr, "198.18.0.11:5000", query(id20('x'), id20('a'), 6881, 100)); !strings.Contains(r.Failure, "unknown info_hash") {
		t.Errorf("announce for an unregistered torrent: failure %q", r.Failure)
	}
	r := announce(t, tr, "198.18.0.11:5000", query(H, id20('a'), 6881, 100, "event", "started"))
	if r.Failure != "" || r.Interval != 10 || r.Incomplete != 1 || r.Complete != 0 {
		t.Fatalf("first announce = %+v", r)
	}
	if got := compactPeers(t, r); len(got) != 0 {
		t.Errorf("first peer got peers %v, want none (not itself)", got)
	}
	r = announce(t, tr, "[::ffff:198.18.0.1]:4000", query(H, id20('s'), 6882, 0))
	if got := compactPeers(t, r); len(got) != 1 || got[0] != "198.18.0.11:6881" {
		t.Errorf("seeder got peers %v, want [198.18.0.11:6881]", got)
	}
	if r.Complete != 1 || r.Incomplete != 1 {
		t.Errorf("complete/incomplete = %d/%d, want 1/1", r.Complete, r.Incomplete)
	}
	// Non-compact answer.
	r = announce(t, tr, "198.18.0.12:5000", query(H, id20('b'), 6883, 100, "compact", "0"))
	if l, ok := r.Peers.([]any); !ok || len(l) != 2 {
		t.Errorf("non-compact peers = %#v, want a list of 2", r.Peers)
	}
	st, _ := tr.Stats(ih)
	if st.Seeders != 1 || st.Leechers != 2 || len(st.Peers) != 3 || st.Name != "os" {
		t.Errorf("Stats = %+v, want 1 seeder, 2 leechers", st)
	}
	if st.Peers[0].Addr.String() != "198.18.0.1:6882" || st.Peers[0].Uploaded != 10 || st.Peers[0].Downloaded != 20 {
		t.Errorf("Stats peer 0 = %+v", st.Peers[0])
	}
	// completed, stopped, expiry.
	announce(t, tr, "198.18.0.11:5000", query(H, id20('a'), 6881, 0, "event", "completed"))
	announce(t, tr, "198.18.0.12:5000", query(H, id20('b'), 6883, 100, "event", "stopped"))
	st, _ = tr.Stats(ih)
	if st.Seeders != 2 || st.Leechers != 0 || st.Completed != 1 {
		t.Errorf("after completed+stopped Stats = %+v, want 2 seeders, 0 leechers, 1 completed", st)
	}
	now = now.Add(31 * time.Second)
	if st, _ = tr.Stats(ih); len(st.Peers) != 0 {
		t.Errorf("after 3 silent intervals Stats lists %d peers, want 0", len(st.Peers))
	}
	if all := tr.AllStats(); len(all) != 1 || all[0].InfoHash != ih.HexString() {
		t.Errorf("AllStats = %+v", all)
	}
	tr.Unregister(ih)
	if _, ok := tr.Stats(ih); ok {
		t.Errorf("Stats after Unregister found the swarm")
	}
}

func TestTrackerNumWant(t *testing.T) {
	tr := NewTracker(nil)
	var ih metainfo.Hash
	tr.Register(ih, "x")
	H := string(ih[:])
	for i := range 10 {
		announce(t, tr, "127.0.0."+strconv.Itoa(i+1)+":1", query(H, id20(byte('a'+i)), 1000+i, 5))
	}
	r := announce(t, tr, "127.0.0.99:1", query(H, id20('z'), 2000, 5, "numwant", "3"))
	if got := compactPeers(t, r); len(got) != 3 {
		t.Errorf("numwant=3 gave %d peers", len(got))
	}
	req := httptest.NewRequest(http.MethodPost, "/announce", nil)
	w := httptest.NewRecorder()
	tr.ServeHTTP(w, req)
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /announce = %d, want 405", w.Code)
	}
}
