package api

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"

	dtapi "github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/bootsrv/swarm"
	"github.com/disklesstrap/disklesstrap/manifest"
)

// withSwarm replaces e's API by one that seeds images (seeder on
// 127.0.0.1, tracker admitting loopback).
func (e *testEnv) withSwarm() *SwarmConfig {
	e.t.Helper()
	seeder, err := swarm.NewSeeder(swarm.SeederConfig{Listen: netip.MustParseAddrPort("127.0.0.1:0")})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(seeder.Close)
	sw := &SwarmConfig{
		Tracker:     swarm.NewTracker(func(ip netip.Addr) bool { return ip.IsLoopback() }),
		Seeder:      seeder,
		AnnounceURL: "http://127.0.0.1:1/announce", // the seeder's announces go nowhere here
	}
	cfg := e.api.cfg
	cfg.Images = nil
	cfg.Swarm = sw
	e.api = New(cfg)
	e.srv = adminServer(e.api)
	e.t.Cleanup(e.srv.Close)
	return sw
}

// randomImage is a squashfs-magic file of n random bytes.
func randomImage(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	copy(b, "hsqs")
	return string(b)
}

func TestSwarmImageLifecycle(t *testing.T) {
	e := newEnv(t)
	sw := e.withSwarm()
	img := randomImage(600 << 10) // 3 pieces of 256 KiB
	var up dtapi.Image
	e.mustDo("PUT", putPath("os", "squashfs", sha256Hex(img)), img, 201, &up)
	if up.InfoHash == "" || up.Torrent != testBase+"/images/os.torrent" || up.PieceLength != 256<<10 {
		t.Fatalf("upload answer = %+v, want infohash, torrent URL and 256 KiB pieces", up)
	}
	if _, err := os.Stat(filepath.Join(e.imagesDir(), "os.torrent")); err != nil {
		t.Errorf("no cached torrent: %v", err)
	}
	if st := sw.Seeder.Stats(); len(st) != 1 || st[0].InfoHash != up.InfoHash || !st[0].Running {
		t.Errorf("seeder stats = %+v, want os seeded", st)
	}

	// The node's .torrent: announce and web seed at the request's base.
	code, body := e.do("GET", "/images/os.torrent", nil)
	if code != 200 {
		t.Fatalf("GET /images/os.torrent = %d %s", code, body)
	}
	mi, err := metainfo.Load(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	info, _ := mi.UnmarshalInfo()
	if mi.HashInfoBytes().HexString() != up.InfoHash || mi.Announce != testBase+"/announce" ||
		len(mi.UrlList) != 1 || mi.UrlList[0] != testBase+"/images/os" || info.Name != "os.squashfs" || info.Private == nil || !*info.Private {
		t.Errorf("torrent: infohash %s announce %q url-list %q name %q private %v", mi.HashInfoBytes().HexString(), mi.Announce, mi.UrlList, info.Name, info.Private)
	}

	// Manifests: transport torrent only for nodes that ask for it.
	e.mustDo("PATCH", "/api/v1/nodes/cn[001-002]", dtapi.NodeEdit{Fields: map[string]any{"image": "os"}}, 200, nil)
	e.mustDo("PATCH", "/api/v1/nodes/cn001", dtapi.NodeEdit{Fields: map[string]any{"transport": "torrent"}}, 200, nil)
	var m1, m2 manifest.Manifest
	e.mustDo("GET", "/manifest/cn001", nil, 200, &m1)
	e.mustDo("GET", "/manifest/cn002", nil, 200, &m2)
	if m1.Image == nil || m1.Image.Transport != "torrent" || m1.Image.Torrent == nil ||
		m1.Image.Torrent.URL != testBase+"/images/os.torrent" || m1.Image.Torrent.InfoHash != up.InfoHash {
		t.Errorf("cn001 manifest image = %+v, want transport torrent with the torrent URL and infohash", m1.Image)
	}
	if m2.Image == nil || m2.Image.Transport == "torrent" || m2.Image.Torrent != nil {
		t.Errorf("cn002 manifest image = %+v, want http", m2.Image)
	}

	// The web seed: Range requests are counted.
	code, body = e.do("GET", "/images/os", nil, "Range", "bytes=100-199")
	if code != 206 || body != img[100:200] {
		t.Fatalf("web seed range = %d (%d bytes), want 206 and bytes 100-199", code, len(body))
	}
	e.do("GET", "/images/os", nil) // a whole-file GET (transport http) is not web seeding

	// A node's progress and a tracker announce show in the swarm.
	e.mustDo("POST", "/api/v1/events", manifest.Event{Node: "cn001", Phase: manifest.PhaseProgress, Message: "seeding: 100%",
		Data: map[string]string{"image": "os", "transport": "torrent", "state": "seeding", "percent": "100", "down": "614400", "up": "4096", "peers": "2"}}, 204, nil)
	ih, _ := hex.DecodeString(up.InfoHash)
	q := url.Values{"info_hash": {string(ih)}, "peer_id": {"-XX0001-abcdefghijkl"}, "port": {"6999"},
		"uploaded": {"0"}, "downloaded": {"0"}, "left": {"1000"}, "compact": {"1"}}
	code, body = e.do("GET", "/announce?"+q.Encode(), nil)
	var ann map[string]any
	if code != 200 || bencode.Unmarshal([]byte(body), &ann) != nil || ann["failure reason"] != nil {
		t.Fatalf("announce = %d %q, want a peer list", code, body)
	}
	var s dtapi.ImageSwarm
	e.mustDo("GET", "/api/v1/images/os/swarm", nil, 200, &s)
	if s.InfoHash != up.InfoHash || s.Pieces != 3 || s.Seeder.WebSeed != 100 || !s.Seeder.Running {
		t.Errorf("swarm = %+v, want 3 pieces, 100 web seed bytes, seeder running", s)
	}
	got := map[string]dtapi.SwarmNode{}
	for _, n := range s.Nodes {
		got[n.Node+"|"+n.Address] = n
	}
	if n := got["cn001|"]; n.State != "seeding" || n.Uploaded != 4096 || n.Percent != 100 || n.Peers != 2 {
		t.Errorf("cn001 in the swarm = %+v, want seeding 100%% up 4096", n)
	}
	if n, ok := got["cn002|"]; !ok || n.State != "" {
		t.Errorf("cn002 in the swarm = %+v (listed %v), want listed without state", n, ok)
	}
	if n := got["|127.0.0.1:6999"]; !n.Tracker || n.State != "announced" {
		t.Errorf("the announcing stranger = %+v, want tracker-listed", n)
	}

	// Delete: no longer seeded, cache gone, no .torrent.
	e.mustDo("DELETE", "/api/v1/images/os?force=1", nil, 200, nil)
	if st := sw.Seeder.Stats(); len(st) != 0 {
		t.Errorf("seeder stats after delete = %+v", st)
	}
	if _, err := os.Stat(filepath.Join(e.imagesDir(), "os.torrent")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cached torrent after delete: %v", err)
	}
	if code, _ := e.do("GET", "/images/os.torrent", nil); code != 404 {
		t.Errorf("GET /images/os.torrent after delete = %d, want 404", code)
	}
}

// TestSwarmRestartUsesCache: a restarted bootsrv seeds registered images
// again (from the cached torrent); a stale cache is rebuilt.
func TestSwarmRestartUsesCache(t *testing.T) {
	e := newEnv(t)
	first := e.withSwarm()
	img := randomImage(300 << 10)
	e.mustDo("PUT", putPath("os", "squashfs", sha256Hex(img)), img, 201, nil)
	// The torrent is made and seeded in the background after the upload
	// answers: wait for it, then take the info-hash the registry reports.
	for deadline := time.Now().Add(10 * time.Second); len(first.Seeder.Stats()) == 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	var up dtapi.Image
	e.mustDo("GET", "/api/v1/images/os", nil, 200, &up)
	if up.InfoHash == "" {
		t.Fatalf("no info-hash after the first seeder took the image")
	}
	cache := filepath.Join(e.imagesDir(), "os.torrent")
	before, _ := os.ReadFile(cache)

	for _, tc := range []struct {
		name  string
		stale bool
	}{{"cached", false}, {"stale cache", true}} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.stale {
				// Same comment, wrong pieces: the seeder's check must catch it.
				mi, _ := metainfo.LoadFromFile(cache)
				info, _ := mi.UnmarshalInfo()
				info.Pieces = bytes.Repeat([]byte{1}, len(info.Pieces))
				mi.InfoBytes, _ = bencode.Marshal(info)
				f, _ := os.Create(cache)
				mi.Write(f)
				f.Close()
			}
			sw := e.withSwarm()
			deadline := time.Now().Add(10 * time.Second)
			for len(sw.Seeder.Stats()) == 0 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			var got dtapi.Image
			e.mustDo("GET", "/api/v1/images/os", nil, 200, &got)
			if got.InfoHash != up.InfoHash {
				t.Errorf("after restart infohash = %q, want %q", got.InfoHash, up.InfoHash)
			}
			if after, _ := os.ReadFile(cache); !bytes.Equal(after, before) && !tc.stale {
				t.Errorf("a good cached torrent was rewritten")
			}
		})
	}
}

func TestSwarmOff(t *testing.T) {
	e := newEnv(t)
	img := fakeImage(4000)
	e.mustDo("PUT", putPath("os", "squashfs", sha256Hex(img)), img, 201, nil)
	e.mustDo("PATCH", "/api/v1/nodes/cn001", dtapi.NodeEdit{Fields: map[string]any{"image": "os", "transport": "torrent"}}, 200, nil)
	var m manifest.Manifest
	e.mustDo("GET", "/manifest/cn001", nil, 200, &m)
	if m.Image == nil || m.Image.Transport == "torrent" || len(m.Problems) != 0 {
		t.Errorf("manifest without a swarm: image %+v problems %q, want http and no problem", m.Image, m.Problems)
	}
	for _, p := range []string{"/images/os.torrent", "/api/v1/images/os/swarm", "/announce"} {
		if code, _ := e.do("GET", p, nil); code != http.StatusNotFound {
			t.Errorf("GET %s without a swarm = %d, want 404", p, code)
		}
	}
}
