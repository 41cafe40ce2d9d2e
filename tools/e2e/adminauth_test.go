package e2e

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/tools/lab"
	"github.com/disklesstrap/disklesstrap/tools/labcluster"

	"github.com/disklesstrap/disklesstrap/internal/labreq"
)

// adminRoutes are every admin route with a body that would change
// something if it were accepted.
var adminRoutes = [][3]string{
	{"GET", "/api/v1/events?node=cn001", ""},
	{"GET", "/api/v1/nodes", ""},
	{"GET", "/api/v1/nodes/cn001", ""},
	{"POST", "/api/v1/nodes", `{"name":"evil1","fields":{"mac":"52:54:00:00:0e:01"}}`},
	{"PATCH", "/api/v1/nodes/cn001", `{"fields":{"mode":"install"}}`},
	{"DELETE", "/api/v1/nodes/cn002", ""},
	{"POST", "/api/v1/mode", `{"range":"cn[001-002]","mode":"install"}`},
	{"GET", "/api/v1/status", ""},
	{"GET", "/api/v1/hostkeys", ""},
	{"PUT", "/api/v1/images/evil?format=squashfs&sha256=" + strings.Repeat("0", 64), "hsqs"},
	{"GET", "/api/v1/images", ""},
	{"GET", "/api/v1/images/os", ""},
	{"DELETE", "/api/v1/images/os?force=1", ""},
	{"GET", "/api/v1/images/os/swarm", ""},
	{"PUT", "/api/v1/secrets/luks", "stolen"},
	{"GET", "/api/v1/secrets/luks", ""},
	{"GET", "/api/v1/tls/cert", ""},
	{"GET", "/api/v1/admin/whoami", ""},
	{"POST", "/api/v1/admin/tokens", `{"name":"evil"}`},
	{"GET", "/api/v1/admin/tokens", ""},
	{"DELETE", "/api/v1/admin/tokens/ops", ""},
	{"GET", "/api/v1/audit", ""},
}

