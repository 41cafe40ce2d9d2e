package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/tools/lab"
	"github.com/disklesstrap/disklesstrap/tools/labcluster"
)

// checkISCSIBoot waits for the test OS marker and checks the device stack
// it prints: / an overlay over the iSCSI lower, /var from LVM, dm-crypt
// over dm-multipath over paths sd* (or over the single sd), one LOGGED_IN
// session per path.
func checkISCSIBoot(ctx context.Context, t *testing.T, n *lab.Node, paths int) {
	t.Helper()
	if err := n.WaitConsole(ctx, "DT-OS-BOOTED "+n.Name, 6*time.Minute); err != nil {
		t.Fatalf("%s: %v\n%s", n.Name, err, n.ConsoleTail(40))
	}
	t.Logf("TIMING %s: power-on to test OS marker %.1fs", n.Name, n.Elapsed().Seconds())
	if err := n.WaitConsole(ctx, "--- end ---", time.Minute); err != nil {
		t.Fatalf("%s: /proc/mounts listing: %v", n.Name, err)
	}
	text := lab.CleanConsole(n.ConsoleText())
	devices := between(text, "--- devices ---", "--- /proc/mounts ---")
	mounts := between(text, "--- /proc/mounts ---", "--- end ---")
	t.Logf("%s device stack:\n%s", n.Name, devices)
	res := []string{`(?m)^overlay / overlay \S*lowerdir=/run/dt/lower[,\s]`, `(?m)^overlay /var overlay \S*lowerdir=/run/dt/lower/var[,\s]`,
		`(?m)^/dev/\S+ /run/dt/lower ext4 ro[,\s]`, `(?m)^/dev/\S+ /run/dt/lower/var ext4 ro[,\s]`}
	for _, re := range res {
		if !regexp.MustCompile(re).MatchString(mounts) {
			t.Errorf("%s: /proc/mounts has no match for %s:\n%s", n.Name, re, mounts)
		}
	}
	// The handover of the sessions: the trap stopped its iscsid, the OS
	// started its own from the unit the trap enabled (sysinit.target, as
	// Debian's unit says), and it is the only one.
	started := regexp.MustCompile(`(?m)^DT-OS-UNIT iscsid\.service \(/etc/systemd/system/sysinit\.target\.wants\) started pid (\d+)$`).FindStringSubmatch(text)
	procs := regexp.MustCompile(`(?m)^iscsid processes \(pid/ppid\):(.*)$`).FindStringSubmatch(devices)
	// From the OS's iscsid start to the marker (its lines may interleave).
	boot := text[:max(0, strings.Index(text, "DT-OS-BOOTED"))]
	boot = boot[max(0, strings.Index(boot, "DT-OS-UNIT iscsid.service (")):]
	managed := fmt.Sprintf("DT-OS-UNIT iscsid.service: %d of %d sessions managed by iscsid, %d logged in", paths, paths, paths)
	relogins := len(regexp.MustCompile(`connection\d+:0 is operational after recovery`).FindAllString(boot, -1))
	switch {
	case !strings.Contains(text, "initramfs iscsid stopped: the booted OS's iscsid adopts the sessions"):
		t.Errorf("%s: the path keeper did not stop the initramfs iscsid:\n%s", n.Name, n.ConsoleTail(40))
	case started == nil:
		t.Errorf("%s: the test OS did not start iscsid.service from sysinit.target.wants:\n%s", n.Name, n.ConsoleTail(40))
	case !strings.Contains(boot, managed) || relogins != paths:
		// The OS's iscsid logs each session in again when it takes it
		// over, with the CHAP settings it reads from sysfs.
		t.Errorf("%s: want %q and %d re-logins by the OS's iscsid (%d):\n%s", n.Name, managed, paths, relogins, n.ConsoleTail(40))
	case procs == nil:
		t.Errorf("%s: no iscsid process list:\n%s", n.Name, devices)
	default:
		for _, p := range strings.Fields(procs[1]) { // the OS's iscsid or a child of it
			if pid, ppid, _ := strings.Cut(p, "/"); pid != started[1] && ppid != started[1] {
				t.Errorf("%s: iscsid %s in the booted OS is not the OS's (pid %s) nor its child: the initramfs iscsid still runs?", n.Name, p, started[1])
			}
		}
	}
	if paths > 1 { // the path keeper runs in the booted OS (it chroots into the new root)
		if err := n.WaitConsole(ctx, `msg="pathd: keeping multipath paths"`, 30*time.Second); err != nil {
			t.Errorf("%s: trap pathd did not start: %v\n%s", n.Name, err, n.ConsoleTail(40))
		}
		if m := regexp.MustCompile(`(?m)DisklessTrap: pathd:.*$`).FindString(text); m != "" {
			t.Errorf("%s: trap pathd failed: %s", n.Name, m)
		}
	}
	var stack []string
	if paths > 1 {
		stack = []string{`(?m)^dm-\d+ mpatha uuid=mpath-\S+ ro=1 slaves: sd[a-z]+ sd[a-z]+ $`, `(?m)^dm-\d+ luks_root uuid=CRYPT-LUKS2-\S+ ro=1 slaves: dm-\d+ $`}
	} else {
		stack = []string{`(?m)^dm-\d+ luks_root uuid=CRYPT-LUKS2-\S+ ro=1 slaves: sd[a-z]+ $`}
	}
	stack = append(stack, `(?m)^dm-\d+ luks_root1 uuid=\S* ro=1 slaves: dm-\d+ $`, `(?m)^dm-\d+ system-var uuid=LVM-\S+ ro=1 slaves: dm-\d+ $`)
	for _, re := range stack {
		if !regexp.MustCompile(re).MatchString(devices) {
			t.Errorf("%s: device stack has no match for %s:\n%s", n.Name, re, devices)
		}
	}
	sessions := regexp.MustCompile(`(?m)^session\d+ `+regexp.QuoteMeta(iscsiTarget)+` via \S+ state=LOGGED_IN recovery_tmo=(\d+) disks: sd[a-z]+ $`).FindAllStringSubmatch(devices, -1)
	if len(sessions) != paths {
		t.Errorf("%s: %d logged-in sessions in the booted OS, want %d:\n%s", n.Name, len(sessions), paths, devices)
	}
	want := "15" // multipath: fail over fast; single path: ride outages out
	if paths == 1 {
		want = "600"
	}
	for _, s := range sessions {
		if s[1] != want {
			t.Errorf("%s: session recovery_tmo %s, want %s (replacement_timeout)", n.Name, s[1], want)
		}
	}
}

