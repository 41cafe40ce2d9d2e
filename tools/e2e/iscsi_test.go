package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/images/rawdisk"
	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/tools/iscsilab"
	"github.com/disklesstrap/disklesstrap/tools/lab"
	"github.com/disklesstrap/disklesstrap/tools/labcluster"
)

// TestISCSIRoot: the Ocean diskless root in a real guest. The lab's test
// OS is laid out as a GPT disk (ext4 root + LVM VG system/LV var), wrapped
// in LUKS2 and exported by tgtd on two portals (br0 and br1) with CHAP,
// mutual CHAP and the node's initiator name in the ACL. cn021 boots into
// the trap with a NIC on each bridge; over SSH the admin pushes the iscsi
// section and the secrets into the agent's memory and runs the steps by
// hand: a login with a wrong mutual-CHAP secret must fail naming the
// portal and the authentication failure; then login (two sessions),
// multipath (one dm map over both disks), luks open, partitions, lvm,
// readonly, lower; then `trap continue` boots the test OS from it.
func TestISCSIRoot(t *testing.T) {
	requireLab(t)
	requireTools(t, "tgtd", "tgtadm", "iscsid", "iscsiadm", "blockdev", "mkfs.ext4", "debugfs", "lvm", "losetup", "cryptsetup")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir := t.TempDir()
	start := time.Now()

	// The initramfs with the iSCSI binaries and modules (built here: the
	// other lab tests keep the small default one).
	initrdPath, err := labcluster.BuildInitrdExtra(ctx, filepath.Join(dir, "trap-iscsi.cpio.gz"), labcluster.InitrdExtra{
		Modules: labcluster.ISCSIModules, HostBinaries: labcluster.ISCSIHostBinaries,
	})
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(initrdPath); err == nil {
		t.Logf("TIMING iscsi initramfs %.1f MB: %s", float64(fi.Size())/1e6, time.Since(start).Round(time.Millisecond))
	}

	// The disk: test OS root + LVM var, LUKS2 over all of it.
	root, _ := labcluster.RepoRoot()
	osDir := filepath.Join(dir, "testos")
	if out, err := exec.CommandContext(ctx, filepath.Join(root, "images/testos/build.sh"), osDir, "cn021").CombinedOutput(); err != nil {
		t.Fatalf("images/testos/build.sh: %v\n%s", err, out)
	}
	varDir := filepath.Join(dir, "var")
	os.MkdirAll(filepath.Join(varDir, "lib"), 0o755)
	if err := os.WriteFile(filepath.Join(varDir, "dt-var-marker"), []byte("var from LVM\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	plain := filepath.Join(dir, "plain.img")
	if _, err := rawdisk.BuildPlain(ctx, plain, rawdisk.Spec{RootDir: osDir, VarDir: varDir}); err != nil {
		t.Fatal(err)
	}
	volKey, pass := make([]byte, rawdisk.VolumeKeySize), []byte(randHex(16))
	rand.Read(volKey)
	disk := filepath.Join(dir, "disk.luks")
	if _, err := rawdisk.Encrypt(ctx, plain, disk, volKey, pass, rawdisk.LUKSOptions{}); err != nil {
		t.Fatal(err)
	}
	os.Remove(plain)
	t.Logf("TIMING raw disk + LUKS2: %s", time.Since(t0).Round(time.Millisecond))

	const (
		node      = "cn021"
		mac2      = "52:54:00:19:00:21"
		ip2       = "198.19.0.21"
		initiator = "iqn.2026-11.lab.dt:cn021"
		target    = "iqn.2026-11.lab.dt:testos"
	)
	c, err := labcluster.Start(ctx, t, labcluster.Options{
		Initrd: initrdPath,
		Nodes: []labcluster.Node{{Name: node, MAC: "52:54:00:18:00:21", IP: "198.18.0.21", MAC2: mac2, IP2: ip2,
			Firmware: lab.BIOS, Mode: string(manifest.ModeISCSI)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	chap, mutual := randHex(8), randHex(8) // CHAP secrets: 12..16 characters
	portals := []netip.AddrPort{netip.MustParseAddrPort("198.18.0.1:3260"), netip.MustParseAddrPort("198.19.0.1:3260")}
	tg, err := iscsilab.Start(ctx, t, c.Lab, iscsilab.Options{
		IQN: target, Backing: disk, Portals: portals, Initiators: []string{initiator},
		CHAP:       iscsilab.Account{User: "cn021_user", Password: chap},
		MutualCHAP: iscsilab.Account{User: "testos_target", Password: mutual},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Trapctl(ctx, "mode", "set", node, "trap", "--once"); err != nil {
		t.Fatal(err)
	}
	n, err := c.Boot(node)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.WaitConsole(ctx, "root@"+node+"_DisklessTrap:/root#", 4*time.Minute); err != nil {
		t.Fatal(err)
	}
	t.Logf("TIMING %s: power-on to trap prompt %.1fs", node, n.Elapsed().Seconds())
	if err := c.WaitSSH(ctx, node, time.Minute); err != nil {
		t.Fatal(err)
	}
	ssh := func(cmd string, stdin []byte) (string, error) {
		args := c.SSHArgs(node, c.Key, cmd)
		x := exec.CommandContext(ctx, args[0], args[1:]...)
		x.Stdin = bytes.NewReader(stdin)
		out, err := x.CombinedOutput()
		return string(out), err
	}
	must := func(cmd string, stdin []byte) string {
		t.Helper()
		t1 := time.Now()
		out, err := ssh(cmd, stdin)
		if err != nil {
			t.Fatalf("%s %q: %v\n%s\nconsole:\n%s", node, cmd, err, out, n.ConsoleTail(30))
		}
		t.Logf("%s$ %s (%.1fs)\n%s", node, cmd, time.Since(t1).Seconds(), strings.TrimSpace(out))
		return out
	}

	// The second path's NIC: the trap brings up only the boot interface.
	must(`for d in /sys/class/net/*; do [ "$(cat $d/address)" = "`+mac2+`" ] && dev=${d##*/}; done; `+
		`ip addr add `+ip2+`/24 dev $dev && ip link set $dev up && ip -4 -o addr show dev $dev`, nil)

	cfg := manifest.ISCSI{
		InitiatorName: initiator, Target: target,
		Portals:    []string{portals[0].String(), portals[1].String()},
		CHAP:       &manifest.CHAP{User: "cn021_user", Secret: manifest.SecretRef{Name: "iscsi-chap"}},
		MutualCHAP: &manifest.CHAP{User: "testos_target", Secret: manifest.SecretRef{Name: "iscsi-mutual"}},
		LUKS:       &manifest.LUKS{Key: manifest.SecretRef{Name: "luks"}},
	}
	js, _ := json.Marshal(cfg)
	must("trap iscsi config", js)
	must("trap secret set iscsi-chap", []byte(chap+"\n"))

	// A wrong mutual-CHAP secret: the target fails to prove itself.
	wrong := randHex(8)
	must("trap secret set iscsi-mutual", []byte(wrong))
	t1 := time.Now()
	out, err := ssh("trap iscsi login", nil)
	t.Logf("%s$ trap iscsi login  (wrong mutual CHAP secret, %.1fs)\n%s", node, time.Since(t1).Seconds(), strings.TrimSpace(out))
	if err == nil {
		t.Fatalf("trap iscsi login with a wrong mutual CHAP secret succeeded")
	}
	for _, want := range []string{portals[0].String() + ": authentication failed", portals[1].String() + ": authentication failed", "mutual CHAP user testos_target"} {
		if !strings.Contains(out, want) {
			t.Errorf("trap iscsi login with a wrong mutual CHAP secret: output does not say %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{wrong, mutual, chap} {
		if strings.Contains(out, secret) || strings.Contains(n.ConsoleText(), secret) {
			t.Errorf("a CHAP secret shows in the login output or on the console")
		}
	}
	if s := must("ls /sys/class/iscsi_session | wc -l", nil); strings.TrimSpace(s) != "0" {
		t.Errorf("sessions after the failed login: %s, want 0", s)
	}

	must("trap secret set iscsi-mutual", []byte(mutual))
	must("trap secret set luks", pass)
	must("trap iscsi login", nil)
	out = must("for s in /sys/class/iscsi_session/session*; do echo $(cat $s/targetname) $(cat $s/device/connection*/iscsi_connection/connection*/persistent_address); done", nil)
	for _, p := range portals {
		if !strings.Contains(out, target+" "+p.Addr().String()) {
			t.Errorf("no iSCSI session to %s via %s:\n%s", target, p.Addr(), out)
		}
	}
	if show, err := tg.Show(ctx); err == nil {
		t.Logf("tgtadm show (target side):\n%s", show)
	}

	must("trap multipath", nil)
	out = must("for d in /sys/block/dm-*; do echo ${d##*/} $(cat $d/dm/name) $(cat $d/dm/uuid) ro=$(cat $d/ro) slaves: $(ls $d/slaves); done", nil)
	if !regexp.MustCompile(`(?m)^dm-\d+ mpatha mpath-\S+ ro=\d slaves: sd[a-z]+ sd[a-z]+$`).MatchString(out) {
		t.Errorf("no dm map mpatha over two sd paths:\n%s", out)
	}

	for _, step := range []string{"trap luks open", "trap partitions", "trap lvm", "trap readonly", "trap lower"} {
		must(step, nil)
	}
	out = must("for d in /sys/block/dm-*; do echo ${d##*/} $(cat $d/dm/name) ro=$(cat $d/ro) slaves: $(ls $d/slaves); done; grep /run/dt /proc/mounts; cat /run/dt/lower/etc/hostname /run/dt/lower/var/dt-var-marker", nil)
	for _, re := range []string{`(?m)^dm-\d+ luks_root ro=1 `, `(?m)^dm-\d+ luks_root1 ro=1 `, `(?m)^dm-\d+ system-var ro=1 `,
		`(?m)^/dev/\S+ /run/dt/lower ext4 ro[,\s]`, `(?m)^/dev/\S+ /run/dt/lower/var ext4 ro[,\s]`, `(?m)^cn021$`, `(?m)^var from LVM$`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("after the storage steps: no match for %s in:\n%s", re, out)
		}
	}
	if t.Failed() {
		return
	}
	// The SSH server stops at switch_root, so the connection may drop.
	ssh("trap continue", nil)
	if err := n.WaitConsole(ctx, "DT-OS-BOOTED "+node, 3*time.Minute); err != nil {
		t.Fatalf("%s after trap continue: %v", node, err)
	}
	t.Logf("TIMING %s: power-on to test OS marker %.1fs", node, n.Elapsed().Seconds())
	if err := n.WaitConsole(ctx, "--- end ---", time.Minute); err != nil {
		t.Fatalf("%s: /proc/mounts listing: %v", node, err)
	}
	mounts := between(lab.CleanConsole(n.ConsoleText()), "--- /proc/mounts ---", "--- end ---")
	t.Logf("%s /proc/mounts in the booted OS:\n%s", node, mounts)
	if !regexp.MustCompile(`(?m)^overlay / overlay \S*lowerdir=/run/dt/lower`).MatchString(mounts) {
		t.Errorf("%s: / is not the overlay over the iSCSI lower:\n%s", node, mounts)
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// requireTools skips (or fails under DT_LAB_REQUIRED=1) without host tools.
func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	var missing []string
	for _, bin := range tools {
		if _, err := exec.LookPath(bin); err != nil {
			missing = append(missing, bin)
		}
	}
	if len(missing) == 0 {
		return
	}
	if os.Getenv("DT_LAB_REQUIRED") == "1" {
		t.Fatalf("lab tools missing: %s", strings.Join(missing, ", "))
	}
	t.Skipf("lab tools missing: %s (make lab-deps)", strings.Join(missing, ", "))
}
