package testos

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/imagepack"
	"github.com/disklesstrap/disklesstrap/manifest"

	"github.com/disklesstrap/disklesstrap/internal/labreq"
)

func labSkip(t *testing.T, format string, args ...any) {
	t.Helper()
	labreq.Skip(t, format, args...)
}

// build runs build.sh into a temp dir.
func build(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("dpkg"); err != nil {
		labSkip(t, "dpkg not found (Debian tools needed to get busybox-static)")
	}
	out := filepath.Join(t.TempDir(), "root")
	b, err := exec.Command("./build.sh", out).CombinedOutput()
	if err != nil {
		if bytes.Contains(b, []byte("apt-get")) || bytes.Contains(b, []byte("Unable to locate")) {
			labSkip(t, "busybox-static not installed and not downloadable: %s", b)
		}
		t.Fatalf("build.sh: %v\n%s", err, b)
	}
	return out
}

func TestBuild(t *testing.T) {
	out := build(t)
	fi, err := os.Stat(filepath.Join(out, "sbin/init"))
	if err != nil || !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
		t.Fatalf("sbin/init: %v, mode %v; want an executable file", err, fi)
	}
	for link, want := range map[string]string{"bin/sh": "/bin/busybox", "usr/bin/wget": "/bin/busybox", "sbin/ip": "/bin/busybox"} {
		if got, err := os.Readlink(filepath.Join(out, link)); err != nil || got != want {
			t.Errorf("%s -> %q, %v; want %q", link, got, err, want)
		}
	}
	if b, err := os.ReadFile(filepath.Join(out, "etc/hostname")); err != nil || string(b) != "testos\n" {
		t.Errorf("etc/hostname = %q, %v", b, err)
	}
	if b, err := exec.Command("sh", "-n", filepath.Join(out, "sbin/init")).CombinedOutput(); err != nil {
		t.Errorf("sh -n sbin/init: %v %s", err, b)
	}
}

// TestInitBoots runs the test OS's /sbin/init as PID 1 of new mount, PID,
// UTS and network namespaces (chroot into the built folder): it must print
// the boot marker, the mounts between markers, find the link named by MAC
// (lo here), and try the event.
func TestInitBoots(t *testing.T) {
	if os.Geteuid() != 0 {
		labSkip(t, "needs root (namespaces, chroot, mounts)")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		labSkip(t, "unshare not installed")
	}
	out := build(t)
	env := "NODE=cn009\nHOSTNAME=cn009\nSERVER=http://127.0.0.1:9\nINTERFACE=net0\nMAC=00:00:00:00:00:00\nADDRESS=127.0.0.9/8\nGATEWAY=\n"
	if err := os.WriteFile(filepath.Join(out, "etc/dt/network.env"), []byte(env), 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(out, "etc/hostname"), []byte("cn009\n"), 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "--mount", "--pid", "--uts", "--net", "--fork", "--kill-child",
		"chroot", out, "/sbin/init")
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "DT_TESTOS_NOCONSOLE=1"}
	cmd.Stdin = strings.NewReader("echo SHELL-RAN\n")
	var buf lockedBuffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill(); <-done })
	deadline := time.After(15 * time.Second)
wait:
	for !strings.Contains(buf.String(), "shell exited") {
		select {
		case err := <-done:
			done <- err
			break wait
		case <-deadline:
			break wait
		case <-time.After(100 * time.Millisecond):
		}
	}
	got := buf.String()
	t.Logf("init output:\n%s", got)
	for _, want := range []string{"DT-OS-BOOTED cn009\n", "--- /proc/mounts ---\nproc /proc proc", "--- end ---\n",
		"DT-OS-NET lo 127.0.0.9/8", "DT-OS-EVENT os-booted failed", "SHELL-RAN", "console shell exited; restarting"} {
		if !strings.Contains(got, want) {
			t.Errorf("init output lacks %q", want)
		}
	}
}

// TestDtEvent posts an event with the image's dt-event script (the shell's
// printf into busybox nc) to an httptest server, with the OS token from
// its file in the Dt-Os-Token header.
func TestDtEvent(t *testing.T) {
	out := build(t)
	got := make(chan *http.Request, 1)
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		got <- r
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	bin := t.TempDir()
	for _, a := range []string{"nc", "head", "sleep", "hostname"} {
		os.Symlink(filepath.Join(out, "bin/busybox"), filepath.Join(bin, a))
	}
	cmd := exec.Command(filepath.Join(out, "bin/busybox"), "sh", filepath.Join(out, "usr/bin/dt-event"), "os-booted")
	tokFile := filepath.Join(t.TempDir(), "os-token")
	if err := os.WriteFile(tokFile, []byte("tok-0123"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd.Env = []string{"PATH=" + bin, "SERVER=" + srv.URL, "NODE=cn007", "MAC=52:54:00:00:00:07", "DT_OS_TOKEN_FILE=" + tokFile}
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("dt-event: %v\n%s", err, b)
	}
	r := <-got
	if r.Header.Get("Dt-Os-Token") != "tok-0123" || r.Header.Get("Dt-Node") != "cn007" {
		t.Errorf("headers %v: want Dt-Os-Token tok-0123 and Dt-Node cn007", r.Header)
	}
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/events" || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("request %s %s Content-Type %q; want POST /api/v1/events application/json", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
	}
	var ev manifest.Event
	if err := json.Unmarshal(body, &ev); err != nil || ev.Node != "cn007" || ev.Phase != manifest.PhaseOSBooted || ev.MAC != "52:54:00:00:00:07" {
		t.Errorf("event body %s: %+v, %v", body, ev, err)
	}
}

// TestPackTestOS packs the test OS and logs time and size.
func TestPackTestOS(t *testing.T) {
	out := build(t)
	for _, opt := range []imagepack.Options{
		{Format: imagepack.FormatSquashfs, Compression: "gzip"},
		{Format: imagepack.FormatSquashfs, Compression: "xz"},
		{Format: imagepack.FormatTarZstd},
	} {
		dst := filepath.Join(t.TempDir(), "testos."+opt.Format)
		start := time.Now()
		info, err := imagepack.Pack(context.Background(), out, dst, opt)
		if err != nil {
			t.Fatalf("Pack %+v: %v", opt, err)
		}
		t.Logf("pack %s %s: %v, %d bytes, %d files, sha256 %s", opt.Format, opt.Compression, time.Since(start).Round(time.Millisecond), info.Size, info.Files, info.SHA256[:12])
		if info.Size > 3<<20 || info.Files < 250 {
			t.Errorf("testos image %d bytes, %d files; want < 3 MiB and every applet link", info.Size, info.Files)
		}
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