// checkNoSecrets greps every secret in everything the test can see.
func checkNoSecrets(t *testing.T, c *labcluster.Cluster, dir string, nodes map[string]*lab.Node, extra string, secrets map[string]string) {
	t.Helper()
	seen := map[string]string{"trapctl output": extra}
	hc := c.Lab.HTTPClient()
	for name, n := range nodes {
		seen[name+" console"] = n.ConsoleText()
		for _, p := range []string{"/ipxe?mac=" + n.MACs[0], "/manifest/" + name, "/boot.ipxe"} {
			resp, err := hc.Get(c.URL + p)
			if err != nil {
				t.Errorf("GET %s: %v", p, err)
				continue
			}
			var b bytes.Buffer
			b.ReadFrom(resp.Body)
			resp.Body.Close()
			seen["GET "+p] = b.String()
		}
	}
	secretDir := filepath.Join(c.StateDir, "secrets")
	files := 0
	for _, root := range []string{dir, c.Dir} {
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() && p == secretDir {
				return filepath.SkipDir
			}
			if d.Type().IsRegular() {
				if b, err := os.ReadFile(p); err == nil {
					seen[p] = string(b)
					files++
				}
			}
			return nil
		})
	}
	leaks := 0
	for what, s := range secrets {
		for where, text := range seen {
			if strings.Contains(text, s) {
				t.Errorf("the %s is in %s", what, where)
				leaks++
			}
		}
	}
	t.Logf("secrets checked in %d texts (%d files under the test and lab folders, the secret store %s excepted; consoles, iPXE scripts, manifests, trapctl output): %d leaks",
		len(seen), files, secretDir, leaks)
	// The grep must be able to find a key: the store (0600 files in a
	// 0700 folder, on the bootsrv host only) does hold it.
	if fi, err := os.Stat(secretDir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("secret store %s: %v, want a 0700 folder", secretDir, err)
	}
	found := false
	filepath.WalkDir(secretDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			b, _ := os.ReadFile(p)
			fi, _ := d.Info()
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("secret store file %s: mode %v, want 0600", p, fi.Mode().Perm())
			}
			found = found || bytes.Contains(b, []byte(secrets["LUKS key"]))
		}
		return nil
	})
	if !found {
		t.Errorf("the LUKS key is not in bootsrv's secret store %s either: the grep cannot find it", secretDir)
	}
}

// pullFrom asks bootsrv's TLS endpoint for a node's secret from the lab
// host's own address (not the node's); the test does not pin (it wants
// bootsrv's answer, not the handshake's).
func pullFrom(ctx context.Context, l *lab.Lab, node, name string) (int, string) {
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: l.DialContext, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://198.18.0.1:8443"+manifest.SecretPath(node, name), nil)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
