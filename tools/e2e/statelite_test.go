package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/initrd"
	"github.com/disklesstrap/disklesstrap/tools/lab"
	"github.com/disklesstrap/disklesstrap/tools/labcluster"

	"github.com/disklesstrap/disklesstrap/internal/labreq"
)

// The statelite lab's rules: the test OS gets a writable /tmp, a tmpfs
// /etc/motd, a file only the second source has, a concatenated file, a
// read-only file and a persistent folder; the second litetree source is
// a folder of bootsrv's data folder (data:/..., over the data_export
// NFS export), templated with the node's group.
const stateliteInventory = `litefile:
  - path: /tmp/
  - path: /etc/motd
  - path: /etc/second.conf
  - path: /etc/con.conf
    option: con
  - path: /etc/ro.conf
    option: ro
  - path: /var/lib/keep/
    option: persistent
litetree:
  - source: "198.18.0.1:/lite1"
    priority: 1
  - source: "data:/lite2-{group}"
    priority: 2
groups:
  - name: slite
    mode: statelite
    statelite: "198.18.0.1:/state"
    data_export: "198.18.0.1:/data"
`

// TestStatelite: two statelite nodes boot the same image to the OS, sl1
// from the registry's squashfs (prepared in the registry by trapctl
// image lite testos) and sl2 from an NFS export of the image root
// (prepared in place by trapctl image lite testos DIR), with two
// litetree sources (an export, and bootsrv's data folder exported by
// the same server) and a persistent store on a real NFSv4 server
// (nfs-ganesha) in the lab. trapctl inventory check refuses a folder
// rule without its / against the registry image. Checks: con = both
// sources in priority order, a file only the second source has comes
// from it, writing the ro file (or anything
// outside the rules) fails with EROFS, a persistent file survives sl1's
// reboot and is not on sl2, a tmpfs file is back to the image's after
// the reboot. The reboot happens with the NFS server stopped: sl1 stays
// in the trap naming the export (console and trapctl events); the server
// started again, `trap continue` finishes the boot.
func TestStatelite(t *testing.T) {
	requireLab(t)
	labreq.Require(t, labreq.Tools(labcluster.GaneshaBinary))
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	img, err := labcluster.BuildInitrdExtra(ctx, filepath.Join(t.TempDir(), "trap-statelite.cpio.gz"),
		labcluster.InitrdExtra{Modules: initrd.StateliteModules})
	if err != nil {
		t.Fatal(err)
	}
	group := map[string]string{"groups": "[slite]", "image": "testos"}
	sl2 := map[string]string{"groups": "[slite]", "image": "testos", "nfsroot": `"198.18.0.1:/root"`}
	c, err := labcluster.Start(ctx, t, labcluster.Options{
		Initrd:         img,
		ExtraInventory: stateliteInventory,
		Nodes: []labcluster.Node{
			{Name: "sl1", MAC: "52:54:00:18:01:01", IP: "198.18.0.31", Firmware: lab.BIOS, Attrs: group},
			{Name: "sl2", MAC: "52:54:00:18:01:02", IP: "198.18.0.32", Firmware: lab.BIOS, Attrs: sl2},
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
	nfs := filepath.Join(c.Dir, "nfs")
	files := map[string]string{
		osDir + "/etc/motd":                        "IMAGE-MOTD\n",
		osDir + "/etc/second.conf":                 "IMAGE-SECOND\n",
		osDir + "/etc/con.conf":                    "IMAGE-CON\n",
		osDir + "/etc/ro.conf":                     "IMAGE-RO\n",
		osDir + "/var/lib/keep/seed":               "IMAGE-KEEP\n",
		nfs + "/lite1/etc/con.conf":                "LITE1-CON\n",
		nfs + "/lite1/etc/ro.conf":                 "LITE1-RO\n",
		c.DataDir + "/lite2-slite/etc/con.conf":    "LITE2-CON\n",
		c.DataDir + "/lite2-slite/etc/second.conf": "LITE2-SECOND\n",
		nfs + "/state/.keep":                       "",
	}
	for p, text := range files {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The unprepared root goes to the registry; trapctl image lite
	// prepares the registry's squashfs (sl1), then the folder itself, the
	// NFS root (sl2).
	if out, err := c.Trapctl(ctx, "image", "pack", osDir, "--name", "testos", "--tool", "mksquashfs"); err != nil {
		t.Fatalf("image pack: %v\n%s", err, out)
	}
	out, err := c.Trapctl(ctx, "image", "lite", "testos")
	if err != nil || !strings.Contains(out, "prepared: ") || !strings.Contains(out, "uploaded image testos") {
		t.Fatalf("trapctl image lite testos (registry): %v\n%s", err, out)
	}
	t.Logf("trapctl image lite testos: %s", strings.TrimSpace(out))
	if out, err := c.Trapctl(ctx, "image", "lite", "testos"); err != nil || !strings.Contains(out, "registry image unchanged") {
		t.Errorf("image lite testos again: want the registry image unchanged: %v\n%s", err, out)
	}
	if out, err := c.Trapctl(ctx, "image", "lite", "testos", osDir); err != nil || !strings.Contains(out, "prepared: ") {
		t.Fatalf("trapctl image lite testos DIR: %v\n%s", err, out)
	}
	if l, err := os.Readlink(osDir + "/etc/motd"); err != nil || l != "/.statelite/tmpfs/etc/motd" {
		t.Fatalf("image lite: /etc/motd -> %q, %v; want /.statelite/tmpfs/etc/motd", l, err)
	}
	if out, err := c.Trapctl(ctx, "image", "lite", "testos", osDir); err != nil || !strings.Contains(out, "kept:") {
		t.Errorf("image lite again: want everything kept: %v\n%s", err, out)
	}
	// A folder rule without its / is refused against the registry image,
	// naming the line.
	inv, _ := os.ReadFile(c.Inventory)
	bad := filepath.Join(c.Dir, "bad.yaml")
	os.WriteFile(bad, []byte(strings.Replace(string(inv), "path: /var/lib/keep/", "path: /var/lib/keep", 1)), 0o644)
	if out, err := c.Trapctl(ctx, "inventory", "check", bad, "--data", c.DataDir); err == nil ||
		!regexp.MustCompile(`bad\.yaml:\d+: litefile\[5\]\.path: litefile /var/lib/keep: image testos has a folder there`).MatchString(out+err.Error()) {
		t.Errorf("inventory check of a folder rule without /: %v\n%s", err, out)
	}
	srv, err := c.StartNFS(ctx, []labcluster.NFSExport{
		{Dir: osDir, Pseudo: "/root"},
		{Dir: nfs + "/lite1", Pseudo: "/lite1"},
		{Dir: c.DataDir, Pseudo: "/data"},
		{Dir: nfs + "/state", Pseudo: "/state", RW: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out, err := c.Trapctl(ctx, "node", "show", "sl1", "--blame"); err != nil || !strings.Contains(out, "198.18.0.1:/data/lite2-slite") {
		t.Errorf("node show sl1 --blame: want the templated litetree source: %v\n%s", err, out)
	} else {
		t.Logf("trapctl node show sl1 --blame:\n%s", out)
	}

	nodes := map[string]*lab.Node{}
	for _, name := range []string{"sl1", "sl2"} {
		n, err := c.Boot(name)
		if err != nil {
			t.Fatal(err)
		}
		nodes[name] = n
	}
	var wg sync.WaitGroup
	for name, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := n.WaitConsole(ctx, "--- end ---", 5*time.Minute); err != nil {
				t.Errorf("%s: %v", name, err)
				return
			}
			t.Logf("TIMING %s: power-on to the OS marker %.1fs", name, n.Elapsed().Seconds())
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	// sl1 first: sl2 then must not see the persistent file sl1 wrote.
	for _, name := range []string{"sl1", "sl2"} {
		n := nodes[name]
		got := osRun(ctx, t, n, name+"-a", `echo CON=$(cat /etc/con.conf | tr '\n' '|'); echo SECOND=$(cat /etc/second.conf); echo RO=$(cat /etc/ro.conf); `+
			`(echo x >> /etc/ro.conf) 2>&1 | sed 's/^/ROWRITE=/'; (echo x > /etc/other) 2>&1 | sed 's/^/ROOTWRITE=/'; `+
			`echo KEEP=$(cat /var/lib/keep/seed); echo MINE=$(cat /var/lib/keep/mine 2>&1); `+
			`echo changed > /etc/motd && echo MOTD=$(cat /etc/motd); echo `+name+` > /var/lib/keep/mine && echo WROTE; `+
			`echo LOG; cat /.statelite/statelite.log`)
		t.Logf("%s:\n%s", name, got)
		for _, want := range []string{"CON=LITE1-CON|LITE2-CON|", "SECOND=LITE2-SECOND", "RO=LITE1-RO", "KEEP=IMAGE-KEEP", "MOTD=changed", "WROTE"} {
			if !strings.Contains(got, want) {
				t.Errorf("%s: want %q in the OS's answers", name, want)
			}
		}
		for _, key := range []string{"ROWRITE=", "ROOTWRITE="} {
			if !regexp.MustCompile(key + `.*Read-only file system`).MatchString(got) {
				t.Errorf("%s: %s: want a write refused with EROFS", name, key)
			}
		}
		if !strings.Contains(got, "MINE=cat: can't open") {
			t.Errorf("%s: /var/lib/keep/mine exists before this node wrote it (sl1's persistent file visible on sl2?)", name)
		}
	}
	if t.Failed() {
		return
	}

	// The NFS server stops; sl1 reboots and stays in the trap naming the
	// export; the server comes back and trap continue finishes the boot.
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	n1 := nodes["sl1"]
	off := n1.ConsoleOffset()
	n1.SendConsole("reboot -f\n")
	m, err := n1.WaitConsoleFrom(ctx, off, regexp.MustCompile(`export (198\.18\.0\.1:/\S+): NFS server \S+ is down`), 5*time.Minute)
	if err != nil {
		t.Fatalf("sl1 with the NFS server down: %v", err)
	}
	t.Logf("sl1 console names the export %s", m[1])
	if _, err := n1.WaitConsoleFrom(ctx, off, regexp.MustCompile(`root@sl1_DisklessTrap:/root#`), time.Minute); err != nil {
		t.Fatalf("sl1 not in the trap: %v", err)
	}
	if out, err := c.Trapctl(ctx, "events", "sl1"); err != nil || !strings.Contains(out, m[1]) {
		t.Errorf("trapctl events sl1 does not name the export %s: %v\n%s", m[1], err, out)
	}
	if err := c.WaitSSH(ctx, "sl1", time.Minute); err != nil {
		t.Fatal(err)
	}
	if out, err := c.SSH(ctx, "sl1", c.Key, "trap plan"); err != nil || !strings.Contains(out, "/etc/con.conf con <-") {
		t.Errorf("trap plan in sl1's trap: %v\n%s", err, out)
	} else {
		t.Logf("sl1 trap plan:\n%s", out)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	off = n1.ConsoleOffset()
	c.SSH(ctx, "sl1", c.Key, "trap continue") // the SSH server stops at switch_root
	if _, err := n1.WaitConsoleFrom(ctx, off, regexp.MustCompile(`--- end ---`), 3*time.Minute); err != nil {
		t.Fatalf("sl1 after trap continue: %v", err)
	}
	got := osRun(ctx, t, n1, "sl1-b", `echo MOTD=$(cat /etc/motd); echo MINE=$(cat /var/lib/keep/mine)`)
	if !strings.Contains(got, "MOTD=IMAGE-MOTD") {
		t.Errorf("sl1 after reboot: /etc/motd is not the image's again:\n%s", got)
	}
	if !strings.Contains(got, "MINE=sl1") {
		t.Errorf("sl1 after reboot: the persistent file did not survive:\n%s", got)
	}
	// sl2 (NFS root) is not asked again: after a server restart its mounts
	// come back only when the kernel's RPC reconnect backoff (up to
	// minutes) lets them; the store shows each node kept its own file.
	for _, name := range []string{"sl1", "sl2"} {
		if b, err := os.ReadFile(nfs + "/state/" + name + "/var/lib/keep/mine"); err != nil || string(b) != name+"\n" {
			t.Errorf("store: %s's persistent file on the server = %q, %v", name, b, err)
		}
	}
}

// osRun runs a shell line on a booted test OS's console and returns its
// output between two markers.
func osRun(ctx context.Context, t *testing.T, n *lab.Node, tag, script string) string {
	t.Helper()
	off := n.ConsoleOffset()
	tag = strings.ToUpper(tag)
	// The typed line must not contain the markers: split them with "".
	n.SendConsole(fmt.Sprintf("echo \"BEG\"\"IN-%s\"; %s; echo \"EN\"\"D-%s\"\n", tag, script, tag))
	if _, err := n.WaitConsoleFrom(ctx, off, regexp.MustCompile(`END-`+regexp.QuoteMeta(tag)), time.Minute); err != nil {
		t.Fatalf("%s: %v", tag, err)
	}
	text := lab.CleanConsole(n.ConsoleText()[off:])
	_, rest, _ := strings.Cut(text, "BEGIN-"+tag)
	mid, _, _ := strings.Cut(rest, "END-"+tag)
	return mid
}
