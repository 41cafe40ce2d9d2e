package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/bootsrv/tlscert"
	"github.com/disklesstrap/disklesstrap/images/rawdisk"
	"github.com/disklesstrap/disklesstrap/initrd"
	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/tools/iscsilab"
	"github.com/disklesstrap/disklesstrap/tools/lab"
	"github.com/disklesstrap/disklesstrap/tools/labcluster"

	"github.com/disklesstrap/disklesstrap/internal/labreq"
)

// The lab's diskless iSCSI cluster (TestISCSIRoot): one target exporting
// the LUKS2-encrypted test OS disk on two portals (br0, br1), three nodes
// configured in the inventory (mode iscsi, secrets by name only).
const (
	iscsiTarget = "iqn.2026-11.lab.dt:testos"
	chapUser    = "dt_initiator"
	mutualUser  = "testos_target"
	// Discovery CHAP (sendtargets), as in the seed's iscsid.conf.
	discoUser       = "disco_user"
	discoMutualUser = "disco_target"
	// mutualCN021 is cn021's own mutual-CHAP secret name: the test stores
	// a wrong value under it, so cn021's login fails.
	mutualCN021 = "iscsi-mutual-cn021"
)

var iscsiPortals = []netip.AddrPort{netip.MustParseAddrPort("198.18.0.1:3260"), netip.MustParseAddrPort("198.19.0.1:3260")}

// withAttr returns attrs with key set to value.
func withAttr(attrs map[string]string, key, value string) map[string]string {
	attrs[key] = value
	return attrs
}

func initiator(node string) string { return "iqn.2026-11.lab.dt:" + node }

// iscsiAttrs are a node's inventory attributes; one portal = single path.
func iscsiAttrs(portals ...netip.AddrPort) map[string]string {
	var ps []string
	for _, p := range portals {
		ps = append(ps, p.String())
	}
	multipath := "yes"
	if len(portals) == 1 {
		multipath = "no"
	}
	return map[string]string{
		"iscsi_target": `"` + iscsiTarget + `"`, "iscsi_portals": "[" + strings.Join(ps, ", ") + "]",
		"iscsi_initiator": `"iqn.2026-11.lab.dt:{node}"`, "iscsi_multipath": multipath,
		"chap_user": chapUser, "chap_secret": "iscsi-chap", "mutual_chap_user": mutualUser, "mutual_chap_secret": "iscsi-mutual",
		"discovery_chap_user": discoUser, "discovery_chap_secret": "iscsi-disco",
		"discovery_mutual_chap_user": discoMutualUser, "discovery_mutual_chap_secret": "iscsi-disco-mutual",
		"luks_key": "luks-testos",
	}
}

