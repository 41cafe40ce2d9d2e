package statelite

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/disklesstrap/disklesstrap/trap/hostsys"
	"github.com/disklesstrap/disklesstrap/trap/plan"
	"github.com/disklesstrap/disklesstrap/trap/ramroot"

	"github.com/disklesstrap/disklesstrap/internal/labreq"
)

const childEnv = "DT_STATELITE_HOST_CHILD"

// TestHostMounts runs the real tmpfs, files, sysroot and readonly steps
// (tmpfs, overlayfs, bind and read-only remounts) under a temporary Root
// in a private mount namespace (a re-exec of this test binary with
// CLONE_NEWNS). The image root, the two sources and the store are plain
// folders bound where the NFS mounts would be (the host has no NFS
// client; the lab test mounts real exports in QEMU guests).
func TestHostMounts(t *testing.T) {
	if c := os.Getenv(childEnv); c != "" {
		hostChild(t, c)
		return
	}
	labreq.Check(t, labreq.Root()) // mounts
	tmp := t.TempDir()
	write(t, tmp, map[string]string{
		"image/.default/etc/motd": "IMAGE-MOTD\n",
		"image/etc/ro.conf":       "IMAGE-RO\n",
		"image/etc/other":         "OTHER\n",
		"image/var/lib/keep/seed": "IMAGE-KEEP\n",
		"image/sbin/init":         "#!/bin/sh\n",
		"src1/etc/con.conf":       "LITE1-CON\n",
		"src1/etc/ro.conf":        "LITE1-RO\n",
		"src2/etc/con.conf":       "LITE2-CON\n",
		"store/":                  "",
		"root/run/dt/lower/":      "",
	})
	os.Symlink("/.statelite/tmpfs/etc/motd", filepath.Join(tmp, "image/etc/motd"))
	cmd := exec.Command(os.Args[0], "-test.run=^TestHostMounts$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+tmp)
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	out, err := cmd.CombinedOutput()
	t.Logf("child:\n%s", out)
	if err != nil || !strings.Contains(string(out), "HOST-CHILD-OK") {
		t.Fatalf("child: %v", err)
	}
	if got := read(t, tmp+"/store/cn1/var/lib/keep/mine"); got != "MINE\n" {
		t.Errorf("persistent file in the store = %q", got)
	}
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mi), tmp) {
		t.Errorf("mounts under %s leaked into the parent namespace", tmp)
	}
}

func hostChild(t *testing.T, tmp string) {
	sys := hostsys.Sys{}
	if err := sys.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		t.Fatal(err)
	}
	root := tmp + "/root"
	bind := func(src, dst string, ro bool) {
		t.Helper()
		os.MkdirAll(dst, 0o755)
		if err := sys.Mount(src, dst, "", unix.MS_BIND, ""); err != nil {
			t.Fatal(err)
		}
		if ro {
			if err := sys.Mount("", dst, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	bind(tmp+"/image", root+ramroot.LowerDir, true) // "statelite root"
	m := testManifest("198.18.0.1:/roots/compute")
	p, err := Plan(m)
	if err != nil {
		t.Fatal(err)
	}
	SetRoot(p, root)
	env := &plan.Env{Manifest: m, Run: hostsys.Runner{}, Sys: sys}
	ctx := context.Background()
	steps := map[string]plan.Step{}
	for _, s := range p {
		steps[s.Name()] = s
	}
	run := func(name string) {
		t.Helper()
		if err := steps[name].Run(ctx, env); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	run("statelite tmpfs")
	bind(tmp+"/src1", root+"/sysroot"+MntDir(0), true) // "statelite litetree"
	bind(tmp+"/src2", root+"/sysroot"+MntDir(1), true)
	bind(tmp+"/store", root+"/sysroot"+PersistentDir, false) // "statelite store"
	os.MkdirAll(root+"/sysroot"+PersistentDir+"/cn1", 0o755)
	for _, name := range []string{"statelite files", "sysroot", "statelite readonly"} {
		run(name)
	}
	nr := root + "/sysroot"
	lite := nr + LiteDir + "/tmpfs"
	checks := map[string]string{
		lite + "/etc/con.conf": "LITE1-CON\nLITE2-CON\n",
		lite + "/etc/motd":     "IMAGE-MOTD\n",
		lite + "/etc/ro.conf":  "LITE1-RO\n",
		nr + "/etc/other":      "OTHER\n",
		nr + "/etc/hostname":   "cn1\n",
	}
	for p, want := range checks {
		if got := read(t, p); got != want {
			t.Errorf("%s = %q, want %q", strings.TrimPrefix(p, root), got, want)
		}
	}
	erofs := func(p string) {
		t.Helper()
		err := os.WriteFile(p, []byte("x"), 0o644)
		if !errors.Is(err, syscall.EROFS) {
			t.Errorf("write %s: %v, want EROFS", strings.TrimPrefix(p, root), err)
		}
	}
	erofs(lite + "/etc/ro.conf")
	erofs(nr + "/etc/other")
	erofs(nr + "/etc/new")
	if err := os.WriteFile(lite+"/etc/motd", []byte("changed\n"), 0o644); err != nil {
		t.Errorf("tmpfs file not writable: %v", err)
	}
	if err := os.WriteFile(nr+PersistentDir+"/cn1/var/lib/keep/mine", []byte("MINE\n"), 0o644); err != nil {
		t.Errorf("persistent folder not writable: %v", err)
	}
	if l, _ := os.Readlink(lite + "/var/lib/keep"); l != PersistentDir+"/cn1/var/lib/keep" {
		t.Errorf("/.statelite/tmpfs/var/lib/keep -> %q", l)
	}
	if got := read(t, nr+LogFile); !strings.Contains(got, "/etc/ro.conf ro 198.18.0.1:/lite1 bound read-only") {
		t.Errorf("statelite.log:\n%s", got)
	}
	if !t.Failed() {
		t.Log("HOST-CHILD-OK")
	}
}
