package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/tools/lab"
	"github.com/disklesstrap/disklesstrap/tools/labcluster"
)

// hostBusybox is the host's static busybox (busybox-static, a lab
// dependency) that the node-authentication checks copy onto a node.
const hostBusybox = "/bin/busybox"

// putBusybox copies the host's static busybox to /tmp/busybox on node
// (sftp, host key pinned by trapctl hostkeys).
func putBusybox(ctx context.Context, t *testing.T, c *labcluster.Cluster, node, addr string) {
	t.Helper()
	keys, err := c.Trapctl(ctx, "hostkeys", node)
	if err != nil {
		t.Fatalf("trapctl hostkeys %s: %v", node, err)
	}
	kh := filepath.Join(c.Dir, "known_hosts."+node)
	batch := filepath.Join(c.Dir, "sftp-busybox.batch")
	os.WriteFile(kh, []byte(keys), 0o600)
	os.WriteFile(batch, []byte("put "+hostBusybox+" /tmp/busybox\nchmod 755 /tmp/busybox\n"), 0o644)
	args := []string{"netns", "exec", c.Lab.Namespace(), "sftp", "-i", c.Key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=" + kh, "-b", batch, "root@" + addr}
	if out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("sftp busybox to %s: %v\n%s", node, err, out)
	}
}

// forgeCmd is a shell command posting body to bootsrv's events route
// with busybox wget and extra headers; it prints FORGE-OK or FORGE-REFUSED
// and wget's error.
func forgeCmd(server, body string, headers ...string) string {
	h := ""
	for _, x := range headers {
		h += fmt.Sprintf(" --header '%s'", x)
	}
	return fmt.Sprintf(`/tmp/busybox wget -q -O- --post-data '%s' --header 'Content-Type: application/json'%s %s/api/v1/events 2>&1 && echo FORGE-OK || echo FORGE-REFUSED`,
		body, h, server)
}

// testNodeForgery runs the forgeries from node's own address against its
// boot credential and checks nothing of them reached bootsrv's state.
func testNodeForgery(ctx context.Context, t *testing.T, c *labcluster.Cluster, node, other string) {
	addr := c.NodeIP(node)
	putBusybox(ctx, t, c, node, addr)
	keysBefore, _ := c.Trapctl(ctx, "hostkeys", other)
	forgedKey := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIINWH6AJ49rJcWVbW2UEqp3hgnz9gl05UASfH2j75fvx forged"
	cases := []struct{ name, cmd string }{
		{"own node", forgeCmd(c.URL, `{"node":"`+node+`","phase":"os-booted","message":"forged-own"}`)},
		{"other node", forgeCmd(c.URL, `{"node":"`+other+`","phase":"os-booted","message":"forged-other"}`)},
		{"host key of the other node", forgeCmd(c.URL, `{"node":"`+other+`","phase":"ssh-hostkey","data":{"key":"`+forgedKey+`","address":"`+addr+`"}}`)},
		{"guessed OS token", forgeCmd(c.URL, `{"node":"`+node+`","phase":"os-booted","message":"forged-token"}`, "Dt-Node: "+node, "Dt-Os-Token: guess")},
		{"signature headers without the key", forgeCmd(c.URL, `{"node":"`+node+`","phase":"os-booted","message":"forged-sig"}`,
			"Dt-Node: "+node, "Dt-Boot: 1-00", "Dt-Seq: 1", "Dt-Signature: "+strings.Repeat("A", 86)+"==")},
	}
	for _, tc := range cases {
		out, err := c.SSH(ctx, node, c.Key, tc.cmd)
		if err != nil || !strings.Contains(out, "FORGE-REFUSED") || !(strings.Contains(out, "401") || strings.Contains(out, "403")) {
			t.Errorf("forged %s from %s: %v\n%s\nwant refused with 401/403", tc.name, node, err, out)
		}
	}
	for _, n := range []string{node, other} {
		out, err := c.Trapctl(ctx, "events", n, "--limit", "1000")
		if err != nil || strings.Contains(out, "forged") {
			t.Errorf("trapctl events %s after the forgeries: %v\n%s", n, err, out)
		}
	}
	if keysAfter, _ := c.Trapctl(ctx, "hostkeys", other); keysAfter != keysBefore || strings.Contains(keysAfter, addr) {
		t.Errorf("trapctl hostkeys %s changed after a forged report:\nbefore %q\nafter  %q", other, keysBefore, keysAfter)
	}
}

// waitEvents waits until node's events contain want.
func waitEvents(ctx context.Context, c *labcluster.Cluster, node, want string) (string, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := c.Trapctl(ctx, "events", node, "--limit", "1000")
		if err == nil && strings.Contains(out, want) {
			return out, nil
		}
		if time.Now().After(deadline) {
			return out, fmt.Errorf("no event with %q after 30s (last error %v)", want, err)
		}
		time.Sleep(time.Second)
	}
}

