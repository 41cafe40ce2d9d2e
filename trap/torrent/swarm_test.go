package torrent_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dtt "github.com/disklesstrap/disklesstrap/trap/torrent"
)

// TestSwarmThreePeers: seeder + tracker + 3 peers. Every peer gets the
// image, every peer uploads to the others, and the seeder sends less than
// 3x the image: the peers share.
func TestSwarmThreePeers(t *testing.T) {
	const size = 24 << 20
	s := startServer(t, serverOpts{size: size, seederLimit: 8 << 20, webSeed: true})
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()

	const n = 3
	results := make([]*dtt.Result, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = dtt.Download(ctx, dtt.Options{
				MetaInfo:   s.miBytes,
				InfoHash:   s.infoHash.HexString(),
				Dest:       filepath.Join(t.TempDir(), "run", "image"),
				ListenAddr: peerAddr(i),
				SHA256:     s.sum,
			})
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("peer %d: Download: %v", i, errs[i])
		}
		defer results[i].Stop()
	}
	// Peers keep seeding after completion; give the last piece exchanges
	// a moment to be counted, then check who uploaded.
	time.Sleep(500 * time.Millisecond)
	for i, r := range results {
		st := r.Stats()
		t.Logf("peer %d: %s from peers %d, from web %d, uploaded %d, bad pieces %d",
			i, r.Elapsed.Round(time.Millisecond), r.FromPeers, r.FromWeb, st.Uploaded, r.BadPieces)
		if r.SHA256 != s.sum {
			t.Errorf("peer %d: sha256 %s, want %s", i, r.SHA256, s.sum)
		}
		if st.Uploaded == 0 {
			t.Errorf("peer %d uploaded nothing to the other peers", i)
		}
	}
	up := s.seederUploaded()
	t.Logf("seeder uploaded %d bytes = %.2fx the image", up, float64(up)/size)
	if up >= 3*size {
		t.Errorf("seeder uploaded %d bytes, want < %d (3x the image)", up, 3*size)
	}
	st, ok := s.tracker.Stats(s.infoHash)
	if !ok {
		t.Fatalf("tracker lost swarm %s", s.infoHash.HexString())
	}
	if st.Seeders+st.Leechers < n+1 {
		t.Errorf("tracker lists %d peers, want >= %d: %+v", st.Seeders+st.Leechers, n+1, st)
	}
}

// TestSwarmSeederStopsHalfway: the seeder goes away at ~40 %; the peers
// finish from each other and the web seed.
func TestSwarmSeederStopsHalfway(t *testing.T) {
	const size = 16 << 20
	s := startServer(t, serverOpts{size: size, seederLimit: 4 << 20, webSeed: true})
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()

	var once sync.Once
	stopped := make(chan struct{})
	const n = 3
	results := make([]*dtt.Result, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = dtt.Download(ctx, dtt.Options{
				MetaInfo:         s.miBytes,
				Dest:             filepath.Join(t.TempDir(), "image"),
				ListenAddr:       peerAddr(i),
				SHA256:           s.sum,
				WebSeedDelay:     time.Second,
				ProgressInterval: 100 * time.Millisecond,
				Progress: func(p dtt.Progress) {
					if p.Percent >= 40 {
						once.Do(func() {
							s.seeder.Stop()
							close(stopped)
						})
					}
				},
			})
		}()
	}
	wg.Wait()
	select {
	case <-stopped:
	default:
		t.Fatal("the seeder was never stopped: no peer reported 40 %")
	}
	var fromWeb, fromPeers int64
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("peer %d: Download: %v", i, errs[i])
		}
		r := results[i]
		defer r.Stop()
		t.Logf("peer %d: %s from peers %d, from web %d", i, r.Elapsed.Round(time.Millisecond), r.FromPeers, r.FromWeb)
		fromWeb += r.FromWeb
		fromPeers += r.FromPeers
	}
	if fromWeb == 0 {
		t.Errorf("no peer used the web seed after the seeder stopped")
	}
	if up := s.seederUploaded(); fromPeers <= up {
		t.Errorf("peers got %d bytes over BitTorrent, no more than the seeder's %d: they did not share", fromPeers, up)
	}
	// The seeder comes back and seeds again without rehashing.
	if err := s.seeder.Start(); err != nil {
		t.Fatalf("seeder Start after Stop: %v", err)
	}
	if st := s.seeder.Stats(); len(st) != 1 || !st[0].Running {
		t.Errorf("seeder Stats after restart = %+v, want one running image", st)
	}
}

// TestInfoHashMismatch: a .torrent that is not the one the manifest names
// is refused before anything is downloaded.
func TestInfoHashMismatch(t *testing.T) {
	s := startServer(t, serverOpts{size: 1 << 20, noSeed: true})
	_, err := dtt.Download(context.Background(), dtt.Options{
		MetaInfo: s.miBytes,
		InfoHash: strings.Repeat("0", 40),
		Dest:     filepath.Join(t.TempDir(), "image"),
	})
	if err == nil || !strings.Contains(err.Error(), "info-hash") {
		t.Errorf("Download with the wrong info-hash = %v, want an info-hash error", err)
	}
}
