package swarm

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/storage"
)

// TestSuperSeedSwarm: three library clients fetch an image from a seeder
// capped well below their own speed. With super-seeding they get different
// pieces from it and trade the rest, so it sends far less than one copy
// per peer; every peer ends with the exact image.
func TestSuperSeedSwarm(t *testing.T) {
	const peers = 3
	p, data := writeRandom(t, 16*MinPieceLength)
	mi, err := MakeTorrent(p, "img", "", "")
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSeeder(SeederConfig{Listen: netip.MustParseAddrPort("127.0.0.1:0"), UploadLimit: 2 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.Add(ctx, mi, p); err != nil {
		t.Fatal(err)
	}
	var ts []*torrent.Torrent
	var dirs []string
	var addrs []torrent.PeerInfo
	for i := range peers {
		ip := netip.AddrFrom4([4]byte{127, 0, 0, byte(20 + i)})
		cfg := clientConfig(netip.AddrPortFrom(ip, 0), slog.Default())
		cl, err := torrent.NewClient(cfg)
		if err != nil {
			t.Fatalf("client on %s: %v", ip, err)
		}
		t.Cleanup(func() { cl.Close() })
		dir := t.TempDir()
		dirs = append(dirs, dir)
		spec, err := torrent.TorrentSpecFromMetaInfoErr(mi)
		if err != nil {
			t.Fatal(err)
		}
		spec.Storage = storage.NewFileOpts(storage.NewFileClientOpts{
			ClientBaseDir:   dir,
			PieceCompletion: storage.NewMapPieceCompletion(),
			UsePartFiles:    falseOpt,
		})
		tt, _, err := cl.AddTorrentSpec(spec)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, tt)
		addrs = append(addrs, torrent.PeerInfo{Addr: ipPortAddr{netip.AddrPortFrom(ip, uint16(cl.LocalPort()))}, Trusted: true})
	}
	seeder := torrent.PeerInfo{Addr: ipPortAddr{s.Addr()}}
	for _, tt := range ts {
		tt.AddPeers(append([]torrent.PeerInfo{seeder}, addrs...))
		tt.DownloadAll()
	}
	for i, tt := range ts {
		select {
		case <-tt.Complete().On():
		case <-ctx.Done():
			t.Fatalf("peer %d: %d of %d bytes after 60 s", i, tt.BytesCompleted(), len(data))
		}
	}
	for i, dir := range dirs {
		got, err := os.ReadFile(filepath.Join(dir, "img"))
		if err != nil {
			t.Errorf("peer %d image: %v", i, err)
		} else if !bytes.Equal(got, data) {
			t.Errorf("peer %d image differs from the seeded one", i)
		}
	}
	up := s.Stats()[0].Uploaded
	copies := float64(up) / float64(len(data))
	t.Logf("seeder sent %.2f copies to %d peers", copies, peers)
	if copies > 2 {
		t.Errorf("seeder sent %.2f copies of the image to %d peers, want < 2 (super-seeding)", copies, peers)
	}
	// Every piece first reached the swarm whole from the seeder, through
	// the wrapper; chunks of pieces a peer then got elsewhere are uploaded
	// but not counted.
	ss := s.superFor(mi.HashInfoBytes())
	var sent int64
	for i, n := range ss.sent {
		if n < 1 {
			t.Errorf("piece %d: super-seeding counted it sent %d times, want >= 1", i, n)
		}
		sent += int64(n)
	}
	if sent*MinPieceLength > up {
		t.Errorf("super-seeding counted %d whole pieces sent, more than the %d bytes uploaded", sent, up)
	}
}

// ipPortAddr is a net.Addr for a peer.
type ipPortAddr struct{ netip.AddrPort }

func (a ipPortAddr) Network() string { return "tcp" }
func (a ipPortAddr) String() string  { return a.AddrPort.String() }