// checkBootedOSUser runs, on n's booted test OS console (a root shell),
// what an unprivileged user of the node could try: read the OS token or
// find it in /proc/cmdline, /run or its environment, post an event, pull
// a secret. Root's own os-booted event (with the token) must have gone
// through; the user's must not.
func checkBootedOSUser(ctx context.Context, t *testing.T, c *labcluster.Cluster, n *lab.Node, secret string) {
	t.Helper()
	if err := n.WaitConsole(ctx, "DT-OS-EVENT os-booted sent", time.Minute); err != nil {
		t.Errorf("%s: the booted OS's own event (OS token) was not accepted: %v\n%s", n.Name, err, n.ConsoleTail(20))
	}
	// Markers are written DT-""NAME so the console's echo of the typed
	// line never matches them.
	script := strings.Join([]string{
		`t=$(cat /run/dt/os-token); echo "DT-""TOKEN-LEN ${#t} $(stat -c '%a %u' /run/dt/os-token)"`,
		`grep -qF "$t" /proc/cmdline && echo DT-""LEAK-CMDLINE`,
		`su user -c 'echo DT-""USER-ID $(id -u); cat /run/dt/os-token >/dev/null 2>&1 && echo DT-""USER-READ-TOKEN; env' | grep -qF "$t" && echo DT-""LEAK-ENV`,
		`su user -c 'echo DT-""USER-ID $(id -u); cat /run/dt/os-token >/dev/null 2>&1 && echo DT-""USER-READ-TOKEN'`,
		`for f in $(su user -c 'find /run /tmp /etc -xdev -type f 2>/dev/null') /proc/cmdline; do su user -c "cat $f" 2>/dev/null | grep -qF "$t" && echo "DT-""LEAK-FILE $f"; done`,
		`su user -c 'dt-event os-booted forged-by-user' 2>&1 | while read -r l; do echo "DT-""USER-EVENT $l"; done`,
		`su user -c 'wget -q -O- https://198.18.0.1:8443/api/v1/secrets/` + n.Name + `/` + secret + ` >/dev/null 2>&1 && echo DT-""USER-PULLED || echo DT-""USER-PULL-REFUSED'`,
		`echo DT-""NONROOT-DONE`,
	}, "; ")
	off := n.ConsoleOffset()
	if err := n.SendConsole(script + "\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.WaitConsoleFrom(ctx, off, regexp.MustCompile(`DT-NONROOT-DONE`), 3*time.Minute); err != nil {
		t.Fatalf("%s: non-root checks: %v\n%s", n.Name, err, n.ConsoleTail(30))
	}
	out := lab.CleanConsole(n.ConsoleText()[off:])
	t.Logf("%s non-root checks:\n%s", n.Name, out)
	for _, want := range []string{"DT-TOKEN-LEN 43 600 0", "DT-USER-ID 1000", "DT-USER-EVENT DT-OS-EVENT os-booted failed: cannot read the OS token", "DT-USER-PULL-REFUSED"} {
		if !strings.Contains(out, want) {
			t.Errorf("%s: non-root checks lack %q", n.Name, want)
		}
	}
	for _, bad := range []string{"DT-LEAK-", "DT-USER-READ-TOKEN", "DT-USER-PULLED"} {
		if strings.Contains(out, bad) {
			t.Errorf("%s: non-root check found %q", n.Name, bad)
		}
	}
	if evs, err := c.Trapctl(ctx, "events", n.Name, "--limit", "1000"); err != nil || strings.Contains(evs, "forged-by-user") || !strings.Contains(evs, "os-booted") {
		t.Errorf("trapctl events %s: %v\n%s\nwant root's os-booted event and not the user's", n.Name, err, evs)
	}
}

// checkSecretRelease: the node's boot pulled secret once and said it got
// it (secret-released, secret-received); then a boot-count reset (GET
// /ipxe for the victim's MAC, what anyone can send) and a pull without
// the boot key are refused, and no second release happened.
func checkSecretRelease(ctx context.Context, t *testing.T, c *labcluster.Cluster, node, mac, secret string) {
	t.Helper()
	if _, err := c.API.IPXEScript(ctx, mac, "pcbios"); err != nil {
		t.Fatal(err)
	}
	code, body := pullFrom(ctx, c.Lab, node, secret)
	if code != 401 || !strings.Contains(body, "not signed") {
		t.Errorf("pull of %s's %s without its boot key after a boot-count reset = %d %q, want 401 not signed", node, secret, code, body)
	}
	evs, err := c.Trapctl(ctx, "events", node, "--limit", "1000")
	if err != nil {
		t.Fatal(err)
	}
	if lines := countLines(evs, "secret-released", secret); lines != 1 {
		t.Errorf("trapctl events %s: %d secret-released lines for %s, want 1:\n%s", node, lines, secret, evs)
	}
	if lines := countLines(evs, "secret-received", secret); lines != 1 {
		t.Errorf("trapctl events %s: %d secret-received lines for %s, want 1:\n%s", node, lines, secret, evs)
	}
}

// countLines counts the lines of out that contain every word.
func countLines(out string, words ...string) int {
	n := 0
	for _, line := range strings.Split(out, "\n") {
		if lineHas(line, words...) {
			n++
		}
	}
	return n
}