// TestAdminAuthOtherHost: bootsrv in a lab namespace; another host on the
// lab bridge (its own namespace, an address that is no node's) tries every
// admin route without a credential, over HTTP and over TLS, with a forged
// token, and with a real token over plain HTTP: all 401, and cluster.yaml,
// modes, events, images, secrets and tokens are unchanged. The real token
// works from that host over TLS until it is revoked, and then fails at
// once naming why. A local user who is not root (nobody) can neither use
// the admin socket nor read a secret over loopback. No QEMU.
func TestAdminAuthOtherHost(t *testing.T) {
	labreq.Require(t, labreq.Root(), labreq.Tools("ip", "curl", "setpriv"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	l, err := lab.New(t, lab.Options{NoRouterAdverts: true})
	if err != nil {
		t.Fatal(err)
	}
	// Binaries where nobody may run them.
	bin, err := os.MkdirTemp("", "dt-adminauth-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(bin) })
	os.Chmod(bin, 0o755)
	bootsrv, err := labcluster.GoBuild(ctx, "./cmd/bootsrv", bin)
	if err != nil {
		t.Fatal(err)
	}
	trapctl, err := labcluster.GoBuild(ctx, "./cmd/trapctl", bin)
	if err != nil {
		t.Fatal(err)
	}
	dir := l.Dir()
	inv := filepath.Join(dir, "cluster.yaml")
	os.WriteFile(inv, []byte(`networks:
  - name: lab
    subnet: 198.18.0.0/24
    server: 198.18.0.1
defaults:
  mode: trap
nodes:
  - name: cn001
    interfaces: [{name: net0, network: lab, mac: "52:54:00:00:00:01", ip: 198.18.0.11}]
  - name: cn002
    interfaces: [{name: net0, network: lab, mac: "52:54:00:00:00:02", ip: 198.18.0.12}]
`), 0o644)
	sock := filepath.Join(dir, "run", "admin.sock")
	p, err := l.Start("bootsrv", l.Exec(context.Background(), bootsrv, "--config", inv, "--state", filepath.Join(dir, "state"),
		"--data", filepath.Join(dir, "data"), "--http", ":8080", "--tls-listen", ":8443", "--dhcp", "off", "--tftp", "off",
		"--torrent-listen", "off", "--admin-socket", sock, "--log-level", "debug"))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.WaitListen(ctx, "198.18.0.1:8443", 20*time.Second); err != nil {
		t.Fatalf("bootsrv: %v\n%s", err, p.Log())
	}
	admin := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, trapctl, append([]string{"--server", "unix://" + sock}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("trapctl %v as root on the admin socket: %v\n%s", args, err, out)
		}
		return string(out)
	}

	// State worth protecting: a mode, an image, a secret, a token.
	admin("", "mode", "set", "cn001", "local")
	osDir := filepath.Join(dir, "osroot")
	os.MkdirAll(filepath.Join(osDir, "etc"), 0o755)
	os.WriteFile(filepath.Join(osDir, "etc", "hostname"), []byte("x\n"), 0o644)
	admin("", "image", "pack", osDir, "--name", "os")
	admin("VALUE-luks-5150", "secret", "set", "luks")
	creds := filepath.Join(dir, "ops.json")
	admin("", "admin", "token", "create", "ops", "--out", creds)
	snapshot := func() string {
		invBytes, _ := os.ReadFile(inv)
		return strings.Join([]string{string(invBytes),
			admin("", "-o", "json", "status"), admin("", "-o", "json", "events", "cn001"),
			admin("", "-o", "json", "image", "list"), admin("", "secret", "show", "luks"),
			admin("", "-o", "json", "admin", "token", "list"), admin("", "-o", "json", "audit", "--limit", "0")}, "\n----\n")
	}
	before := snapshot()

	host, err := l.AddHost(0, netip.MustParsePrefix("198.18.0.250/24"))
	if err != nil {
		t.Fatal(err)
	}
	curl := func(method, url, body string, hdr ...string) (string, string) {
		args := []string{"-sk", "-o", "-", "-w", "\n%{http_code}", "-X", method, "--data-binary", body, url}
		for _, h := range hdr {
			args = append(args, "-H", h)
		}
		out, _ := host.Command(ctx, "curl", args...).CombinedOutput()
		s := strings.TrimSpace(string(out))
		i := strings.LastIndexByte(s, '\n')
		if i < 0 {
			return s, ""
		}
		return s[i+1:], s[:i]
	}
	forged := "Authorization: Bearer dtk_0123456789abcdef_" + strings.Repeat("A", 43)
	credText, _ := os.ReadFile(creds)
	realToken := between(string(credText), `"token": "`, `"`)
	if !strings.HasPrefix(realToken, "dtk_") {
		t.Fatalf("credentials file %s: no token:\n%s", creds, credText)
	}
	for _, rt := range adminRoutes {
		for _, c := range []struct {
			name, base string
			hdr        []string
		}{
			{"http", "http://198.18.0.1:8080", nil},
			{"https", "https://198.18.0.1:8443", nil},
			{"https, forged token", "https://198.18.0.1:8443", []string{forged}},
			{"http, real token", "http://198.18.0.1:8080", []string{"Authorization: Bearer " + realToken}},
		} {
			code, body := curl(rt[0], c.base+rt[1], rt[2], c.hdr...)
			if code != "401" || !strings.Contains(body, `"error"`) || strings.Contains(body, "VALUE-luks") {
				t.Errorf("%s %s from %s (%s) = %s %s, want 401 with a JSON error", rt[0], rt[1], host.Addr.Addr(), c.name, code, body)
			}
		}
	}
	if after := snapshot(); after != before {
		t.Errorf("state changed by refused calls:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if !strings.Contains(p.Log(), `admin token sent over plain HTTP and refused: it may be exposed, revoke it" token=ops remote=198.18.0.250`) {
		t.Errorf("bootsrv log lacks the warning for the token over plain HTTP")
	}

	// The remote admin: trapctl with the credentials file from that host.
	remote := func(args ...string) (string, error) {
		out, err := host.Command(ctx, trapctl, append([]string{"--credentials", creds}, args...)...).CombinedOutput()
		return string(out), err
	}
	if out, err := remote("admin", "whoami"); err != nil || !strings.HasPrefix(out, "token:ops from 198.18.0.250:") {
		t.Errorf("whoami from the other host with the token: %v %s", err, out)
	}
	if out, err := remote("mode", "set", "cn002", "service", "--once"); err != nil {
		t.Errorf("mode set from the other host with the token: %v %s", err, out)
	}
	admin("", "admin", "token", "revoke", "ops")
	if out, err := remote("status"); err == nil || !strings.Contains(out, "token ops revoked at") {
		t.Errorf("status with the token revoked meanwhile: %v %s", err, out)
	}
	audit := admin("", "audit")
	for _, want := range []string{"token:ops", "mode service (next boot only) on cn002", "revoke token ops", "set secret luks"} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit lacks %q:\n%s", want, audit)
		}
	}
	if strings.Contains(audit, "VALUE-luks") {
		t.Error("the audit log holds a secret value")
	}

	// A local user who is not root, on bootsrv's host.
	nobody := func(args ...string) string {
		out, _ := l.Exec(ctx, "setpriv", append([]string{"--reuid=nobody", "--regid=nogroup", "--clear-groups", trapctl}, args...)...).CombinedOutput()
		return string(out)
	}
	for _, args := range [][]string{
		{"--server", "unix://" + sock, "secret", "show", "luks"},
		{"--server", "http://127.0.0.1:8080", "secret", "show", "luks"},
		{"secret", "show", "luks"},
	} {
		out := nobody(args...)
		if strings.Contains(out, "VALUE-luks") || !(strings.Contains(out, "permission denied") || strings.Contains(out, "needs an admin credential")) {
			t.Errorf("trapctl %v as nobody: %s", args, out)
		}
	}
	if logs := p.Log(); strings.Contains(logs, "VALUE-luks") || strings.Contains(logs, realToken[21:]) {
		t.Error("bootsrv's log holds a secret or a token")
	}
}
