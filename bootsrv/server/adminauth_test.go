package server

import (
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/bootsrv/tlscert"
	"github.com/disklesstrap/disklesstrap/client"

	"github.com/disklesstrap/disklesstrap/internal/labreq"
)

// TestAdminCredentials: a real bootsrv with its admin socket and TLS
// listener. Root on the socket is an admin; a token made there works over
// TLS with the pinned certificate, is refused over plain HTTP, and fails
// at the next call once revoked; changes are audited.
func TestAdminCredentials(t *testing.T) {
	tlsAddr := freePort(t)
	ts := startServer(t, func(c *Config) { c.TLSAddr = tlsAddr })
	ts.get("/boot.ipxe") // wait until it listens
	ctx := context.Background()
	root := ts.admin()
	who, err := root.WhoAmI(ctx)
	if err != nil || who.From != "unix" || !strings.HasPrefix(who.Who, "local:") {
		t.Fatalf("whoami on the admin socket = %+v, %v", who, err)
	}
	for p, want := range map[string]os.FileMode{ts.sock: 0o600, ts.dir + "/run": 0o700} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v %v, want mode %v", p, fi.Mode(), err, want)
		}
	}

	created, err := root.CreateToken(ctx, "ci", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(created.Servers) == 0 || created.Servers[0] != "https://198.18.0.1:"+strings.Split(tlsAddr, ":")[1] {
		t.Errorf("servers %v", created.Servers)
	}
	remote, err := client.NewToken("https://"+tlsAddr, created.Text, []byte(created.CertPEM), &http.Client{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := remote.SetMode(ctx, api.ModeSet{Range: "cn001", Mode: "local"}); err != nil {
		t.Fatalf("mode set with the token over TLS: %v", err)
	}
	if w, err := remote.WhoAmI(ctx); err != nil || w.Who != "token:ci" {
		t.Errorf("whoami with the token = %+v, %v", w, err)
	}

	// The same token over plain HTTP: refused, whatever the client does.
	req, _ := http.NewRequest("GET", "http://"+ts.addr+"/api/v1/status", nil)
	req.Header.Set("Authorization", "Bearer "+created.Text)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("token over plain HTTP = %d, want 401", resp.StatusCode)
	}
	// A pinned client refuses another certificate.
	otherPEM, err := tlscert.Ensure(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	other, _ := client.NewToken("https://"+tlsAddr, created.Text, otherPEM, nil)
	if _, err := other.WhoAmI(ctx); err == nil || !strings.Contains(err.Error(), "pinned") {
		t.Errorf("whoami with a wrong pin: %v", err)
	}

	if _, err := root.RevokeToken(ctx, "ci"); err != nil {
		t.Fatal(err)
	}
	_, err = remote.Status(ctx, "")
	var ce *client.Error
	if !errors.As(err, &ce) || ce.StatusCode != 401 || !strings.Contains(err.Error(), "token ci revoked at") {
		t.Errorf("status with the revoked token: %v", err)
	}

	recs, err := root.Audit(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, r.Who+" "+r.Method+" "+r.Path+" "+r.Summary)
	}
	for _, want := range []string{"POST /api/v1/admin/tokens create token ci", "token:ci POST /api/v1/mode mode local on cn001", "DELETE /api/v1/admin/tokens/ci revoke token ci"} {
		if !strings.Contains(strings.Join(got, "\n"), want) {
			t.Errorf("audit lacks %q:\n%s", want, strings.Join(got, "\n"))
		}
	}
}

// TestAdminSocketNonRoot: a local user who is not root cannot use the
// admin socket (its folder is 0700, the socket 0600; bootsrv checks the
// peer's uid too). Runs curl as nobody through setpriv.
func TestAdminSocketNonRoot(t *testing.T) {
	// Root: to run a command as nobody.
	labreq.Check(t, labreq.Root(), labreq.Tools("setpriv", "curl"))
	setpriv, _ := exec.LookPath("setpriv")
	curl, _ := exec.LookPath("curl")
	ts := startServer(t, nil)
	ts.get("/boot.ipxe")
	hc, base := ts.admin().HTTPClient()
	req, _ := http.NewRequest("PUT", base+"/api/v1/secrets/luks", strings.NewReader("VALUE-77"))
	if resp, err := hc.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("root sets a secret: %v %v", resp, err)
	}
	// Only the socket's own folder (0700) and mode (0600) stand in the way.
	for d := filepath.Dir(ts.dir); d != os.TempDir() && len(d) > 1; d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	os.Chmod(ts.dir, 0o755)
	asNobody := func(args ...string) (string, error) {
		b, err := exec.Command(setpriv, append([]string{"--reuid=nobody", "--regid=nogroup", "--clear-groups", curl, "-sS"}, args...)...).CombinedOutput()
		return string(b), err
	}
	out, err := asNobody("--unix-socket", ts.sock, "http://localhost/api/v1/secrets/luks")
	if err == nil || strings.Contains(out, "VALUE-77") {
		t.Errorf("nobody on the admin socket: %v %s, want no connection", err, out)
	}
	// Even with the folder and socket opened up by mistake, bootsrv
	// checks the peer's uid.
	os.Chmod(filepath.Dir(ts.sock), 0o755)
	os.Chmod(ts.sock, 0o666)
	out, _ = asNobody("--unix-socket", ts.sock, "http://localhost/api/v1/secrets/luks")
	if strings.Contains(out, "VALUE-77") || !strings.Contains(out, "uid 65534 is not a bootsrv admin") {
		t.Errorf("nobody on an opened-up admin socket: %s, want 403", out)
	}
	// Over TCP as nobody: no credential.
	out, _ = asNobody("http://" + ts.addr + "/api/v1/secrets/luks")
	if strings.Contains(out, "VALUE-77") || !strings.Contains(out, "needs an admin credential") {
		t.Errorf("nobody over loopback TCP: %s", out)
	}
}
