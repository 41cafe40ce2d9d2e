package e2e

import (
	"context"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/tools/lab"
	"github.com/disklesstrap/disklesstrap/tools/labcluster"
)

// discoveryPool is the inventory's discovery section in the lab.
const discoveryPool = `discovery:
  - nodes: cn[001-010]
    network: lab
    ip: "198.18.0.{index+10}"
`

// TestDiscoveryNaming boots two machines the inventory does not know,
// once: both register their hardware in the discovery trap (DMI serial
// from QEMU's SMBIOS), one is named by name and one by --next, and both go
// on under their names without a power cycle: the trap prompt shows the
// new name, trapctl status lists them trapped at their reserved address,
// SSH reaches them there and their hostname is the new name.
func TestDiscoveryNaming(t *testing.T) {
	requireLab(t)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	c, err := labcluster.Start(ctx, t, labcluster.Options{Initrd: sharedInitrd(t), ExtraInventory: discoveryPool})
	if err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) { return c.Trapctl(ctx, args...) }
	machines := []struct{ name, mac, disc, serial string }{
		{"u1", "52:54:00:15:00:01", "mac-525400150001", "DT-SER-U1"},
		{"u2", "52:54:00:15:00:02", "mac-525400150002", "DT-SER-U2"},
	}
	nodes := map[string]*lab.Node{}
	for _, m := range machines {
		n, err := c.Lab.Boot(lab.NodeSpec{Name: m.name, Firmware: lab.BIOS, MACs: []string{m.mac}, MemoryMB: 768,
			ExtraArgs: []string{"-smbios", "type=1,serial=" + m.serial + ",uuid=5e0a1b2c-0000-4000-8000-0000000000" + m.name[1:] + "0"}})
		if err != nil {
			t.Fatal(err)
		}
		nodes[m.name] = n
	}
	var wg sync.WaitGroup
	for _, m := range machines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := nodes[m.name].WaitConsole(ctx, "root@"+m.disc+"_DisklessTrap:/root#", 6*time.Minute); err != nil {
				t.Errorf("%s: discovery trap: %v", m.name, err)
				return
			}
			t.Logf("TIMING %s: power-on to discovery trap %.1fs", m.name, nodes[m.name].Elapsed().Seconds())
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	var list string
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		list, _ = run("discover", "list")
		if strings.Contains(list, "DT-SER-U1") && strings.Contains(list, "DT-SER-U2") {
			break
		}
		time.Sleep(2 * time.Second)
	}
	t.Logf("trapctl discover list:\n%s", list)
	for _, m := range machines {
		if !lineHas(list, m.mac, m.disc+" (unnamed)", m.serial, "198.18.0.2") {
			t.Errorf("discover list lacks %s (%s, serial %s, a pool address):\n%s", m.mac, m.disc, m.serial, list)
		}
	}

	// The web status page, open in Chromium before the naming: it must
	// show what trapctl status says, then follow the nodes live.
	chromium := requireChromium(t)
	tok, err := c.API.CreateToken(ctx, "web", "")
	if err != nil {
		t.Fatal(err)
	}
	base := "https://" + forward(ctx, t, c.Lab.DialContext, c.Lab.BridgeAddr(0).String()+":8443")
	bctx, stopBrowser := browser(ctx, t, chromium)
	defer stopBrowser()
	if err := login(bctx, base, tok.Text); err != nil {
		t.Fatalf("web page login in chromium: %v", err)
	}
	rows, err := c.API.Status(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if got, err := cellPhase(bctx, r.Node); err != nil || got != r.Phase {
			t.Errorf("web page shows %s in phase %q (%v), trapctl status says %q", r.Node, got, err, r.Phase)
		}
	}

	out, err := run("discover", "assign", machines[0].mac, "cn005")
	if err != nil || !strings.Contains(out, "is node cn005, address 198.18.0.15") {
		t.Fatalf("discover assign by name: %v\n%s", err, out)
	}
	out, err = run("discover", "assign", machines[1].mac, "--next", "cn[001-010]")
	if err != nil || !strings.Contains(out, "is node cn001, address 198.18.0.11") {
		t.Fatalf("discover assign --next: %v\n%s", err, out)
	}
	named := time.Now()
	want := map[string]struct{ node, ip string }{"u1": {"cn005", "198.18.0.15"}, "u2": {"cn001", "198.18.0.11"}}
	for _, m := range machines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := want[m.name]
			if err := nodes[m.name].WaitConsole(ctx, "root@"+w.node+"_DisklessTrap:/root#", 2*time.Minute); err != nil {
				t.Errorf("%s: no trap prompt as %s: %v", m.name, w.node, err)
				return
			}
			t.Logf("TIMING %s: named to trap prompt as %s %.1fs", m.name, w.node, time.Since(named).Seconds())
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	var st string
	deadline = time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		st, _ = run("status")
		if lineHas(st, "cn005", "trapped", "198.18.0.15") && lineHas(st, "cn001", "trapped", "198.18.0.11") {
			break
		}
		time.Sleep(2 * time.Second)
	}
	t.Logf("trapctl status:\n%s", st)
	for _, w := range want {
		if !lineHas(st, w.node, "trap", "trapped", w.ip) {
			t.Errorf("trapctl status lacks %s trapped at %s", w.node, w.ip)
		}
	}
	for _, w := range want {
		deadline := time.Now().Add(30 * time.Second)
		for {
			got, _ := cellPhase(bctx, w.node)
			if got == "trapped" {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("the open web page shows %s in phase %q 30s after trapctl status said trapped", w.node, got)
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	if live, err := liveText(bctx); err != nil || !strings.HasPrefix(live, "live, updated ") {
		t.Errorf("the page's update status is %q, %v; want live, updated HH:MM:SS", live, err)
	}
	screenshot(bctx, t, "web-lab-discovery.png")
	for _, m := range machines {
		w := want[m.name]
		args := []string{"netns", "exec", c.Lab.Namespace(), "ssh", "-i", c.Key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
			"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
			"root@" + w.ip, "hostname"}
		out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != w.node {
			t.Errorf("ssh %s hostname = %q, %v; want %s", w.ip, out, err, w.node)
		}
		// One power-on: one kernel boot, and the QEMU process still runs.
		if n := strings.Count(nodes[m.name].ConsoleText(), "Linux version"); n != 1 || !nodes[m.name].Alive() {
			t.Errorf("%s booted the kernel %d times (alive %v), want once, no power cycle", m.name, n, nodes[m.name].Alive())
		}
		ev, err := run("events", w.node)
		if err != nil || !strings.Contains(ev, "named") || !strings.Contains(ev, "ssh-hostkey") {
			t.Errorf("trapctl events %s lacks named and ssh-hostkey: %v\n%s", w.node, err, ev)
		}
	}
	hk, err := run("hostkeys", "cn[001,005]")
	if err != nil || !strings.Contains(hk, "cn001,198.18.0.11 ssh-ed25519") || !strings.Contains(hk, "cn005,198.18.0.15 ssh-ed25519") {
		t.Errorf("trapctl hostkeys = %v\n%s", err, hk)
	}
	list, _ = run("discover", "list")
	if !lineHas(list, machines[0].mac, "cn005", "198.18.0.15") || strings.Contains(list, "unnamed") {
		t.Errorf("discover list after naming:\n%s", list)
	}
	t.Logf("TIMING discovery lab test %.1fs", time.Since(start).Seconds())
}
