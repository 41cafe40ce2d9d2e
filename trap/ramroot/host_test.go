package ramroot

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/disklesstrap/disklesstrap/imagepack"
	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/hostsys"
	"github.com/disklesstrap/disklesstrap/trap/plan"

	"github.com/disklesstrap/disklesstrap/internal/labreq"
)

// labSkip skips, or fails when DT_LAB_REQUIRED=1.
func labSkip(t *testing.T, format string, args ...any) {
	t.Helper()
	labreq.Skip(t, format, args...)
}

type hostConfig struct {
	Root     string
	Device   int
	Manifest *manifest.Manifest
}

const childEnv = "DT_RAMROOT_HOST_CHILD"

// TestHostZramOverlay runs the real zram, overlay and sysroot steps (real
// sysfs, mkfs.xfs, losetup, mounts) against a squashfs packed by
// imagepack, under a temporary Root, in a private mount namespace (a
// re-exec of this test binary with CLONE_NEWNS).
func TestHostZramOverlay(t *testing.T) {
	if c := os.Getenv(childEnv); c != "" {
		hostChild(t, c)
		return
	}
	if os.Geteuid() != 0 {
		labSkip(t, "needs root (zram, loop, mounts)")
	}
	for _, p := range []string{"/sys/class/zram-control/hot_add", "/dev/loop-control"} {
		if _, err := os.Stat(p); err != nil {
			labSkip(t, "kernel lacks %s: %v", p, err)
		}
	}
	for _, c := range []string{"mkfs.xfs", "losetup"} {
		if _, err := exec.LookPath(c); err != nil {
			labSkip(t, "%s not installed", c)
		}
	}
	tmp := t.TempDir()
	src := filepath.Join(tmp, "src")
	for p, c := range map[string]string{"etc/hello.txt": "from the image\n", "var/lib/state": "lower\n", "sbin/init": "#!/bin/sh\n"} {
		os.MkdirAll(filepath.Join(src, filepath.Dir(p)), 0o755)
		if err := os.WriteFile(filepath.Join(src, p), []byte(c), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	img := filepath.Join(tmp, "image.sqfs")
	info, err := imagepack.Pack(context.Background(), src, img, imagepack.Options{Name: "hosttest", Format: imagepack.FormatSquashfs})
	if err != nil {
		t.Fatalf("Pack: %v", err)
	}
	root := filepath.Join(tmp, "root")
	os.MkdirAll(filepath.Join(root, "run/dt"), 0o755)
	b, _ := os.ReadFile(img)
	if err := os.WriteFile(filepath.Join(root, ImagePath), b, 0o644); err != nil {
		t.Fatal(err)
	}

	// A zram device of our own; removed at the end.
	nb, err := os.ReadFile("/sys/class/zram-control/hot_add")
	if err != nil {
		labSkip(t, "zram hot_add: %v", err)
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(nb)))
	t.Cleanup(func() {
		for _, dev := range loopsOf(filepath.Join(root, ImagePath)) {
			exec.Command("losetup", "-d", dev).Run()
		}
		os.WriteFile("/sys/block/zram"+strconv.Itoa(n)+"/reset", []byte("1"), 0)
		if err := os.WriteFile("/sys/class/zram-control/hot_remove", []byte(strconv.Itoa(n)), 0); err != nil {
			t.Errorf("zram%d hot_remove: %v", n, err)
		}
	})

	m := &manifest.Manifest{Version: 1, Node: "host1", Mode: manifest.ModeRAMRoot, Server: "http://127.0.0.1:1",
		Network: &manifest.Network{Interface: "net0", MAC: "52:54:00:00:00:09", Address: "198.18.0.9/24"},
		Image:   &manifest.Image{Name: "hosttest", SHA256: info.SHA256},
		Zram:    []manifest.Zram{{Device: strconv.Itoa(n), Size: "512M", FS: "xfs"}},
	}
	cfg, _ := json.Marshal(hostConfig{Root: root, Device: n, Manifest: m})
	cmd := exec.Command(os.Args[0], "-test.run=^TestHostZramOverlay$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+string(cfg))
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	out, err := cmd.CombinedOutput()
	t.Logf("child:\n%s", out)
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	if !strings.Contains(string(out), "HOST-CHILD-OK") {
		t.Fatalf("child did not finish its checks")
	}
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mi), root) {
		t.Errorf("mounts under %s leaked into the parent namespace", root)
	}
}

