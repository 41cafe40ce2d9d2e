package tftpd

import (
	"bytes"
	"context"
	"crypto/rand"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pin/tftp/v3"

	"github.com/disklesstrap/disklesstrap/internal/labreq"
)

// fixture is a served temp dir: root/undionly.kpxe (random bytes),
// root/sub/snponly.efi, root/dir/, root/escape -> ../secret, and
// secret next to root.
type fixture struct {
	dir, root string
	addr      string
	files     map[string][]byte
	srv       *Server
}

func startServer(t *testing.T, opts ...func(*Server)) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{dir: dir, root: filepath.Join(dir, "tftp"), files: map[string][]byte{}}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(f.root, "sub"), 0o755))
	must(os.MkdirAll(filepath.Join(f.root, "dir"), 0o755))
	for name, size := range map[string]int{"undionly.kpxe": 70001, "sub/snponly.efi": 512 * 3, "empty": 0} {
		b := make([]byte, size)
		rand.Read(b)
		f.files[name] = b
		must(os.WriteFile(filepath.Join(f.root, name), b, 0o644))
	}
	must(os.WriteFile(filepath.Join(dir, "secret"), []byte("do not serve"), 0o600))
	must(os.Symlink(filepath.Join(dir, "secret"), filepath.Join(f.root, "escape")))
	must(os.Symlink("undionly.kpxe", filepath.Join(f.root, "inside")))

	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	must(err)
	f.addr = conn.LocalAddr().String()
	f.srv = New(f.root, slog.New(slog.DiscardHandler))
	f.srv.Timeout = 500 * time.Millisecond
	for _, o := range opts {
		o(f.srv)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.srv.ServeConn(ctx, conn) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("ServeConn after cancel = %v, want nil", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("ServeConn did not return after cancel")
		}
	})
	return f
}