// TestISCSIRoot: the Ocean diskless root in real guests, driven from the
// inventory. The test OS is laid out as a GPT disk (ext4 root + LVM VG
// system/LV var) and encrypted by `trapctl image encrypt` (key into
// bootsrv's secret store); tgtd exports it with CHAP, mutual CHAP and an
// initiator ACL.
//
//   - cn021 (two NICs, multipath) boots in mode iscsi with a wrong
//     mutual-CHAP secret in bootsrv's store: the login fails and the node
//     stays in the trap, the error naming the portals and the
//     authentication failure on the console and in `trapctl events`; over
//     SSH the admin pushes the LUKS key (`trapctl luks push cn021 testos`)
//     and the right secret, runs every step by hand, then `trap continue`
//     boots the test OS.
//   - cn023 (two NICs, multipath) boots straight to the OS in mode iscsi,
//     pulling its secrets over TLS with bootsrv's pinned certificate; then
//     a path's link is cut under a read loop and brought back.
//   - cn022 (one NIC, single path) boots in mode iscsi the same way.
//
// Then the LUKS key must appear in no iPXE script, kernel command line,
// console log, bootsrv log or file the test can see, and bootsrv refuses a
// pull from an address that is not the node's.
func TestISCSIRoot(t *testing.T) {
	requireLab(t)
	requireTools(t, "tgtd", "tgtadm", "iscsid", "iscsiadm", "blockdev", "mkfs.ext4", "debugfs", "lvm", "losetup", "cryptsetup")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	dir := t.TempDir()
	start := time.Now()

	// bootsrv's TLS certificate, pinned in the initramfs (secret pulls).
	tlsDir := filepath.Join(dir, "tls")
	certPEM, err := tlscert.Ensure(tlsDir, netip.MustParseAddr("198.18.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	initrdPath, err := labcluster.BuildInitrdExtra(ctx, filepath.Join(dir, "trap-iscsi.cpio.gz"), labcluster.InitrdExtra{
		Modules: labcluster.ISCSIModules, HostBinaries: labcluster.ISCSIHostBinaries,
		Files: []initrd.File{{Path: initrd.BootsrvCertPath, Data: certPEM, Mode: 0o644}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(initrdPath); err == nil {
		t.Logf("TIMING iscsi initramfs %.1f MB: %s", float64(fi.Size())/1e6, time.Since(start).Round(time.Millisecond))
	}

	// The raw disk: test OS root + LVM var.
	root, _ := labcluster.RepoRoot()
	osDir := filepath.Join(dir, "testos")
	if out, err := exec.CommandContext(ctx, filepath.Join(root, "images/testos/build.sh"), osDir, "testos").CombinedOutput(); err != nil {
		t.Fatalf("images/testos/build.sh: %v\n%s", err, out)
	}
	// open-iscsi in the image, as on a distribution: the trap enables
	// iscsid.service and stops its own iscsid; the OS's adopts the sessions.
	for _, b := range [][2]string{{"/usr/sbin/iscsid", "/sbin/iscsid"}, {"/sbin/iscsiadm", "/sbin/iscsiadm"}} {
		if err := labcluster.AddHostBinary(osDir, b[0], b[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := labcluster.CopyFile("/lib/systemd/system/iscsid.service", filepath.Join(osDir, "lib/systemd/system/iscsid.service"), 0o644); err != nil {
		t.Fatal(err)
	}
	varDir := filepath.Join(dir, "var")
	os.MkdirAll(filepath.Join(varDir, "lib"), 0o755)
	if err := os.WriteFile(filepath.Join(varDir, "dt-var-marker"), []byte("var from LVM\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "plain.img")
	if _, err := rawdisk.BuildPlain(ctx, plain, rawdisk.Spec{RootDir: osDir, VarDir: varDir}); err != nil {
		t.Fatal(err)
	}

	nodes := []labcluster.Node{
		{Name: "cn021", MAC: "52:54:00:18:00:21", IP: "198.18.0.21", MAC2: "52:54:00:19:00:21", IP2: "198.19.0.21",
			Firmware: lab.BIOS, Mode: string(manifest.ModeISCSI), Attrs: withAttr(iscsiAttrs(iscsiPortals...), "mutual_chap_secret", mutualCN021)},
		{Name: "cn022", MAC: "52:54:00:18:00:22", IP: "198.18.0.22",
			Firmware: lab.BIOS, Mode: string(manifest.ModeISCSI), Attrs: iscsiAttrs(iscsiPortals[0])},
		{Name: "cn023", MAC: "52:54:00:18:00:23", IP: "198.18.0.23", MAC2: "52:54:00:19:00:23", IP2: "198.19.0.23",
			Firmware: lab.BIOS, Mode: string(manifest.ModeISCSI), Attrs: iscsiAttrs(iscsiPortals...)},
	}
	c, err := labcluster.Start(ctx, t, labcluster.Options{
		Initrd: initrdPath, Nodes: nodes,
		BootsrvArgs: []string{"--tls-cert", filepath.Join(tlsDir, tlscert.CertFile), "--tls-key", filepath.Join(tlsDir, tlscert.KeyFile)},
	})
	if err != nil {
		t.Fatal(err)
	}
	admin := func(stdin []byte, args ...string) string {
		t.Helper()
		out, err := c.TrapctlAdmin(ctx, stdin, args...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	chap, mutual, wrong := randHex(8), randHex(8), randHex(8) // CHAP secrets: 12..16 characters
	admin([]byte(chap), "secret", "set", "iscsi-chap")
	admin([]byte(mutual), "secret", "set", "iscsi-mutual")
	admin([]byte(wrong), "secret", "set", mutualCN021)
	disco, discoMutual := randHex(8), randHex(8)
	admin([]byte(disco), "secret", "set", "iscsi-disco")
	admin([]byte(discoMutual), "secret", "set", "iscsi-disco-mutual")

	// trapctl image encrypt: LUKS2 container, key into bootsrv's store.
	t0 := time.Now()
	disk := filepath.Join(dir, "testos.luks")
	encOut := admin(nil, "image", "encrypt", plain, "--name", "testos", "--out", disk)
	t.Logf("TIMING trapctl image encrypt: %s\n%s", time.Since(t0).Round(time.Millisecond), strings.TrimSpace(encOut))
	os.Remove(plain)
	luksKey := strings.TrimSpace(admin(nil, "secret", "show", "luks-testos"))
	if len(luksKey) < 32 {
		t.Fatalf("trapctl secret show luks-testos: %d characters, want a generated key", len(luksKey))
	}
	secrets := map[string]string{"LUKS key": luksKey, "CHAP secret": chap, "mutual CHAP secret": mutual, "cn021's wrong mutual CHAP secret": wrong,
		"discovery CHAP secret": disco, "discovery mutual CHAP secret": discoMutual}
	trapctlOut := encOut

	var initiators []string
	for _, n := range nodes {
		initiators = append(initiators, initiator(n.Name))
	}
	tg, err := iscsilab.Start(ctx, t, c.Lab, iscsilab.Options{
		IQN: iscsiTarget, Backing: disk, Portals: iscsiPortals, Initiators: initiators,
		CHAP:                iscsilab.Account{User: chapUser, Password: chap},
		MutualCHAP:          iscsilab.Account{User: mutualUser, Password: mutual},
		DiscoveryCHAP:       iscsilab.Account{User: discoUser, Password: disco},
		DiscoveryMutualCHAP: iscsilab.Account{User: discoMutualUser, Password: discoMutual},
	})
	if err != nil {
		t.Fatal(err)
	}

	// cn021 fails its login and stays in the trap (then by hand), cn023
	// goes straight to the OS (pull).
	booted := map[string]*lab.Node{}
	for _, name := range []string{"cn021", "cn023"} {
		n, err := c.Boot(name)
		if err != nil {
			t.Fatal(err)
		}
		booted[name] = n
	}
	trapctlOut += byHand(ctx, t, c, booted["cn021"], tg, mutual, disco)

	n23 := booted["cn023"]
	checkISCSIBoot(ctx, t, n23, 2)
	checkFailover(ctx, t, c.Lab, n23, 1)

	n22, err := c.Boot("cn022")
	if err != nil {
		t.Fatal(err)
	}
	booted["cn022"] = n22
	checkISCSIBoot(ctx, t, n22, 1)

	checkNoSecrets(t, c, dir, booted, trapctlOut, secrets)

	// A pull without the node's boot key (from the lab host's address).
	code, body := pullFrom(ctx, c.Lab, "cn022", "luks-testos")
	if code != 401 || !strings.Contains(body, "not signed") || strings.Contains(body, luksKey) {
		t.Errorf("pull of cn022's luks-testos from the server's own address = %d %q, want 401 not signed", code, body)
	}
	t.Logf("pull from another address: %d %s", code, strings.TrimSpace(body))

	// Node authentication (docs/threat-model.md): what a non-root user of
	// the booted OS reaches, and the once-per-boot release after a
	// boot-count reset.
	checkBootedOSUser(ctx, t, c, n22, "luks-testos")
	checkSecretRelease(ctx, t, c, "cn022", "52:54:00:18:00:22", "luks-testos")
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// requireTools skips (or fails under DT_LAB_REQUIRED=1) without host tools.
func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	labreq.Require(t, labreq.Tools(tools...))
}
