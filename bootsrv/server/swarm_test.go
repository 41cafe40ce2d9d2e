package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"

	"github.com/disklesstrap/disklesstrap/api"

	"github.com/disklesstrap/disklesstrap/internal/labreq"
)

func TestParseListen(t *testing.T) {
	tests := []struct {
		in      string
		want    netip.AddrPort
		wantErr bool
	}{
		{":6881", netip.AddrPortFrom(netip.Addr{}, 6881), false},
		{"198.18.0.1:6881", netip.MustParseAddrPort("198.18.0.1:6881"), false},
		{"6881", netip.AddrPort{}, true},
		{"x:6881", netip.AddrPort{}, true},
		{":99999", netip.AddrPort{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseListen(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("parseListen(%q) = %v, %v, want %v (error %v)", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// TestSwarmAria2: a real bootsrv with --torrent-listen seeds an uploaded
// image; aria2c (another BitTorrent client) downloads it with the .torrent
// bootsrv serves, through bootsrv's tracker, seeder and web seed.
func TestSwarmAria2(t *testing.T) {
	labreq.Check(t, labreq.Tools("aria2c")) // apt-get install aria2
	aria, _ := exec.LookPath("aria2c")
	ts := startServer(t, func(c *Config) { c.TorrentListen = "127.0.0.1:0" })
	dir, addr := ts.dir, ts.addr
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	base := "http://" + addr
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get(base + "/api/v1/images"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("bootsrv did not start")
		}
	}

	img := make([]byte, 3<<20)
	rand.Read(img)
	copy(img, "hsqs")
	sum := sha256.Sum256(img)
	hc, abase := ts.admin().HTTPClient()
	req, _ := http.NewRequest("PUT", abase+"/api/v1/images/os?format=squashfs&sha256="+hex.EncodeToString(sum[:]), bytes.NewReader(img))
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var up api.Image
	json.NewDecoder(resp.Body).Decode(&up)
	resp.Body.Close()
	if resp.StatusCode != 201 || up.InfoHash == "" {
		t.Fatalf("upload = %d %+v, want 201 with an infohash", resp.StatusCode, up)
	}
	// Answers on the admin socket name the inventory's server address.
	up.Torrent = strings.Replace(up.Torrent, "http://198.18.0.1:", "http://127.0.0.1:", 1)
	resp, err = http.Get(up.Torrent)
	if err != nil {
		t.Fatal(err)
	}
	tb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// As served (web seed included), then without the url-list so that
	// only the tracker and the seeder can deliver (same info-hash).
	var mi map[string]any
	if err := bencode.Unmarshal(tb, &mi); err != nil || mi["url-list"] == nil {
		t.Fatalf(".torrent: %v, url-list %v", err, mi["url-list"])
	}
	delete(mi, "url-list")
	noWeb, err := bencode.Marshal(mi)
	if err != nil {
		t.Fatal(err)
	}
	for i, torrent := range [][]byte{tb, noWeb} {
		tf := filepath.Join(dir, fmt.Sprintf("os-%d.torrent", i))
		os.WriteFile(tf, torrent, 0o644)
		out := filepath.Join(dir, fmt.Sprintf("aria2-%d", i))
		// aria2c binds on every address and tries each port of the range:
		// a port another test takes meanwhile is no failure.
		port := listenPortRange(t)
		b, err := exec.CommandContext(ctx, aria,
			"--dir="+out, "--seed-time=0", "--enable-dht=false", "--enable-dht6=false",
			"--bt-enable-lpd=false", "--enable-peer-exchange=false", "--listen-port="+port,
			"--file-allocation=none", "--summary-interval=0", "--console-log-level=warn",
			"--bt-save-metadata=false", "--disable-ipv6=true", "--no-conf=true", tf).CombinedOutput()
		if err != nil {
			t.Fatalf("aria2c %d: %v\n%s", i, err, b)
		}
		got, err := os.ReadFile(filepath.Join(out, "os.squashfs"))
		if err != nil || !bytes.Equal(got, img) {
			t.Fatalf("aria2c %d: os.squashfs differs from the image (%v)\n%s", i, err, b)
		}
	}
	sw, err := ts.admin().ImageSwarm(ctx, "os")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("aria2c got the image twice: seeder sent %d bytes, web seed %d", sw.Seeder.Uploaded, sw.Seeder.WebSeed)
	if sw.Seeder.Uploaded < int64(len(img)) {
		t.Errorf("the seeder sent %d bytes, want at least the image (%d) for the download without web seed", sw.Seeder.Uploaded, len(img))
	}
	if sw.Seeder.Completed < 1 {
		t.Errorf("the tracker saw %d completed announces, want aria2c's", sw.Seeder.Completed)
	}
}

func FuzzParseListen(f *testing.F) {
	for _, s := range []string{":6881", "198.18.0.1:6881", "[::1]:6881", "x", ":0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ap, err := parseListen(s)
		if err != nil {
			return
		}
		if ap.Addr().IsValid() {
			if again, err := parseListen(ap.String()); err != nil || again != ap {
				t.Errorf("parseListen(%q) = %v; again %v, %v", s, ap, again, err)
			}
		}
	})
}

// TestSwarmPortBusy: a seeder that cannot listen turns peer-to-peer
// distribution off; bootsrv still serves.
func TestSwarmPortBusy(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	logs := &syncWriter{w: &bytes.Buffer{}}
	ts := startServer(t, func(c *Config) {
		c.TorrentListen = busy.Addr().String()
		c.Log = slog.New(slog.NewTextHandler(logs, nil))
	})
	addr := ts.addr
	var code int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/announce"); err == nil {
			code = resp.StatusCode
			resp.Body.Close()
			break
		}
	}
	if code != http.StatusNotFound {
		t.Errorf("GET /announce with the seeder's port busy = %d, want 404 (bootsrv up, swarm off)", code)
	}
	if got := logs.String(); !strings.Contains(got, "peer-to-peer image distribution off") {
		t.Errorf("log does not say the swarm is off:\n%s", got)
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.(*bytes.Buffer).String()
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

// listenPortRange returns "P-Q": a port free on every address now and the
// 100 after it (aria2c --listen-port takes the first it can bind).
func listenPortRange(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	p := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return fmt.Sprintf("%d-%d", p, min(p+100, 65535))
}
