package torrent_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	g "github.com/anacrolix/generics"
	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/storage"

	dtt "github.com/disklesstrap/disklesstrap/trap/torrent"
)

// startLiar runs a peer on addr whose copy of the image has every
// corruptEvery-th piece overwritten with garbage but which claims to have
// every piece (its completion is preset, nothing is hashed).
func startLiar(t *testing.T, s *server, addr string, corruptEvery int) *torrent.Client {
	t.Helper()
	info, err := s.mi.UnmarshalInfo()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(s.image)
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	for i := 0; i < info.NumPieces(); i += corruptEvery {
		off := int64(i) * info.PieceLength
		for j := off; j < min(off+info.PieceLength, int64(len(b))); j++ {
			b[j] ^= 0x5a
		}
		bad++
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, info.Name), b, 0o644); err != nil {
		t.Fatal(err)
	}
	pc := storage.NewMapPieceCompletion()
	ih := s.mi.HashInfoBytes()
	for i := range info.NumPieces() {
		if err := pc.Set(metainfo.PieceKey{InfoHash: ih, Index: i}, true); err != nil {
			t.Fatal(err)
		}
	}
	cfg := torrent.NewDefaultClientConfig()
	cfg.SetListenAddr(addr)
	cfg.Seed, cfg.NoDHT, cfg.DisableUTP, cfg.NoDefaultPortForwarding = true, true, true, true
	cfg.DisableIPv6, cfg.DisableWebseeds, cfg.DisableTrackers = true, true, true
	cfg.DefaultStorage = storage.NewFileOpts(storage.NewFileClientOpts{
		ClientBaseDir: dir, PieceCompletion: pc, UsePartFiles: g.Some(false),
	})
	cl, err := torrent.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	spec, err := torrent.TorrentSpecFromMetaInfoErr(s.mi)
	if err != nil {
		t.Fatal(err)
	}
	spec.Trackers, spec.Webseeds = nil, nil
	spec.DisableInitialPieceCheck = true
	lt, _, err := cl.AddTorrentSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	if !lt.Complete().Bool() {
		t.Fatalf("liar does not claim completion: %d bytes missing", lt.BytesMissing())
	}
	t.Logf("liar on %s serves %d garbage pieces of %d", cl.ListenAddrs()[0], bad, info.NumPieces())
	return cl
}

// TestCorruptPeer: a fast peer serves garbage for a quarter of the pieces;
// the downloader rejects those by piece hash, gets them from the (slow)
// seeder and ends with the right image.
func TestCorruptPeer(t *testing.T) {
	const size = 16 << 20
	s := startServer(t, serverOpts{size: size, seederLimit: 4 << 20})
	liar := startLiar(t, s, "127.0.0.66:0", 4)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	r, err := dtt.Download(ctx, dtt.Options{
		MetaInfo:   s.miBytes,
		Dest:       filepath.Join(t.TempDir(), "image"),
		ListenAddr: peerAddr(0),
		Peers:      []string{liar.ListenAddrs()[0].String()},
		SHA256:     s.sum,
	})
	if err != nil {
		t.Fatalf("Download with a lying peer: %v", err)
	}
	defer r.Stop()
	t.Logf("%s: from peers %d, bad pieces %d, seeder uploaded %d", r.Elapsed.Round(time.Millisecond), r.FromPeers, r.BadPieces, s.seederUploaded())
	if r.SHA256 != s.sum {
		t.Errorf("sha256 %s, want %s", r.SHA256, s.sum)
	}
	if r.BadPieces == 0 {
		t.Errorf("no piece failed its hash: the liar's garbage never arrived, the test proves nothing")
	}
	if !slices.Contains(r.BannedPeers(), "127.0.0.66") {
		t.Errorf("BannedPeers() = %v, want the liar 127.0.0.66 in it", r.BannedPeers())
	}
}
