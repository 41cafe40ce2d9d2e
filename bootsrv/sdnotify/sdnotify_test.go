package sdnotify

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// listen opens a unixgram socket like systemd's notify socket.
func listen(t *testing.T, name string) *net.UnixConn {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func recv(t *testing.T, c *net.UnixConn) string {
	t.Helper()
	buf := make([]byte, 4096)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("read notification: %v", err)
	}
	return string(buf[:n])
}

func TestSend(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify")
	abstract := "@dt-sdnotify-test-" + filepath.Base(t.TempDir())
	for _, tt := range []struct {
		name, socket, listenOn string
	}{
		{"path", path, path},
		{"abstract", abstract, "\x00" + abstract[1:]},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := listen(t, tt.listenOn)
			n := Notifier{Socket: tt.socket}
			if !n.Enabled() {
				t.Fatal("Enabled() = false with a socket")
			}
			if err := n.Ready("serving 3 nodes"); err != nil {
				t.Fatal(err)
			}
			if got, want := recv(t, c), "READY=1\nSTATUS=serving 3 nodes"; got != want {
				t.Errorf("Ready sent %q, want %q", got, want)
			}
			if err := n.Reloading(); err != nil {
				t.Fatal(err)
			}
			if got := recv(t, c); !strings.HasPrefix(got, "RELOADING=1\nMONOTONIC_USEC=") || strings.HasSuffix(got, "=0") {
				t.Errorf("Reloading sent %q, want RELOADING=1 and a monotonic time", got)
			}
			if err := n.Stopping(); err != nil {
				t.Fatal(err)
			}
			if got := recv(t, c); got != "STOPPING=1" {
				t.Errorf("Stopping sent %q", got)
			}
		})
	}
}

func TestUnsetAndBad(t *testing.T) {
	if err := (Notifier{}).Ready("x"); err != nil {
		t.Errorf("no socket: %v, want nil (not under systemd)", err)
	}
	if err := (Notifier{Socket: "relative"}).Ready("x"); err == nil || !strings.Contains(err.Error(), "relative") {
		t.Errorf("relative socket: %v, want an error naming it", err)
	}
	if err := (Notifier{Socket: filepath.Join(t.TempDir(), "none")}).Ready("x"); err == nil {
		t.Error("missing socket: no error")
	}
}
