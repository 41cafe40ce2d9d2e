package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSystemdNotify runs bootsrv as systemd would for Type=notify: READY=1
// once it serves, RELOADING=1 then READY=1 around a SIGHUP (here with a
// broken inventory: the old one keeps serving), STOPPING=1 at the end.
func TestSystemdNotify(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	inv := filepath.Join(dir, "cluster.yaml")
	good, err := os.ReadFile("../../bootsrv/invcheck/testdata/ok.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(inv, good, 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	ctx, cancel := context.WithCancel(context.Background())
	var logs strings.Builder
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--config", inv, "--state", filepath.Join(dir, "state"), "--data", dir, "--http", addr,
			"--dhcp", "off", "--tftp", "off", "--tls-listen", "off", "--torrent-listen", "off", "--log-format", "json"},
			&logs, &logs)
	}()
	recv := func(want string) {
		t.Helper()
		buf := make([]byte, 4096)
		conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("waiting for %q: %v", want, err)
		}
		if got := string(buf[:n]); !strings.HasPrefix(got, want) {
			t.Fatalf("notification %q, want %q...", got, want)
		}
	}
	recv("READY=1\nSTATUS=serving 4 nodes")
	if err := os.WriteFile(inv, []byte("nodes:\n  - name: cn001\n    moed: trap\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	recv("RELOADING=1\nMONOTONIC_USEC=")
	recv("READY=1\nSTATUS=serving 4 nodes") // the old inventory
	cancel()
	recv("STOPPING=1")
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}