func loopsOf(file string) []string {
	out, _ := exec.Command("losetup", "-j", file).Output()
	var devs []string
	for _, l := range strings.Split(string(out), "\n") {
		if i := strings.Index(l, ":"); i > 0 {
			devs = append(devs, l[:i])
		}
	}
	return devs
}

func hostChild(t *testing.T, c string) {
	var cfg hostConfig
	if err := json.Unmarshal([]byte(c), &cfg); err != nil {
		t.Fatal(err)
	}
	root := cfg.Root
	p, err := Plan(cfg.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	SetRoot(p, root)
	env := &plan.Env{Manifest: cfg.Manifest, Run: hostsys.Runner{}, Sys: hostsys.Sys{}}
	steps := p[1:4] // zram, overlay, sysroot: the image is already in place
	ctx := context.Background()
	defer func() {
		for _, m := range []string{"/sysroot/var", "/sysroot", LowerDir, "/overlay"} {
			hostsys.Sys{}.Unmount(root + m)
		}
		for _, dev := range loopsOf(root + ImagePath) {
			exec.Command("losetup", "-d", dev).Run()
		}
	}()
	for round := 1; round <= 2; round++ { // the second round checks idempotence
		if err := steps.Run(ctx, env, 0); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	infos, err := ParseMountinfo(mi)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{root + "/overlay": "xfs", root + LowerDir: "squashfs", root + "/sysroot": "overlay", root + "/sysroot/var": "overlay"}
	count := map[string]int{}
	for _, m := range infos {
		if fs, ok := want[m.MountPoint]; ok {
			count[m.MountPoint]++
			if m.FSType != fs {
				t.Errorf("%s is %s, want %s", m.MountPoint, m.FSType, fs)
			}
			if m.MountPoint == root+"/overlay" && m.Source != "/dev/zram"+strconv.Itoa(cfg.Device) {
				t.Errorf("/overlay source %s, want /dev/zram%d", m.Source, cfg.Device)
			}
		}
	}
	for mp := range want {
		if count[mp] != 1 {
			t.Errorf("%s mounted %d times, want once", mp, count[mp])
		}
	}
	got, err := os.ReadFile(root + "/sysroot/etc/hello.txt")
	if err != nil || string(got) != "from the image\n" {
		t.Errorf("image file through the overlay = %q, %v", got, err)
	}
	if err := os.WriteFile(root+"/sysroot/var/lib/state", []byte("upper\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(root+"/sysroot/etc/new.txt", []byte("written\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{
		"/overlay/upper/var/lib/state":     "upper\n",
		"/overlay/upper/root/etc/new.txt":  "written\n",
		"/overlay/upper/root/etc/hostname": "host1\n",
		LowerDir + "/var/lib/state":        "lower\n",
	} {
		if got, err := os.ReadFile(root + p); err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", p, got, err, want)
		}
	}
	if err := os.WriteFile(root+LowerDir+"/x", nil, 0o644); !errors.Is(err, syscall.EROFS) {
		t.Errorf("write to the lower = %v, want EROFS", err)
	}
	env2, _ := os.ReadFile(root + "/sysroot" + NetworkEnv)
	if !strings.Contains(string(env2), "ADDRESS=198.18.0.9/24") {
		t.Errorf("network.env = %q", env2)
	}
	if !t.Failed() {
		t.Log("HOST-CHILD-OK")
	}
}
