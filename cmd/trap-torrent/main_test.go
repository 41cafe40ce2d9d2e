package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/bootsrv/swarm"
	"github.com/disklesstrap/disklesstrap/trap/torrent/report"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args    string
		wantErr string
	}{
		{"--torrent http://x/t --dest /run/dt/image", ""},
		{"--dest /run/dt/image", "--torrent is required"},
		{"--torrent http://x/t", "--dest is required"},
		{"--torrent http://x/t --dest d --every 0s", "--every must be positive"},
		{"--torrent http://x/t --dest d --seed-for -1s", "--seed-for must not be negative"},
		{"--torrent http://x/t --dest d extra", "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			_, err := parseFlags(strings.Fields(tt.args), io.Discard)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("parseFlags(%q) = %v, want error %q", tt.args, err, tt.wantErr)
			}
		})
	}
}

// TestRunSeedsUntilStopped: a real seeder and tracker on 127.0.0.1; the
// helper downloads, writes progress/done/seeding lines, and on
// cancellation (SIGTERM on a node) stops with a "stopped" line, exit 0.
func TestRunSeedsUntilStopped(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "os.squashfs")
	b := make([]byte, 3<<20+123)
	rand.Read(b)
	if err := os.WriteFile(img, b, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	tr := swarm.NewTracker(func(ip netip.Addr) bool { return ip.IsLoopback() })
	mi, err := swarm.MakeTorrent(img, "os.squashfs", base+"/images/os", base+"/announce")
	if err != nil {
		t.Fatal(err)
	}
	var tb bytes.Buffer
	mi.Write(&tb)
	tr.Register(mi.HashInfoBytes(), "os")
	mux := http.NewServeMux()
	mux.Handle("/announce", tr)
	mux.Handle("/images/os", swarm.WebSeed{Path: img})
	mux.HandleFunc("/images/os.torrent", func(w http.ResponseWriter, r *http.Request) { w.Write(tb.Bytes()) })
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	seeder, err := swarm.NewSeeder(swarm.SeederConfig{Listen: netip.MustParseAddrPort("127.0.0.1:0")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(seeder.Close)
	if err := seeder.Add(context.Background(), mi, img); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	pr, pw := io.Pipe()
	code := make(chan int, 1)
	dest := filepath.Join(dir, "node", "image")
	go func() {
		code <- run(runCtx, []string{"--torrent", base + "/images/os.torrent", "--dest", dest,
			"--infohash", mi.HashInfoBytes().HexString(), "--sha256", hex.EncodeToString(sum[:]),
			"--listen", "127.0.0.2:0", "--every", "100ms"}, pw, io.Discard)
		pw.Close()
	}()
	var events []string
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		l, err := report.Parse(sc.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if len(events) == 0 || events[len(events)-1] != l.Event {
			events = append(events, l.Event)
		}
		switch l.Event {
		case report.EventError:
			t.Fatalf("helper error: %s", l.Error)
		case report.EventDone:
			if l.Progress.Completed != int64(len(b)) || !l.Progress.Done || l.SHA256 != hex.EncodeToString(sum[:]) {
				t.Errorf("done line = %+v, want %d bytes complete and the sha256", l, len(b))
			}
		case report.EventSeeding:
			stop() // the agent's SIGTERM at switch_root
		}
	}
	if c := <-code; c != 0 {
		t.Errorf("run() = %d, want 0", c)
	}
	got := strings.Join(events, " ")
	if !strings.HasSuffix(got, "done seeding stopped") {
		t.Errorf("events = %q, want ... done seeding stopped", got)
	}
	if on, err := os.ReadFile(dest); err != nil || !bytes.Equal(on, b) {
		t.Errorf("image at %s differs from the seeded one (%v)", dest, err)
	}
}

func TestRunFailsWithoutTorrent(t *testing.T) {
	var out bytes.Buffer
	code := run(context.Background(), []string{"--torrent", "http://127.0.0.1:1/none.torrent", "--dest", filepath.Join(t.TempDir(), "x")}, &out, io.Discard)
	if code != 1 {
		t.Errorf("run() with an unreachable .torrent = %d, want 1", code)
	}
	l, err := report.Parse(bytes.TrimSpace(out.Bytes()))
	if err != nil || l.Event != report.EventError || l.Error == "" {
		t.Errorf("output = %q, want one error line", out.String())
	}
}
