package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
)

// The lab's diskless iSCSI cluster (TestISCSIRoot): one target exporting
// the LUKS2-encrypted test OS disk on two portals (br0, br1), three nodes
// configured in the inventory (mode iscsi, secrets by name only).
const (
	iscsiTarget = "iqn.2026-11.lab.dt:testos"
	chapUser    = "dt_initiator"
	mutualUser  = "testos_target"
)

var iscsiPortals = []netip.AddrPort{netip.MustParseAddrPort("198.18.0.1:3260"), netip.MustParseAddrPort("198.19.0.1:3260")}

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
		"luks_key": "luks-testos",
	}
}

// TestISCSIRoot: the Ocean diskless root in real guests, driven from the
// inventory. The test OS is laid out as a GPT disk (ext4 root + LVM VG
// system/LV var) and encrypted by `trapctl image encrypt` (key into
// bootsrv's secret store); tgtd exports it with CHAP, mutual CHAP and an
// initiator ACL.
//
//   - cn021 (two NICs, multipath) is held in the trap once; over SSH the
//     admin pushes the LUKS key (`trapctl luks push cn021 testos`) and a
//     wrong mutual-CHAP secret: `trap iscsi login` fails naming the portals
//     and the authentication failure; with the right secret every step runs
//     by hand, then `trap continue` boots the test OS.
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
			Firmware: lab.BIOS, Mode: string(manifest.ModeISCSI), Attrs: iscsiAttrs(iscsiPortals...)},
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
	chap, mutual := randHex(8), randHex(8) // CHAP secrets: 12..16 characters
	admin([]byte(chap), "secret", "set", "iscsi-chap")
	admin([]byte(mutual), "secret", "set", "iscsi-mutual")

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
	secrets := map[string]string{"LUKS key": luksKey, "CHAP secret": chap, "mutual CHAP secret": mutual}
	trapctlOut := encOut

	var initiators []string
	for _, n := range nodes {
		initiators = append(initiators, initiator(n.Name))
	}
	tg, err := iscsilab.Start(ctx, t, c.Lab, iscsilab.Options{
		IQN: iscsiTarget, Backing: disk, Portals: iscsiPortals, Initiators: initiators,
		CHAP:       iscsilab.Account{User: chapUser, Password: chap},
		MutualCHAP: iscsilab.Account{User: mutualUser, Password: mutual},
	})
	if err != nil {
		t.Fatal(err)
	}

	// cn021 in the trap once (by hand), cn023 straight to the OS (pull).
	if _, err := c.Trapctl(ctx, "mode", "set", "cn021", "trap", "--once"); err != nil {
		t.Fatal(err)
	}
	booted := map[string]*lab.Node{}
	for _, name := range []string{"cn021", "cn023"} {
		n, err := c.Boot(name)
		if err != nil {
			t.Fatal(err)
		}
		booted[name] = n
	}
	trapctlOut += byHand(ctx, t, c, booted["cn021"], tg, mutual)

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

	// A pull from an address that is not the node's reserved one.
	code, body := pullFrom(ctx, c.Lab, "cn022", "luks-testos")
	if code != 403 || !strings.Contains(body, "not from the node's reserved address") || strings.Contains(body, luksKey) {
		t.Errorf("pull of cn022's luks-testos from the server's own address = %d %q, want 403 naming the reserved address", code, body)
	}
	t.Logf("pull from another address: %d %s", code, strings.TrimSpace(body))
}

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
