package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/client"
)

const inv = `networks:
  - name: lab
    subnet: 198.18.0.0/24
    server: 198.18.0.1
defaults:
  mode: trap
  kernel: vmlinuz
  initrd: trap.cpio.gz
nodes:
  - name: cn001
    interfaces:
      - {name: net0, mac: "52:54:00:00:00:01", ip: 198.18.0.11}
`

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// testServer is a real bootsrv on loopback (DHCP and TFTP off) with the
// inventory inv, stopped when the test ends.
type testServer struct {
	t       *testing.T
	s       *Server
	dir     string
	cfgPath string
	addr    string // HTTP address
	sock    string // admin socket
}

// admin is a client for the admin socket (the test runs as root or as
// bootsrv's own user: an admin).
func (ts *testServer) admin() *client.Client {
	return client.New("unix://"+ts.sock, &http.Client{Timeout: 10 * time.Second})
}

// startServer writes inv, applies mutate to the config (nil: none) and runs
// the server until the test ends; Run must return cleanly.
func startServer(t *testing.T, mutate func(*Config)) *testServer {
	t.Helper()
	ts := &testServer{t: t, dir: t.TempDir(), addr: freePort(t)}
	ts.cfgPath = filepath.Join(ts.dir, "cluster.yaml")
	if err := os.WriteFile(ts.cfgPath, []byte(inv), 0o644); err != nil {
		t.Fatal(err)
	}
	ts.sock = filepath.Join(ts.dir, "run", "admin.sock")
	cfg := Config{ConfigPath: ts.cfgPath, StateDir: filepath.Join(ts.dir, "state"), DataDir: ts.dir, HTTPAddr: ts.addr,
		DHCPAddr: "off", TFTPAddr: "off", Log: slog.New(slog.NewTextHandler(io.Discard, nil)), AdminSocket: ts.sock}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts.s = s
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return ts
}

// get fetches path, retrying while the server is not yet listening.
func (ts *testServer) get(path string) (int, string) {
	ts.t.Helper()
	for range 50 {
		resp, err := http.Get("http://" + ts.addr + path)
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	ts.t.Fatalf("GET %s: server not answering", path)
	return 0, ""
}

// TestReload: a good inventory is swapped in, a bad one is refused and the
// old one stays; runtime state survives both and a restart.
func TestReload(t *testing.T) {
	ts := startServer(t, nil)
	s, cfgPath, get := ts.s, ts.cfgPath, ts.get
	if code, _ := get("/manifest/cn002"); code != 404 {
		t.Fatalf("GET /manifest/cn002 before reload = %d, want 404", code)
	}
	added := inv + `  - name: cn002
    interfaces:
      - {name: net0, mac: "52:54:00:00:00:02", ip: 198.18.0.12}
`
	os.WriteFile(cfgPath, []byte(added), 0o644)
	if err := s.Reload(); err != nil {
		t.Fatalf("Reload(good) = %v", err)
	}
	if code, body := get("/manifest/cn002"); code != 200 || !strings.Contains(body, `"node": "cn002"`) && !strings.Contains(body, `"node":"cn002"`) {
		t.Errorf("GET /manifest/cn002 after reload = %d %s, want cn002's manifest", code, body)
	}
	os.WriteFile(cfgPath, []byte(added+"  - name: cn003\n    bogus: 1\n"), 0o644)
	err := s.Reload()
	if err == nil || !strings.Contains(err.Error(), "keeping the previous inventory") || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("Reload(bad) = %v, want an error naming the field and keeping the old inventory", err)
	}
	if code, _ := get("/manifest/cn002"); code != 200 {
		t.Errorf("after a refused reload GET /manifest/cn002 = %d, want 200 (old inventory kept)", code)
	}
}
