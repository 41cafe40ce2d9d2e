package torrent_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"
	"github.com/disklesstrap/disklesstrap/bootsrv/swarm"
)

// server is bootsrv's side of a test swarm on 127.0.0.1: tracker + web seed
// on one HTTP server, and the seeder.
type server struct {
	tracker  *swarm.Tracker
	seeder   *swarm.Seeder
	http     *http.Server
	base     string // http://127.0.0.1:port
	image    string
	sum      string
	mi       *metainfo.MetaInfo
	miBytes  []byte
	infoHash metainfo.Hash
}

type serverOpts struct {
	size        int64
	seederLimit int64 // bytes/s, 0 = none
	webSeed     bool  // url-list points at the image
	noSeed      bool  // do not register the image with the seeder
}

// makeImage writes size random bytes and returns the path and sha256.
func makeImage(t testing.TB, dir string, size int64) (string, string) {
	t.Helper()
	p := filepath.Join(dir, "os.squashfs")
	b := make([]byte, size)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return p, hex.EncodeToString(s[:])
}

func startServer(t testing.TB, o serverOpts) *server {
	t.Helper()
	s := &server{}
	s.image, s.sum = makeImage(t, t.TempDir(), o.size)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.base = "http://" + ln.Addr().String()
	s.tracker = swarm.NewTracker(func(ip netip.Addr) bool { return ip.IsLoopback() })
	s.tracker.Interval = 2 * time.Second
	mux := http.NewServeMux()
	mux.Handle("/announce", s.tracker)
	mux.Handle("/images/os.squashfs", swarm.WebSeed{Path: s.image})
	s.http = &http.Server{Handler: mux}
	go s.http.Serve(ln)
	t.Cleanup(func() { s.http.Close() })

	ws := ""
	if o.webSeed {
		ws = s.base + "/images/os.squashfs"
	}
	s.mi, err = swarm.MakeTorrent(s.image, "os.squashfs", ws, s.base+"/announce")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := s.mi.Write(&buf); err != nil {
		t.Fatal(err)
	}
	s.miBytes = buf.Bytes()
	s.infoHash = s.mi.HashInfoBytes()
	s.tracker.Register(s.infoHash, "os")

	s.seeder, err = swarm.NewSeeder(swarm.SeederConfig{
		Listen:      netip.MustParseAddrPort("127.0.0.1:0"),
		UploadLimit: o.seederLimit,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.seeder.Close)
	if !o.noSeed {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := s.seeder.Add(ctx, s.mi, s.image); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func (s *server) seederUploaded() int64 {
	var n int64
	for _, st := range s.seeder.Stats() {
		n += st.Uploaded
	}
	return n
}

// peerAddr is the listen address of test peer i: each peer has its own
// loopback address, as each node has its own IP.
func peerAddr(i int) string {
	return netip.AddrFrom4([4]byte{127, 0, 0, byte(10 + i)}).String() + ":0"
}
