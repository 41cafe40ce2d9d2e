package torrent_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/internal/labreq"
)

// needTool skips (or fails under DT_LAB_REQUIRED=1) when name is missing.
func needTool(t *testing.T, name string) string {
	t.Helper()
	labreq.Check(t, labreq.Tools(name)) // apt-get install aria2
	p, _ := exec.LookPath(name)
	return p
}

// listenPorts returns "P-Q": a port free on every address now and the 100
// after it; aria2c binds on every address and takes the first port of the
// range it can (a port taken meanwhile by another test is no failure).
func listenPorts(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	p := l.Addr().(*net.TCPAddr).Port
	return fmt.Sprintf("%d-%d", p, min(p+100, 65535))
}

func runAria2(t *testing.T, s *server) string {
	t.Helper()
	aria := needTool(t, "aria2c")
	dir := t.TempDir()
	tf := filepath.Join(dir, "os.torrent")
	if err := os.WriteFile(tf, s.miBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	port := listenPorts(t)
	cmd := exec.CommandContext(ctx, aria,
		"--dir="+out, "--seed-time=0", "--enable-dht=false", "--enable-dht6=false",
		"--bt-enable-lpd=false", "--enable-peer-exchange=false", "--listen-port="+port,
		"--file-allocation=none", "--summary-interval=0", "--console-log-level=warn",
		"--bt-save-metadata=false", "--disable-ipv6=true", "--no-conf=true",
		tf)
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("aria2c: %v\n%s", err, b)
	}
	data, err := os.ReadFile(filepath.Join(out, "os.squashfs"))
	if err != nil {
		t.Fatalf("aria2c output: %v\n%s", err, b)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// TestAria2FromSeeder: aria2c takes our .torrent, finds our seeder through
// our tracker and downloads over BitTorrent (no web seed in the torrent).
func TestAria2FromSeeder(t *testing.T) {
	needTool(t, "aria2c")
	const size = 8 << 20
	s := startServer(t, serverOpts{size: size})
	if got := runAria2(t, s); got != s.sum {
		t.Errorf("aria2c image sha256 %s, want %s", got, s.sum)
	}
	if up := s.seederUploaded(); up < size {
		t.Errorf("seeder uploaded %d bytes, want >= %d: aria2c did not use BitTorrent", up, size)
	}
}

// TestAria2WebSeed: with no BitTorrent seed, aria2c gets the image from
// the torrent's url-list: our web seed layout works for another client.
func TestAria2WebSeed(t *testing.T) {
	needTool(t, "aria2c")
	s := startServer(t, serverOpts{size: 4 << 20, webSeed: true, noSeed: true})
	if got := runAria2(t, s); got != s.sum {
		t.Errorf("aria2c image sha256 %s, want %s", got, s.sum)
	}
	if up := s.seederUploaded(); up != 0 {
		t.Errorf("seeder uploaded %d bytes for an image it does not seed", up)
	}
}
