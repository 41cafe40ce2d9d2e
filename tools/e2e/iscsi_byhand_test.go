package e2e

import (
	"context"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/tools/iscsilab"
	"github.com/disklesstrap/disklesstrap/tools/lab"
	"github.com/disklesstrap/disklesstrap/tools/labcluster"
)

// byHand drives cn021 in the trap over SSH and returns trapctl's output.
func byHand(ctx context.Context, t *testing.T, c *labcluster.Cluster, n *lab.Node, tg *iscsilab.Target, mutual string) string {
	node := n.Name
	if err := n.WaitConsole(ctx, "root@"+node+"_DisklessTrap:/root#", 4*time.Minute); err != nil {
		t.Fatal(err)
	}
	t.Logf("TIMING %s: power-on to trap prompt %.1fs", node, n.Elapsed().Seconds())
	if err := c.WaitSSH(ctx, node, time.Minute); err != nil {
		t.Fatal(err)
	}
	ssh := func(cmd string) (string, error) {
		args := c.SSHArgs(node, c.Key, cmd)
		out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
		return string(out), err
	}
	must := func(cmd string) string {
		t.Helper()
		t1 := time.Now()
		out, err := ssh(cmd)
		if err != nil {
			t.Fatalf("%s %q: %v\n%s\nconsole:\n%s", node, cmd, err, out, n.ConsoleTail(30))
		}
		t.Logf("%s$ %s (%.1fs)\n%s", node, cmd, time.Since(t1).Seconds(), strings.TrimSpace(out))
		return out
	}
	var trapctlOut strings.Builder
	push := func(stdin []byte, args ...string) {
		t.Helper()
		out, err := c.TrapctlAdmin(ctx, stdin, append(args, "-i", c.Key)...)
		trapctlOut.WriteString(out)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("trapctl %s\n%s", strings.Join(args, " "), strings.TrimSpace(out))
	}

	// The second path's NIC: the agent set it up from the manifest.
	ip2 := c.NodeIP2(node)
	if out := must(`for d in /sys/class/net/*; do [ "$(cat $d/address)" = "` + n.MACs[1] + `" ] && ip -4 -o addr show dev ${d##*/}; done; true`); !strings.Contains(out, ip2+"/24") {
		t.Errorf("%s: the NIC %s has no address %s/24 from the manifest:\n%s", node, n.MACs[1], ip2, out)
	}
	trapctlOut.WriteString(must("cat /proc/cmdline; trap manifest"))

	// The LUKS key from bootsrv's store into the agent's memory; a wrong
	// mutual-CHAP secret (pushed secrets win over pulled ones).
	push(nil, "luks", "push", node, "testos")
	wrong := randHex(8)
	push([]byte(wrong), "secret", "push", node, "iscsi-mutual")
	t1 := time.Now()
	out, err := ssh("trap iscsi login")
	t.Logf("%s$ trap iscsi login  (wrong mutual CHAP secret, %.1fs)\n%s", node, time.Since(t1).Seconds(), strings.TrimSpace(out))
	if err == nil {
		t.Fatalf("trap iscsi login with a wrong mutual CHAP secret succeeded")
	}
	for _, want := range []string{iscsiPortals[0].String() + ": authentication failed", iscsiPortals[1].String() + ": authentication failed", "mutual CHAP user " + mutualUser} {
		if !strings.Contains(out, want) {
			t.Errorf("trap iscsi login with a wrong mutual CHAP secret: output does not say %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, wrong) || strings.Contains(n.ConsoleText(), wrong) {
		t.Errorf("the wrong CHAP secret shows in the login output or on the console")
	}
	if s := must("ls /sys/class/iscsi_session | wc -l"); strings.TrimSpace(s) != "0" {
		t.Errorf("sessions after the failed login: %s, want 0", s)
	}

	push([]byte(mutual), "secret", "push", node, "iscsi-mutual")
	must("trap iscsi login")
	out = must("for s in /sys/class/iscsi_session/session*; do echo $(cat $s/targetname) $(cat $s/device/connection*/iscsi_connection/connection*/persistent_address); done")
	for _, p := range iscsiPortals {
		if !strings.Contains(out, iscsiTarget+" "+p.Addr().String()) {
			t.Errorf("no iSCSI session to %s via %s:\n%s", iscsiTarget, p.Addr(), out)
		}
	}
	if show, err := tg.Show(ctx); err == nil {
		t.Logf("tgtadm show (target side):\n%s", show)
	}
	must("trap multipath")
	out = must("for d in /sys/block/dm-*; do echo ${d##*/} $(cat $d/dm/name) $(cat $d/dm/uuid) ro=$(cat $d/ro) slaves: $(ls $d/slaves); done")
	if !regexp.MustCompile(`(?m)^dm-\d+ mpatha mpath-3\S+ ro=\d slaves: sd[a-z]+ sd[a-z]+$`).MatchString(out) {
		t.Errorf("no dm map mpatha (uuid mpath-3<NAA>) over two sd paths:\n%s", out)
	}
	for _, step := range []string{"trap luks open", "trap partitions", "trap lvm", "trap readonly", "trap lower"} {
		must(step)
	}
	out = must("for d in /sys/block/dm-*; do echo ${d##*/} $(cat $d/dm/name) ro=$(cat $d/ro) slaves: $(ls $d/slaves); done; grep /run/dt /proc/mounts; cat /run/dt/lower/var/dt-var-marker")
	for _, re := range []string{`(?m)^dm-\d+ luks_root ro=1 `, `(?m)^dm-\d+ luks_root1 ro=1 `, `(?m)^dm-\d+ system-var ro=1 `,
		`(?m)^/dev/\S+ /run/dt/lower ext4 ro[,\s]`, `(?m)^/dev/\S+ /run/dt/lower/var ext4 ro[,\s]`, `(?m)^var from LVM$`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("after the storage steps: no match for %s in:\n%s", re, out)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	// The SSH server stops at switch_root, so the connection may drop.
	ssh("trap continue")
	checkISCSIBoot(ctx, t, n, 2)
	return trapctlOut.String()
}
