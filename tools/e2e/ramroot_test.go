package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/tools/lab"
	"github.com/disklesstrap/disklesstrap/tools/labcluster"
)

// TestRAMRoot: stateless nodes. The lab's test OS (built from Debian's
// busybox-static) is packed and uploaded with trapctl; cn003 boots it in
// mode ramroot (squashfs lower, zram upper, switch_root into its init);
// cn005 is held in the trap for one boot and provisioned by hand over SSH,
// step by step; cn004 gets an image whose sha256 was altered in bootsrv
// and must stay in the trap saying so.
func TestRAMRoot(t *testing.T) {
	requireLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	c, err := labcluster.Start(ctx, t, labcluster.Options{
		Initrd: sharedInitrd(t),
		Nodes: []labcluster.Node{
			{Name: "cn003", MAC: "52:54:00:18:00:03", IP: "198.18.0.13", Firmware: lab.BIOS},
			{Name: "cn004", MAC: "52:54:00:18:00:04", IP: "198.18.0.14", Firmware: lab.BIOS},
			{Name: "cn005", MAC: "52:54:00:18:00:05", IP: "198.18.0.15", Firmware: lab.BIOS},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	root, _ := labcluster.RepoRoot()
	osDir := filepath.Join(c.Dir, "testos")
	if out, err := exec.CommandContext(ctx, filepath.Join(root, "images/testos/build.sh"), osDir).CombinedOutput(); err != nil {
		t.Fatalf("images/testos/build.sh: %v\n%s", err, out)
	}
	if out, err := c.Trapctl(ctx, "image", "pack", osDir, "--name", "testos"); err != nil {
		t.Fatal(err)
	} else {
		t.Logf("trapctl image pack: %s", strings.TrimSpace(out))
	}
	if _, err := c.Trapctl(ctx, "node", "set", "cn[003-005]", "image=testos", "mode=ramroot"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Trapctl(ctx, "mode", "set", "cn005", "trap", "--once"); err != nil {
		t.Fatal(err)
	}

	cn3, err := c.Boot("cn003")
	if err != nil {
		t.Fatal(err)
	}
	cn5, err := c.Boot("cn005")
	if err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // cn005: by hand over SSH, then trap continue.
		defer wg.Done()
		if err := cn5.WaitConsole(ctx, "root@cn005_DisklessTrap:/root#", 5*time.Minute); err != nil {
			t.Errorf("cn005: %v", err)
			return
		}
		if err := c.WaitSSH(ctx, "cn005", time.Minute); err != nil {
			t.Errorf("cn005: %v", err)
			return
		}
		for _, step := range []string{"trap image fetch", "trap zram", "trap overlay", "trap sysroot"} {
			out, err := c.SSH(ctx, "cn005", c.Key, step)
			if err != nil {
				t.Errorf("cn005 %q: %v", step, err)
				return
			}
			t.Logf("cn005 %s: %s", step, lastLine(out))
		}
		if out, err := c.SSH(ctx, "cn005", c.Key, "ls /sysroot/sbin/init && cat /sysroot/etc/hostname"); err != nil || !strings.Contains(out, "cn005") {
			t.Errorf("cn005 after the steps by hand: /sysroot = %q, %v", out, err)
		}
		// The SSH server stops at switch_root, so the connection may drop.
		c.SSH(ctx, "cn005", c.Key, "trap continue")
		if err := cn5.WaitConsole(ctx, "DT-OS-BOOTED cn005", 3*time.Minute); err != nil {
			t.Errorf("cn005 after trap continue: %v", err)
		}
	}()

	if err := cn3.WaitConsole(ctx, "--- end ---", 5*time.Minute); err != nil {
		t.Fatalf("cn003: %v", err)
	}
	t.Logf("TIMING cn003 (bios): power-on to test OS marker %.1fs", cn3.Elapsed().Seconds())
	mounts := between(lab.CleanConsole(cn3.ConsoleText()), "--- /proc/mounts ---", "--- end ---")
	if !regexp.MustCompile(`(?m)^overlay / overlay \S*lowerdir=/run/dt/lower,upperdir=/overlay/upper/root`).MatchString(mounts) {
		t.Errorf("cn003 /proc/mounts: / is not the overlay over /run/dt/lower with its upper in /overlay:\n%s", mounts)
	}
	if !regexp.MustCompile(`(?m)^/dev/loop\d+ /run/dt/lower squashfs ro[,\s]`).MatchString(mounts) {
		t.Errorf("cn003 /proc/mounts: no read-only squashfs lower at /run/dt/lower:\n%s", mounts)
	}
	if !regexp.MustCompile(`(?m)^overlay /var overlay `).MatchString(mounts) {
		t.Errorf("cn003 /proc/mounts: /var is not an overlay:\n%s", mounts)
	}
	waitPhase(ctx, t, c, "cn003", "os-booted")

	// A write to / in the booted OS lands in zram.
	off := cn3.ConsoleOffset()
	cn3.SendConsole("echo ZRAM-BEFORE $(awk '{print $1}' /sys/block/zram0/mm_stat); dd if=/dev/urandom of=/written-in-os bs=1024 count=4096 2>/dev/null; sync; echo ZRAM-AFTER $(awk '{print $1}' /sys/block/zram0/mm_stat)\n")
	m, err := cn3.WaitConsoleFrom(ctx, off, regexp.MustCompile(`ZRAM-AFTER (\d+)`), time.Minute)
	if err != nil {
		t.Fatalf("cn003 zram check: %v", err)
	}
	before := regexp.MustCompile(`ZRAM-BEFORE (\d+)`).FindStringSubmatch(lab.CleanConsole(cn3.ConsoleText()[off:]))
	if before == nil {
		t.Fatalf("cn003: no ZRAM-BEFORE line")
	}
	b, _ := strconv.ParseInt(before[1], 10, 64)
	a, _ := strconv.ParseInt(m[1], 10, 64)
	t.Logf("cn003 zram0 orig_data_size: %d -> %d bytes after writing 4 MiB to /", b, a)
	if a-b < 4<<20 {
		t.Errorf("cn003: zram0 grew by %d bytes after a 4 MiB write to /, want >= 4 MiB", a-b)
	}

	wg.Wait()
	if t.Failed() {
		return
	}
	waitPhase(ctx, t, c, "cn005", "os-booted")

	// cn004: the image record's sha256 altered in bootsrv.
	rec := filepath.Join(c.DataDir, "images", "testos.json")
	raw, err := os.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	var r map[string]any
	json.Unmarshal(raw, &r)
	r["sha256"] = strings.Repeat("ab", 32)
	raw, _ = json.Marshal(r)
	if err := os.WriteFile(rec, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	cn4, err := c.Boot("cn004")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cn4.WaitConsoleRegexp(ctx, regexp.MustCompile(`sha256 mismatch`), 5*time.Minute); err != nil {
		t.Fatalf("cn004 with a bad sha256: %v", err)
	}
	if err := cn4.WaitConsole(ctx, "root@cn004_DisklessTrap:/root#", time.Minute); err != nil {
		t.Fatalf("cn004 not back in the trap: %v", err)
	}
	if out, err := c.Trapctl(ctx, "events", "cn004"); err != nil || !strings.Contains(out, "sha256 mismatch") {
		t.Errorf("trapctl events cn004 does not name the mismatch: %v\n%s", err, out)
	}
	if err := c.WaitSSH(ctx, "cn004", time.Minute); err != nil {
		t.Errorf("ssh into cn004's trap after the failure: %v", err)
	}
}

// waitPhase polls trapctl status until node shows phase.
func waitPhase(ctx context.Context, t *testing.T, c *labcluster.Cluster, node, phase string) {
	t.Helper()
	var out string
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(time.Second) {
		out, _ = c.Trapctl(ctx, "status", node)
		if lineHas(out, node, phase) {
			return
		}
	}
	t.Errorf("trapctl status %s never showed %s:\n%s", node, phase, out)
}

func between(s, from, to string) string {
	_, rest, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	mid, _, _ := strings.Cut(rest, to)
	return mid
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
