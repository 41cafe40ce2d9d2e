package ramroot

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/disklesstrap/disklesstrap/trap/hostsys"
)

// TestInRoot: a Debian root's /sbin/init (merged /usr, absolute link)
// resolves inside the new root, and preflight reads it there.
func TestInRoot(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"usr/sbin", "usr/lib/systemd", "usr/bin"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	os.WriteFile(filepath.Join(root, "usr/lib/systemd/systemd"), []byte("\x7fELF"), 0o755)
	os.WriteFile(filepath.Join(root, "usr/bin/dash"), []byte("\x7fELF"), 0o755)
	os.Symlink("usr/sbin", filepath.Join(root, "sbin"))
	os.Symlink("usr/lib", filepath.Join(root, "lib"))
	os.Symlink("usr/bin", filepath.Join(root, "bin"))
	os.Symlink("/lib/systemd/systemd", filepath.Join(root, "usr/sbin/init"))
	os.Symlink("dash", filepath.Join(root, "usr/bin/sh"))
	os.WriteFile(filepath.Join(root, "usr/sbin/script-init"), []byte("#!/bin/sh\n"), 0o755)
	os.Symlink("loop2", filepath.Join(root, "usr/sbin/loop1"))
	os.Symlink("/sbin/loop1", filepath.Join(root, "usr/sbin/loop2"))
	h := hostsys.Sys{}
	got, err := InRoot(h, root, "/sbin/init")
	if err != nil || got != root+"/usr/lib/systemd/systemd" {
		t.Errorf("InRoot(/sbin/init) = %q, %v", got, err)
	}
	for _, init := range []string{"/sbin/init", "/sbin/script-init"} {
		if err := preflightInit(h, root, init); err != nil {
			t.Errorf("preflight %s: %v", init, err)
		}
	}
	if _, err := InRoot(h, root, "/sbin/loop1"); err == nil {
		t.Errorf("a symlink loop resolved")
	}
}
