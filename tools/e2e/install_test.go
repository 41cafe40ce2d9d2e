package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/initrd"
	"github.com/disklesstrap/disklesstrap/tools/lab"
	"github.com/disklesstrap/disklesstrap/tools/labcluster"
)

// TestInstall: diskful installs in the lab, one boot of four nodes.
//
//   - cn031 (BIOS) and cn032 (UEFI, OVMF) have a blank virtio disk and
//     mode install: the default GPT layout, the disk OS image
//     (images/diskos: the test OS with Debian's kernel, its own initramfs
//     and grub), grub installed through a chroot, install-done; bootsrv
//     switches them to local and they reboot from the disk into the OS,
//     whose kernel command line and root device are shown.
//   - cn031 is installed again with install_wipe: yes and gets the same
//     partition layout.
//   - cn033 has two disks (one blank, one with an old ext4) and two NICs
//     and boots in mode service: `trapctl node inventory` lists both of
//     each; `trap install partition` refuses the used disk, naming it and
//     its contents, and its first MiB is unchanged.
//   - cn034's partscript fails: it stays in the trap with the script's
//     output on its console and in `trapctl events`.
func TestInstall(t *testing.T) {
	requireLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	start := time.Now()
	work := t.TempDir()
	trapInitrd, err := labcluster.BuildInitrdExtra(ctx, filepath.Join(work, "trap-install.cpio.gz"), labcluster.InitrdExtra{
		Modules: initrd.InstallModules, HostBinaries: initrd.InstallHostBinaries})
	if err != nil {
		t.Fatal(err)
	}
	disk := func(name string, size int64) string {
		p := filepath.Join(work, name+".img")
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(p, size); err != nil {
			t.Fatal(err)
		}
		return p
	}
	d31, d32, d33a, d33b, d34 := disk("cn031", 1<<30), disk("cn032", 1<<30), disk("cn033a", 1<<30), disk("cn033b", 512<<20), disk("cn034", 1<<30)
	if out, err := exec.CommandContext(ctx, "mkfs.ext4", "-q", "-F", "-L", "olddata", d33b).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4 on cn033's second disk: %v\n%s", err, out)
	}
	oldMiB := firstMiB(t, d33b)
	install := map[string]string{"image": "diskos", "install_cmdline": `"console=ttyS0,115200"`}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range install {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	c, err := labcluster.Start(ctx, t, labcluster.Options{
		Initrd: trapInitrd,
		Nodes: []labcluster.Node{
			{Name: "cn031", MAC: "52:54:00:18:00:31", IP: "198.18.0.31", Firmware: lab.BIOS, Mode: "install",
				Attrs: with(map[string]string{"install_disk": `"serial:DT-BIOS-31"`}), Disks: []string{d31}, DiskSerials: []string{"DT-BIOS-31"}},
			{Name: "cn032", MAC: "52:54:00:18:00:32", IP: "198.18.0.32", Firmware: lab.UEFI, Mode: "install",
				Attrs: with(map[string]string{"install_disk": `"smallest >= 512M"`}), Disks: []string{d32}, DiskSerials: []string{"DT-UEFI-32"}},
			{Name: "cn033", MAC: "52:54:00:18:00:33", IP: "198.18.0.33", MAC2: "52:54:00:19:00:33", IP2: "198.19.0.33", Firmware: lab.BIOS, Mode: "install",
				Attrs: with(map[string]string{"install_disk": `"by-id:virtio-DT-OLD-33B"`}), Disks: []string{d33a, d33b}, DiskSerials: []string{"DT-NEW-33A", "DT-OLD-33B"}},
			{Name: "cn034", MAC: "52:54:00:18:00:34", IP: "198.18.0.34", Firmware: lab.BIOS, Mode: "install",
				Attrs: with(map[string]string{"install_disk": `"largest"`,
					"partscript": `"echo partitioning $DT_DISK for $DT_NODE\necho boom-partscript-line >&2\nexit 3\n"`}),
				Disks: []string{d34}, DiskSerials: []string{"DT-FAIL-34"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	osDir := filepath.Join(work, "diskos")
	if err := labcluster.BuildDiskOS(ctx, osDir); err != nil {
		t.Fatal(err)
	}
	if out, err := c.Trapctl(ctx, "image", "pack", osDir, "--name", "diskos", "--tool", "mksquashfs"); err != nil {
		t.Fatal(err)
	} else {
		t.Logf("trapctl image pack: %s", strings.TrimSpace(out))
	}
	if _, err := c.Trapctl(ctx, "mode", "set", "cn033", "service", "--once"); err != nil {
		t.Fatal(err)
	}
	t.Logf("TIMING set-up (initramfs, disk OS, image upload): %.1fs", time.Since(start).Seconds())
	nodes := map[string]*lab.Node{}
	for _, n := range []string{"cn031", "cn032", "cn033", "cn034"} {
		if nodes[n], err = c.Boot(n); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for _, n := range []string{"cn031", "cn032"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			checkInstalled(ctx, t, c, nodes[n], 0)
		}()
	}
	wg.Add(1)
	go func() { // cn033: service mode report, then a refused install by hand.
		defer wg.Done()
		checkService(ctx, t, c, nodes["cn033"], d33b, oldMiB)
	}()
	wg.Add(1)
	go func() { // cn034: the failing partscript.
		defer wg.Done()
		n := nodes["cn034"]
		if _, err := n.WaitConsoleRegexp(ctx, regexp.MustCompile(`partscript exit status 3`), 6*time.Minute); err != nil {
			t.Errorf("cn034: %v", err)
			return
		}
		if err := n.WaitConsole(ctx, "root@cn034_DisklessTrap:/root#", time.Minute); err != nil {
			t.Errorf("cn034 not in the trap after the partscript failed: %v", err)
		}
		if !strings.Contains(lab.CleanConsole(n.ConsoleText()), "boom-partscript-line") {
			t.Errorf("cn034's console lacks the partscript's output:\n%s", n.ConsoleTail(30))
		}
		out, err := c.Trapctl(ctx, "events", "cn034")
		if err != nil || !strings.Contains(out, "boom-partscript-line") || !strings.Contains(out, "partitioning /dev/vda for cn034") {
			t.Errorf("trapctl events cn034 lacks the partscript's output: %v\n%s", err, out)
		}
	}()
	wg.Wait()
	if t.Failed() {
		return
	}
	t.Logf("TIMING first installs, service report and refusal: %.1fs after the nodes started", nodes["cn031"].Elapsed().Seconds())

	// cn031 again, install_wipe: yes over the installed disk: same layout.
	layout1 := gptLayout(t, d31)
	if _, err := c.Trapctl(ctx, "node", "set", "cn031", "install_wipe=yes"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Trapctl(ctx, "mode", "set", "cn031", "install"); err != nil {
		t.Fatal(err)
	}
	n := nodes["cn031"]
	off := n.ConsoleOffset()
	n.SendConsole("reboot -f\n")
	checkInstalled(ctx, t, c, n, off)
	if t.Failed() {
		return
	}
	if !strings.Contains(lab.CleanConsole(n.ConsoleText()[off:]), "wiping disk") {
		t.Errorf("cn031's second install did not say it wiped the disk")
	}
	if layout2 := gptLayout(t, d31); layout2 != layout1 {
		t.Errorf("cn031's layout after the second install differs:\nfirst:\n%s\nsecond:\n%s", layout1, layout2)
	} else {
		t.Logf("cn031 layout (both installs):\n%s", layout1)
	}
	t.Logf("TIMING whole test: %.1fs", time.Since(start).Seconds())
}

// checkInstalled waits, from console offset off, for the node's install to
// finish and the OS to boot from its disk; checks bootsrv switched it to
// local, and that the OS's kernel and root came from the disk.
func checkInstalled(ctx context.Context, t *testing.T, c *labcluster.Cluster, n *lab.Node, off int) {
	name := n.Name
	// The OS marker, or a failed step (the node then waits in the trap).
	m, err := n.WaitConsoleFrom(ctx, off, regexp.MustCompile(`DT-OS-BOOTED `+name+`|DisklessTrap: (step \d+ \(.*\) failed: .*)`), 8*time.Minute)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	if m[1] != "" {
		t.Errorf("%s: %s\n%s", name, m[1], n.ConsoleTail(20))
		return
	}
	t.Logf("TIMING %s (%s): power-on to the OS booted from its disk %.1fs", name, n.Spec.Firmware, n.Elapsed().Seconds())
	con := lab.CleanConsole(n.ConsoleText()[off:])
	for _, want := range []string{"install disk /dev/vda", "diskos initramfs: root /dev/vda3 mounted"} {
		if !strings.Contains(con, want) {
			t.Errorf("%s's console lacks %q", name, want)
		}
	}
	if m := regexp.MustCompile(`install disk /dev/vda: [^\n]*`).FindString(con); m != "" {
		t.Logf("%s: %s", name, m)
	}
	// The OS's console shell starts after its boot messages: type until it
	// answers.
	o := n.ConsoleOffset()
	answered := false
	for i := 0; i < 12 && !answered; i++ {
		n.SendConsole("echo CMDLINE $(cat /proc/cmdline); echo ROOT $(grep ' / ' /proc/mounts); echo DONE-CHECK\n")
		_, err := n.WaitConsoleFrom(ctx, o, regexp.MustCompile(`(?m)^DONE-CHECK`), 5*time.Second)
		answered = err == nil
	}
	if !answered {
		t.Errorf("%s: the OS's console shell did not answer:\n%s", name, n.ConsoleTail(30))
		return
	}
	out := lab.CleanConsole(n.ConsoleText()[o:])
	cmdline := regexp.MustCompile(`(?m)^CMDLINE (.*)$`).FindStringSubmatch(out)
	root := regexp.MustCompile(`(?m)^ROOT (.*)$`).FindStringSubmatch(out)
	if cmdline == nil || root == nil {
		t.Errorf("%s: no CMDLINE/ROOT lines:\n%s", name, out)
		return
	}
	t.Logf("%s /proc/cmdline: %s", name, cmdline[1])
	t.Logf("%s root: %s", name, root[1])
	if !regexp.MustCompile(`BOOT_IMAGE=/boot/vmlinuz-\S+ root=UUID=[0-9a-f-]+ ro console=ttyS0`).MatchString(cmdline[1]) || strings.Contains(cmdline[1], "dt.server") {
		t.Errorf("%s: the kernel did not come from grub on the disk: %s", name, cmdline[1])
	}
	if !strings.HasPrefix(root[1], "/dev/vda3 / ext4 ") {
		t.Errorf("%s: root is not the disk's ext4: %s", name, root[1])
	}
	st, _ := c.Trapctl(ctx, "status", name)
	if !lineHas(st, name, "local") {
		t.Errorf("trapctl status %s does not show mode local:\n%s", name, st)
	}
	ev, _ := c.Trapctl(ctx, "events", name)
	if !strings.Contains(ev, "install-done") || !strings.Contains(ev, "mode local (persistent)") {
		t.Errorf("trapctl events %s lacks install-done and the switch to local:\n%s", name, ev)
	}
}

// checkService: cn033's hardware report and the refused install.
func checkService(ctx context.Context, t *testing.T, c *labcluster.Cluster, n *lab.Node, oldDisk string, oldMiB []byte) {
	if err := n.WaitConsole(ctx, "root@cn033_DisklessTrap:/root#", 5*time.Minute); err != nil {
		t.Errorf("cn033: %v", err)
		return
	}
	var inv api.NodeInventory
	var table string
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(time.Second) {
		out, err := c.Trapctl(ctx, "-o", "json", "node", "inventory", "cn033")
		if err == nil && json.Unmarshal([]byte(out), &inv) == nil {
			table, _ = c.Trapctl(ctx, "node", "inventory", "cn033")
			break
		}
	}
	t.Logf("trapctl node inventory cn033:\n%s", table)
	hw := inv.Hardware
	if len(hw.Disks) != 2 || len(hw.NICs) != 2 {
		t.Errorf("cn033 inventory: %d disks, %d NICs; want 2 and 2", len(hw.Disks), len(hw.NICs))
		return
	}
	if d := hw.Disks[0]; d.Serial != "DT-NEW-33A" || d.Bytes != 1<<30 || len(d.Signatures) != 0 {
		t.Errorf("cn033 disk 0: %+v", d)
	}
	if d := hw.Disks[1]; d.Serial != "DT-OLD-33B" || d.Bytes != 512<<20 || strings.Join(d.Signatures, ",") != "ext4" || len(d.ByPath) == 0 {
		t.Errorf("cn033 disk 1: %+v", d)
	}
	for i, mac := range []string{"52:54:00:18:00:33", "52:54:00:19:00:33"} {
		if hw.NICs[i].MAC != mac || hw.NICs[i].Driver != "virtio_net" {
			t.Errorf("cn033 NIC %d: %+v, want MAC %s, driver virtio_net", i, hw.NICs[i], mac)
		}
	}
	if hw.Firmware != "bios" {
		t.Errorf("cn033 firmware %q, want bios", hw.Firmware)
	}
	if err := c.WaitSSH(ctx, "cn033", time.Minute); err != nil {
		t.Errorf("cn033: %v", err)
		return
	}
	plan, err := c.SSH(ctx, "cn033", c.Key, "trap plan")
	if err != nil || !strings.Contains(plan, "install partition") || !strings.Contains(plan, "install bootloader") {
		t.Errorf("cn033 trap plan: %v\n%s", err, plan)
	}
	out, err := c.SSH(ctx, "cn033", c.Key, "trap install partition")
	t.Logf("cn033 trap install partition: %v\n%s", err, strings.TrimSpace(out))
	if err == nil || !strings.Contains(out, "disk /dev/vdb") || !strings.Contains(out, "signatures ext4") || !strings.Contains(out, "not wiping it") {
		t.Errorf("cn033: the install on a used disk was not refused naming the disk and its contents")
	}
	if got := firstMiB(t, oldDisk); !bytes.Equal(got, oldMiB) {
		t.Errorf("cn033: the refused disk's first MiB changed")
	}
}

func firstMiB(t *testing.T, p string) []byte {
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1<<20)
	if _, err := f.ReadAt(b, 0); err != nil {
		t.Fatal(err)
	}
	return b
}

// gptLayout is sgdisk's partition table of a disk image without the GUIDs.
func gptLayout(t *testing.T, p string) string {
	out, err := exec.Command("sgdisk", "-p", p).CombinedOutput()
	if err != nil {
		t.Fatalf("sgdisk -p %s: %v\n%s", p, err, out)
	}
	var keep []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "GUID") || strings.HasPrefix(l, "Disk ") {
			continue
		}
		keep = append(keep, l)
	}
	return strings.TrimSpace(strings.Join(keep, "\n"))
}
