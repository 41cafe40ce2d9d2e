package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTFTPAddrs: by default TFTP binds the networks' server addresses the
// host has (not an uplink's); an explicit --tftp list is taken as is.
func TestTFTPAddrs(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "cluster.yaml")
	if err := os.WriteFile(cfgPath, []byte(inv), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{ConfigPath: cfgPath, StateDir: filepath.Join(dir, "state"), DataDir: dir,
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.store.Close() })
	for _, tt := range []struct {
		flag  string
		local []string
		want  string
	}{
		{TFTPAuto, []string{"127.0.0.1", "198.19.7.5", "198.18.0.1"}, "[198.18.0.1:69]"},
		{TFTPAuto, []string{"127.0.0.1", "198.19.7.5"}, "[:69]"},
		{"198.18.0.1:69, 127.0.0.1:6969", nil, "[198.18.0.1:69 127.0.0.1:6969]"},
	} {
		t.Run(fmt.Sprint(tt.flag, tt.local), func(t *testing.T) {
			var local []netip.Addr
			for _, a := range tt.local {
				local = append(local, netip.MustParseAddr(a))
			}
			s.cfg.TFTPAddr = tt.flag
			if got := fmt.Sprint(s.tftpAddrs(local)); got != tt.want {
				t.Errorf("tftpAddrs(%s, %v) = %s, want %s", tt.flag, tt.local, got, tt.want)
			}
		})
	}
}

// TestRefusesDHCPWithoutTie: with DHCP on and no interface of this host
// tied to a network (here: 198.18.0.0/24 without `interface:`, no such
// address on the host), bootsrv does not start, and says why.
func TestRefusesDHCPWithoutTie(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "cluster.yaml")
	if err := os.WriteFile(cfgPath, []byte(inv), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, a := range localAddrs() {
		if a == netip.MustParseAddr("198.18.0.1") {
			t.Skip("this host has 198.18.0.1: the lab network is tied here")
		}
	}
	s, err := New(Config{ConfigPath: cfgPath, StateDir: filepath.Join(dir, "state"), DataDir: dir,
		HTTPAddr: "127.0.0.1:0", DHCPAddr: "127.0.0.1:0", TFTPAddr: "off", TLSAddr: "off", TorrentListen: "off",
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = s.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "no network is tied") || !strings.Contains(err.Error(), "lab (198.18.0.0/24") {
		t.Fatalf("Run with DHCP on and no tied interface = %v, want a refusal naming the network", err)
	}
	t.Logf("refused: %v", err)
}
