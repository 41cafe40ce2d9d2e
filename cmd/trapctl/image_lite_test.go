package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/disklesstrap/disklesstrap/bootsrv/api"
	"github.com/disklesstrap/disklesstrap/bootsrv/inventory"
)

// TestImageLiteRegistry: trapctl image lite NAME prepares the registry's
// squashfs (download, unsquashfs, liteimg, mksquashfs, upload); again
// with the same rules it changes nothing (same sha256); with a rule
// removed from the inventory that path is put back in the image.
func TestImageLiteRegistry(t *testing.T) {
	for _, tool := range []string{"mksquashfs", "unsquashfs"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("DT_LAB_REQUIRED") == "1" {
				t.Fatalf("%s (squashfs-tools, make lab-deps): %v", tool, err)
			}
			t.Skipf("%s (squashfs-tools, make lab-deps): %v", tool, err)
		}
	}
	var cluster *atomic.Pointer[inventory.Cluster]
	dir, invPath, h, _ := apiWith(t, func(c *api.Config) { cluster = c.Cluster })
	url := adminSocketServer(t, h, filepath.Join(dir, "run", "admin.sock"))
	base, _ := os.ReadFile(invPath)
	setRules := func(rules string) {
		t.Helper()
		if err := os.WriteFile(invPath, append(append([]byte{}, base...), rules...), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := inventory.Load(invPath)
		if err != nil {
			t.Fatal(err)
		}
		cluster.Store(c)
	}
	root := filepath.Join(dir, "root")
	testTree(t, root)
	if _, stderr, err := trapctl(t, url, "image", "pack", root, "--name", "os", "--tool", "mksquashfs"); err != nil {
		t.Fatalf("image pack: %v\n%s", err, stderr)
	}
	listing := func() string {
		t.Helper()
		img := filepath.Join(dir, "data", "images", "os.squashfs")
		out, err := exec.Command("unsquashfs", "-lls", img).CombinedOutput()
		if err != nil {
			t.Fatalf("unsquashfs -lls: %v\n%s", err, out)
		}
		return string(out)
	}
	sha := func() string { return fileSHA256(t, filepath.Join(dir, "data", "images", "os.squashfs")) }

	setRules("litefile:\n  - path: /etc/hostname\n  - path: /var/log/\n")
	stdout, stderr, err := trapctl(t, url, "image", "lite", "os")
	if err != nil {
		t.Fatalf("image lite os: %v\n%s\n%s", err, stdout, stderr)
	}
	if !strings.Contains(stdout, "prepared: /etc/hostname /var/log") || !strings.Contains(stdout, "uploaded image os") {
		t.Errorf("image lite os: stdout %q", stdout)
	}
	ls := listing()
	for _, want := range []string{"squashfs-root/etc/hostname -> /.statelite/tmpfs/etc/hostname", "squashfs-root/.default/etc/hostname",
		"squashfs-root/var/log -> /.statelite/tmpfs/var/log", "squashfs-root/.statelite/tmpfs/etc/hostname -> /.default/etc/hostname"} {
		if !strings.Contains(ls, want) {
			t.Errorf("prepared image lacks %q:\n%s", want, ls)
		}
	}
	first := sha()

	stdout, _, err = trapctl(t, url, "image", "lite", "os")
	if err != nil || !strings.Contains(stdout, "kept: /etc/hostname /var/log") || !strings.Contains(stdout, "registry image unchanged") || sha() != first {
		t.Errorf("image lite os again: %v, stdout %q; want everything kept and the same image", err, stdout)
	}

	setRules("litefile:\n  - path: /var/log/\n")
	stdout, _, err = trapctl(t, url, "image", "lite", "os")
	if err != nil || !strings.Contains(stdout, "restored: /etc/hostname") {
		t.Fatalf("image lite os without the /etc/hostname rule: %v, stdout %q", err, stdout)
	}
	ls = listing()
	if strings.Contains(ls, ".default/etc/hostname") || strings.Contains(ls, "etc/hostname ->") || !strings.Contains(ls, "squashfs-root/etc/hostname") {
		t.Errorf("/etc/hostname not put back:\n%s", ls)
	}
	if !strings.Contains(ls, "squashfs-root/var/log -> /.statelite/tmpfs/var/log") {
		t.Errorf("/var/log no longer prepared:\n%s", ls)
	}

	setRules("litefile:\n  - path: /etc/hostname/\n")
	if _, _, err := trapctl(t, url, "image", "lite", "os"); err == nil || !strings.Contains(err.Error(), "litefile /etc/hostname/: the image has a file there") {
		t.Errorf("folder rule on a file: %v", err)
	}
	if _, _, err := trapctl(t, url, "image", "lite", "os", "--pack"); err == nil {
		t.Errorf("image lite NAME --pack without DIR accepted")
	}
}