func (f *fixture) get(t *testing.T, name string, blksize int, tsize bool) ([]byte, int64, error) {
	t.Helper()
	c, err := tftp.NewClient(f.addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetTimeout(time.Second)
	c.SetRetries(2)
	if blksize != 0 {
		c.SetBlockSize(blksize)
	}
	c.RequestTSize(tsize)
	wt, err := c.Receive(name, "octet")
	if err != nil {
		return nil, 0, err
	}
	size := int64(-1)
	if it, ok := wt.(tftp.IncomingTransfer); ok {
		if n, ok := it.Size(); ok {
			size = n
		}
	}
	var buf bytes.Buffer
	_, err = wt.WriteTo(&buf)
	return buf.Bytes(), size, err
}

func TestServeFiles(t *testing.T) {
	f := startServer(t)
	tests := []struct {
		name    string
		file    string // key in f.files
		blksize int
		tsize   bool
	}{
		{"plain 512-byte blocks", "undionly.kpxe", 0, false},
		{"blksize 1468 with tsize", "undionly.kpxe", 1468, true},
		{"leading slash", "/undionly.kpxe", 0, true},
		{"subdirectory, exact multiple of 512", "sub/snponly.efi", 0, true},
		{"backslashes", `sub\snponly.efi`, 0, false},
		{"empty file", "empty", 0, true},
		{"symlink inside the root", "inside", 0, false},
		{"absolute path inside the root", "ROOT/undionly.kpxe", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := strings.Replace(tt.file, "ROOT", f.root, 1)
			key := strings.TrimPrefix(strings.ReplaceAll(strings.TrimPrefix(tt.file, "ROOT"), `\`, "/"), "/")
			if key == "inside" {
				key = "undionly.kpxe"
			}
			got, size, err := f.get(t, req, tt.blksize, tt.tsize)
			if err != nil {
				t.Fatalf("get %q: %v", req, err)
			}
			want := f.files[key]
			if !bytes.Equal(got, want) {
				t.Errorf("get %q: %d bytes, want the %d bytes of %s", req, len(got), len(want), key)
			}
			if tt.tsize && size != int64(len(want)) {
				t.Errorf("get %q: tsize = %d, want %d", req, size, len(want))
			}
		})
	}
	// The server counts a transfer after the client has its last block.
	deadline := time.Now().Add(3 * time.Second)
	for f.srv.Stats().Sent < uint64(len(tests)) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if st := f.srv.Stats(); st.Sent != uint64(len(tests)) {
		t.Errorf("Stats().Sent = %d, want %d", st.Sent, len(tests))
	}
}

func TestRefusals(t *testing.T) {
	f := startServer(t)
	for _, name := range []string{
		"../secret",
		"sub/../../secret",
		"/../secret",
		`..\secret`,
		"DIR/secret", // absolute, outside the root
		"/etc/passwd",
		"escape", // symlink out of the root
		"missing.efi",
		"dir",
		"",
	} {
		name = strings.Replace(name, "DIR", f.dir, 1)
		t.Run(name, func(t *testing.T) {
			_, _, err := f.get(t, name, 0, true)
			if err == nil {
				t.Fatalf("get %q succeeded, want refused", name)
			}
			if !strings.Contains(err.Error(), "file not found") {
				t.Errorf("get %q error = %q, want the generic file not found", name, err)
			}
			if strings.Contains(err.Error(), f.dir) || strings.Contains(err.Error(), "secret") && !strings.Contains(name, "secret") {
				t.Errorf("get %q error %q reveals a server path", name, err)
			}
		})
	}
}

func TestWriteRefused(t *testing.T) {
	f := startServer(t)
	c, err := tftp.NewClient(f.addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetTimeout(time.Second)
	c.SetRetries(1)
	rf, err := c.Send("upload.bin", "octet")
	if err == nil {
		_, err = rf.ReadFrom(bytes.NewReader([]byte("data")))
	}
	if err == nil {
		t.Fatal("write request accepted, want refused")
	}
	if _, statErr := os.Stat(filepath.Join(f.root, "upload.bin")); statErr == nil {
		t.Errorf("upload.bin was created in the root")
	}
}

func TestClean(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"undionly.kpxe", "undionly.kpxe", true},
		{"/undionly.kpxe", "undionly.kpxe", true},
		{"//a//b", "a/b", true},
		{"./a/./b", "a/b", true},
		{"/srv/tftp/a", "a", true},
		{"/srv/tftpx/a", "srv/tftpx/a", true},
		{`a\b`, "a/b", true},
		{"../a", "", false},
		{"a/../../b", "", false},
		{"a/..", "", false},
		{`..\a`, "", false},
		{"", "", false},
		{"/", "", false},
		{"a\x00b", "", false},
	}
	for _, tt := range tests {
		got, ok := Clean("/srv/tftp", tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Clean(%q) = %q, %v, want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzClean(f *testing.F) {
	for _, s := range []string{"a", "../a", "/srv/tftp/a", `a\..\..\b`, "a/./b", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		rel, ok := Clean("/srv/tftp", name)
		if !ok {
			return
		}
		if strings.HasPrefix(rel, "/") || rel == ".." || strings.HasPrefix(rel, "../") || strings.Contains(rel, "/../") || strings.HasSuffix(rel, "/..") {
			t.Fatalf("Clean(%q) = %q escapes", name, rel)
		}
	})
}

// TestRealClients fetches a file with tftp-hpa and atftp when installed.
func TestRealClients(t *testing.T) {
	f := startServer(t)
	host, port, _ := net.SplitHostPort(f.addr)
	clients := []struct {
		bin  string
		args func(out string) []string
	}{
		{"tftp", func(out string) []string {
			return []string{"-m", "binary", host, port, "-c", "get", "undionly.kpxe", out}
		}},
		{"atftp", func(out string) []string {
			return []string{"--option", "tsize", "--option", "blksize 1428", "-g", "-r", "undionly.kpxe", "-l", out, host, port}
		}},
	}
	for _, c := range clients {
		t.Run(c.bin, func(t *testing.T) {
			bin, err := exec.LookPath(c.bin)
			if err != nil {
				labreq.Skip(t, "%s not installed (apt-get install tftp-hpa atftp)", c.bin)
			}
			out := filepath.Join(t.TempDir(), "got")
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmdOut, err := exec.CommandContext(ctx, bin, c.args(out)...).CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", c.bin, err, cmdOut)
			}
			got, err := os.ReadFile(out)
			if err != nil {
				t.Fatalf("%s wrote no file: %v\n%s", c.bin, err, cmdOut)
			}
			if want := f.files["undionly.kpxe"]; !bytes.Equal(got, want) {
				t.Errorf("%s fetched %d bytes, want %d identical", c.bin, len(got), len(want))
			}
		})
	}
}
