package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
		out, err := c.Trapctl(ctx, "events", n)
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
		out, err := c.Trapctl(ctx, "events", node)
		if err == nil && strings.Contains(out, want) {
			return out, nil
		}
		if time.Now().After(deadline) {
			return out, fmt.Errorf("no event with %q after 30s (last error %v)", want, err)
		}
		time.Sleep(time.Second)
	}
}
