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

// byHand: cn021 boots in mode iscsi with a wrong mutual-CHAP secret in
// bootsrv's store (its own secret name, mutualCN021): the login step fails
// and the node stays in the trap with the error on the console and as an
// event. Then the admin drives it over SSH: pushes the LUKS key and the
// right secret, runs every step by hand and `trap continue`. Returns
// trapctl's output.
func byHand(ctx context.Context, t *testing.T, c *labcluster.Cluster, n *lab.Node, tg *iscsilab.Target, mutual, disco string) string {
	node := n.Name
	if err := n.WaitConsole(ctx, "root@"+node+"_DisklessTrap:/root#", 4*time.Minute); err != nil {
		t.Fatal(err)
	}
	t.Logf("TIMING %s: power-on to trap prompt (failed login) %.1fs", node, n.Elapsed().Seconds())
	// The error spans lines (iscsiadm's output is part of it).
	console := lab.CleanConsole(n.ConsoleText())
	failure := console[max(0, strings.Index(console, "*** DisklessTrap: step 1 (iscsi login) failed")):]
	t.Logf("%s console: %.300s", node, failure)
	for _, want := range []string{"step 1 (iscsi login) failed", iscsiPortals[0].String() + ": authentication failed", iscsiPortals[1].String() + ": authentication failed", "mutual CHAP user " + mutualUser} {
		if !strings.Contains(failure, want) {
			t.Errorf("%s: the console does not say %q about the failed login:\n%s", node, want, n.ConsoleTail(30))
		}
	}
	if ev, err := c.Trapctl(ctx, "events", node); err != nil || !regexp.MustCompile(`step-failed.*iscsi login.*`+regexp.QuoteMeta(iscsiPortals[0].String())+`: authentication failed`).MatchString(ev) {
		t.Errorf("trapctl events %s: no step-failed event naming the portal (%v):\n%s", node, err, ev)
	}
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

	if s := must("ls /sys/class/iscsi_session | wc -l"); strings.TrimSpace(s) != "0" {
		t.Errorf("sessions after the failed login: %s, want 0", s)
	}

	// The LUKS key from bootsrv's store into the agent's memory, and the
	// right mutual-CHAP secret (pushed secrets win over pulled ones).
	push(nil, "luks", "push", node, "testos")
	push([]byte(mutual), "secret", "push", node, mutualCN021)

	// A wrong discovery CHAP secret: sendtargets discovery is refused on
	// both portals, named; then the right one.
	push([]byte(randHex(8)), "secret", "push", node, "iscsi-disco")
	t1 := time.Now()
	out, err := ssh("trap iscsi login")
	t.Logf("%s$ trap iscsi login  (wrong discovery CHAP secret, %.1fs)\n%s", node, time.Since(t1).Seconds(), strings.TrimSpace(out))
	for _, p := range iscsiPortals {
		if want := p.String() + ": sendtargets discovery: authentication failed: the portal refused discovery CHAP user " + discoUser; err == nil || !strings.Contains(out, want) {
			t.Errorf("trap iscsi login with a wrong discovery CHAP secret: %v, output does not say %q", err, want)
		}
	}
	push([]byte(disco), "secret", "push", node, "iscsi-disco")
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
	// The rest of the plan by hand too (the iscsi plan's own zram,
	// overlay and sysroot steps), up to the hand-over; switch_root is
	// left to `trap continue`.
	for _, step := range []string{"trap zram", "trap overlay", "trap sysroot", "trap iscsi sysroot"} {
		must(step)
	}
	out = must("grep -E ' /sysroot(/var)? | /overlay ' /proc/mounts; cat /sysroot/etc/hostname /sysroot/etc/iscsi/initiatorname.iscsi; ls /sysroot/etc/systemd/system/sysinit.target.wants/")
	for _, re := range []string{`(?m)^overlay /sysroot overlay \S*lowerdir=/run/dt/lower,`, `(?m)^overlay /sysroot/var overlay \S*lowerdir=/run/dt/lower/var,`,
		`(?m)^/dev/zram0 /overlay xfs `, `(?m)^` + node + `$`, `(?m)^InitiatorName=` + regexp.QuoteMeta(initiator(node)) + `$`, `(?m)^iscsid\.service$`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("after the zram, overlay and sysroot steps by hand: no match for %s in:\n%s", re, out)
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
