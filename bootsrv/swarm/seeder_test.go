package swarm

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"
	"golang.org/x/time/rate"
)

func TestWebSeedRange(t *testing.T) {
	p, data := writeRandom(t, 300_000)
	for _, tc := range []struct {
		name string
		lim  *rate.Limiter
	}{
		{"unlimited", nil},
		{"limited", rate.NewLimiter(rate.Limit(4<<20), 64<<10)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(WebSeed{Path: p, Limiter: tc.lim})
			defer srv.Close()
			req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			req.Header.Set("Range", "bytes=1000-200999")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(got, data[1000:201000]) {
				t.Errorf("GET Range 1000-200999 = %d, %d bytes (match %v), want 206 with 200000 bytes",
					resp.StatusCode, len(got), bytes.Equal(got, data[1000:201000]))
			}
		})
	}
	srv := httptest.NewServer(WebSeed{Path: p + ".missing"})
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET missing image = %d, want 404", resp.StatusCode)
	}
}

func TestSeederAddVerifies(t *testing.T) {
	p, data := writeRandom(t, 2*MinPieceLength+5)
	mi, err := MakeTorrent(p, "img", "", "")
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSeeder(SeederConfig{Listen: netip.MustParseAddrPort("127.0.0.1:0"), UploadLimit: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// A file that does not match is refused.
	bad := append([]byte(nil), data...)
	bad[MinPieceLength+7] ^= 1
	badPath := p + ".bad"
	os.WriteFile(badPath, bad, 0o644)
	if err := s.Add(ctx, mi, badPath); err == nil {
		t.Errorf("Add with a corrupted image = nil error, want a verification error")
	}
	if st := s.Stats(); len(st) != 0 {
		t.Errorf("Stats after a refused Add = %+v, want none", st)
	}
	if err := s.Add(ctx, mi, p); err != nil {
		t.Fatalf("Add: %v", err)
	}
	if err := s.Add(ctx, mi, p); err == nil {
		t.Errorf("second Add of the same torrent = nil error")
	}
	st := s.Stats()
	if len(st) != 1 || st[0].Name != "img" || st[0].Size != int64(len(data)) || !st[0].Running {
		t.Errorf("Stats = %+v", st)
	}
	s.Stop()
	if st := s.Stats(); len(st) != 1 || st[0].Running {
		t.Errorf("Stats after Stop = %+v, want one stopped image", st)
	}
	port := s.Addr().Port()
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if s.Addr().Port() != port {
		t.Errorf("port after restart %d, want %d", s.Addr().Port(), port)
	}
	if st := s.Stats(); len(st) != 1 || !st[0].Running {
		t.Errorf("Stats after Start = %+v", st)
	}
	if err := s.Remove(mi.HashInfoBytes()); err != nil {
		t.Errorf("Remove: %v", err)
	}
	if err := s.Remove(metainfo.Hash{}); !errors.Is(err, ErrUnknownTorrent) {
		t.Errorf("Remove(unknown) = %v, want ErrUnknownTorrent", err)
	}
}
