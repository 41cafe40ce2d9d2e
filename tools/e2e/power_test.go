package e2e

import (
	"context"
	"net/netip"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/bootsrv/tlscert"
	"github.com/disklesstrap/disklesstrap/initrd"
	"github.com/disklesstrap/disklesstrap/tools/lab"
	"github.com/disklesstrap/disklesstrap/tools/labcluster"
)

// TestPower: nodes behind real IPMI BMCs (Debian's ipmi_sim starting the
// QEMU nodes). cn001 and cn002 run the ramroot test OS; `trapctl mode set
// 'cn[001-002]' trap --once --reboot --wait` switches them and resets them
// through IPMI (RMCP+, go-ipmi in bootsrv), and both come back trapped.
// cn003's BMC has another password than bootsrv's store holds for it: its
// power status fails naming the node and the BMC while the others
// proceed. trapctl console relays cn001's serial console over SOL. Power
// off and on really stop and start QEMU. cn004 has setupbmc: yes and its
// BMC starts on another address (198.18.0.114) and password than the
// inventory says: the trap configures it in-band over KCS (/dev/ipmi0)
// before the plan, reports bmc-configured, and power status then works
// over the inventory's address 198.18.0.104.
func TestPower(t *testing.T) {
	requireLab(t)
	if _, err := exec.LookPath("ipmi_sim"); err != nil {
		t.Fatalf("ipmi_sim (package openipmi; run make lab-deps): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	bmc := func(node, addr string, off bool, password string) (*lab.BMCSpec, map[string]string) {
		return &lab.BMCSpec{Addr: netip.MustParsePrefix(addr + "/24"), User: "admin", Password: password, StartOff: off},
			map[string]string{"bmc_address": addr, "bmc_user": "admin", "bmc_password": "bmc"}
	}
	b1, a1 := bmc("cn001", "198.18.0.101", false, "lab-bmc-pw")
	b1.SOL = true // cn001's ttyS0 is also its BMC's Serial-over-LAN
	b2, a2 := bmc("cn002", "198.18.0.102", false, "lab-bmc-pw")
	b3, a3 := bmc("cn003", "198.18.0.103", true, "lab-bmc-pw")
	b4, a4 := bmc("cn004", "198.18.0.114", false, "factory-pw")
	a4["bmc_address"], a4["setupbmc"] = "198.18.0.104", "yes"
	// bootsrv's TLS certificate, pinned in the initramfs: cn004 pulls its
	// BMC password like the other per-boot secrets.
	dir := t.TempDir()
	tlsDir := filepath.Join(dir, "tls")
	certPEM, err := tlscert.Ensure(tlsDir, netip.MustParseAddr("198.18.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	initrdPath, err := labcluster.BuildInitrdExtra(ctx, filepath.Join(dir, "trap.cpio.gz"), labcluster.InitrdExtra{
		Files: []initrd.File{{Path: initrd.BootsrvCertPath, Data: certPEM, Mode: 0o644}},
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := labcluster.Start(ctx, t, labcluster.Options{
		Initrd:      initrdPath,
		BootsrvArgs: []string{"--tls-cert", filepath.Join(tlsDir, tlscert.CertFile), "--tls-key", filepath.Join(tlsDir, tlscert.KeyFile)},
		Nodes: []labcluster.Node{
			{Name: "cn001", MAC: "52:54:00:15:00:01", IP: "198.18.0.21", Firmware: lab.BIOS, BMC: b1, Attrs: a1},
			{Name: "cn002", MAC: "52:54:00:15:00:02", IP: "198.18.0.22", Firmware: lab.BIOS, BMC: b2, Attrs: a2},
			{Name: "cn003", MAC: "52:54:00:15:00:03", IP: "198.18.0.23", Firmware: lab.BIOS, BMC: b3, Attrs: a3},
			{Name: "cn004", MAC: "52:54:00:15:00:04", IP: "198.18.0.24", Firmware: lab.BIOS, BMC: b4, Attrs: a4},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The store holds the right password for every node, and a wrong one
	// of cn003's own (node scope wins).
	if _, err := c.TrapctlAdmin(ctx, []byte("lab-bmc-pw"), "secret", "set", "bmc"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TrapctlAdmin(ctx, []byte("not-the-password"), "secret", "set", "bmc", "--node", "cn003"); err != nil {
		t.Fatal(err)
	}
	root, _ := labcluster.RepoRoot()
	osDir := filepath.Join(c.Dir, "testos")
	if out, err := exec.CommandContext(ctx, filepath.Join(root, "images/testos/build.sh"), osDir).CombinedOutput(); err != nil {
		t.Fatalf("images/testos/build.sh: %v\n%s", err, out)
	}
	if _, err := c.Trapctl(ctx, "image", "pack", osDir, "--name", "testos"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Trapctl(ctx, "node", "set", "cn[001-004]", "image=testos", "mode=ramroot"); err != nil {
		t.Fatal(err)
	}
	nodes := map[string]*lab.Node{}
	for _, name := range []string{"cn001", "cn002", "cn003", "cn004"} {
		n, err := c.Boot(name)
		if err != nil {
			t.Fatal(err)
		}
		nodes[name] = n
	}
	var wg sync.WaitGroup
	for _, name := range []string{"cn001", "cn002", "cn004"} {
		wg.Go(func() {
			if err := nodes[name].WaitConsole(ctx, "DT-OS-BOOTED "+name, 6*time.Minute); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	waitPhase(ctx, t, c, "cn001", "os-booted")
	waitPhase(ctx, t, c, "cn002", "os-booted")
	checkSetupBMC(ctx, t, c, nodes["cn004"])
	if pid := nodes["cn003"].BMC.QEMUPID(); pid != 0 {
		t.Errorf("cn003 (BMC started off): QEMU pid %d running", pid)
	}

	// Power status before: two on, cn003 fails naming itself and its BMC.
	out, err := c.Trapctl(ctx, "power", "status", "cn[001-003]")
	t.Logf("trapctl power status (before):\n%s", out)
	if err == nil {
		t.Errorf("power status with cn003's wrong BMC password succeeded")
	}
	if !regexp.MustCompile(`(?m)^cn\[001-002\]: on$`).MatchString(out) {
		t.Errorf("power status before: want a line cn[001-002]: on")
	}
	if !regexp.MustCompile(`(?m)^cn003: error: BMC 198\.18\.0\.103:623: RMCP\+ session as admin: authentication failed`).MatchString(out) {
		t.Errorf("power status before: want cn003's failure naming its BMC 198.18.0.103:623")
	}
	if strings.Contains(out, "not-the-password") || strings.Contains(out, "lab-bmc-pw") {
		t.Errorf("power status output contains a BMC password")
	}

	// The switch and the reset through IPMI in one command.
	offsets := map[string]int{"cn001": nodes["cn001"].ConsoleOffset(), "cn002": nodes["cn002"].ConsoleOffset()}
	pids := map[string]int{"cn001": nodes["cn001"].BMC.QEMUPID(), "cn002": nodes["cn002"].BMC.QEMUPID()}
	start := time.Now()
	out, err = c.Trapctl(ctx, "mode", "set", "cn[001-002]", "trap", "--once", "--reboot", "--wait", "5m")
	t.Logf("trapctl mode set --reboot --wait (%.0fs):\n%s", time.Since(start).Seconds(), out)
	if err != nil {
		t.Fatalf("mode set --reboot: %v", err)
	}
	for _, want := range []string{`(?m)^cn\[001-002\]: reset$`, `(?m)^all 2 node\(s\) up in trapped`} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("mode set --reboot output: no line matching %s", want)
		}
	}
	for _, name := range []string{"cn001", "cn002"} {
		n := nodes[name]
		if _, err := n.WaitConsoleFrom(ctx, offsets[name], regexp.MustCompile(regexp.QuoteMeta("root@"+name+"_DisklessTrap:/root#")), time.Minute); err != nil {
			t.Errorf("%s after the IPMI reset: not in the trap: %v", name, err)
		}
		if pid := n.BMC.QEMUPID(); pid != pids[name] {
			t.Errorf("%s: QEMU pid %d -> %d: a reset must not restart the process", name, pids[name], pid)
		}
		if err := c.WaitSSH(ctx, name, time.Minute); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	out, _ = c.Trapctl(ctx, "power", "status", "cn[001-002]")
	if strings.TrimSpace(out) != "cn[001-002]: on" {
		t.Errorf("power status after: got %q, want cn[001-002]: on", out)
	}

	// Serial-over-LAN: trapctl console relays the trap's console shell.
	out, err = c.TrapctlAdmin(ctx, []byte("\necho SOL-MARK-$((6*7))\n"), "console", "cn001", "--for", "10s")
	t.Logf("trapctl console cn001 (%v):\n%s", err, out)
	if !regexp.MustCompile(`(?m)^SOL-MARK-42\r?$`).MatchString(out) {
		t.Errorf("trapctl console cn001: the command's output SOL-MARK-42 did not come back over SOL")
	}

	// Off and on really stop and start the QEMU process.
	if out, err := c.Trapctl(ctx, "power", "off", "cn002"); err != nil || strings.TrimSpace(out) != "cn002: off" {
		t.Errorf("power off cn002: %v %q", err, out)
	}
	waitPID(t, nodes["cn002"], func(pid int) bool { return pid == 0 }, "QEMU stopped")
	if out, _ := c.Trapctl(ctx, "power", "status", "cn[001-002]"); !strings.Contains(out, "cn001: on") || !strings.Contains(out, "cn002: off") {
		t.Errorf("power status after off: %q", out)
	}
	if out, err := c.Trapctl(ctx, "power", "on", "cn002"); err != nil || strings.TrimSpace(out) != "cn002: on" {
		t.Errorf("power on cn002: %v %q", err, out)
	}
	waitPID(t, nodes["cn002"], func(pid int) bool { return pid != 0 && pid != pids["cn002"] }, "a new QEMU")

	// Audit: the power changes are recorded, the status reads are not.
	if out, err := c.Trapctl(ctx, "audit"); err != nil {
		t.Error(err)
	} else {
		for _, want := range []string{"power boot on cn[001-002]", "power off on cn002", "power on on cn002", "console cn001"} {
			if !strings.Contains(out, want) {
				t.Errorf("trapctl audit: no record %q:\n%s", want, out)
			}
		}
	}
}

func waitPID(t *testing.T, n *lab.Node, ok func(int) bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if ok(n.BMC.QEMUPID()) {
			return
		}
	}
	t.Errorf("%s: %s: QEMU pid is %d", n.Name, what, n.BMC.QEMUPID())
}

// checkSetupBMC: cn004's BMC moved to the inventory's address, answers
// power status there with the store's password, and bootsrv holds the
// node's bmc-configured report (MAC, firmware).
func checkSetupBMC(ctx context.Context, t *testing.T, c *labcluster.Cluster, n *lab.Node) {
	t.Helper()
	out, err := exec.CommandContext(ctx, "ip", "-n", n.BMC.Host.NS, "-4", "-o", "addr", "show", "dev", "eth0", "scope", "global").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "198.18.0.104/24") || strings.Contains(string(out), "198.18.0.114") {
		t.Errorf("cn004's BMC address after setupbmc: %v %s, want 198.18.0.104/24 only", err, out)
	}
	st, err := c.Trapctl(ctx, "power", "status", "cn004")
	t.Logf("trapctl power status cn004 (after setupbmc): %v\n%s", err, st)
	if err != nil || strings.TrimSpace(st) != "cn004: on" {
		t.Errorf("power status cn004 over 198.18.0.104: %v %q, want cn004: on", err, st)
	}
	evs, err := c.Trapctl(ctx, "events", "cn004")
	if err != nil || !regexp.MustCompile(`bmc-configured.*BMC 198\.18\.0\.104 mac ([0-9a-f]{2}:){5}[0-9a-f]{2} firmware 9\.08`).MatchString(evs) {
		t.Errorf("trapctl events cn004: no bmc-configured report (%v):\n%s", err, evs)
	}
	if strings.Contains(evs, "lab-bmc-pw") {
		t.Errorf("cn004's events carry the BMC password")
	}
}
