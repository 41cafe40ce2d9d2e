package install

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/internal/golden"
	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/plan"
)

var (
	blankA = manifest.HardwareDisk{Name: "vda", Bytes: 16 << 30, Serial: "DT-A", ByPath: []string{"pci-0000:00:05.0"}, ByID: []string{"virtio-DT-A"}}
	smallB = manifest.HardwareDisk{Name: "vdb", Bytes: 4 << 30, Serial: "DT-B", ByPath: []string{"pci-0000:00:06.0"}, ByID: []string{"virtio-DT-B"}}
	usbC   = manifest.HardwareDisk{Name: "sda", Bytes: 8 << 30, Serial: "USB-C", Removable: true}
	usedD  = manifest.HardwareDisk{Name: "vdc", Bytes: 10 << 30, Serial: "DT-D", Partitions: []string{"vdc1", "vdc2"}, Signatures: []string{"gpt"}}
)

var quiet = slog.New(slog.DiscardHandler)

func testManifest() *manifest.Manifest {
	return &manifest.Manifest{
		Version: 1, Node: "cn001", Hostname: "cn001", Mode: manifest.ModeInstall, Server: "http://198.18.0.1:8080",
		Image:   &manifest.Image{Name: "compute", SHA256: strings.Repeat("ab", 32), Size: 42 << 20},
		Install: &manifest.Install{Disk: "smallest >= 8G", Cmdline: "console=ttyS0,115200", Postscript: "echo post $DT_DISK\n"},
		Network: &manifest.Network{Interface: "net0", MAC: "52:54:00:00:00:01", Address: "198.18.0.11/24"},
	}
}

func TestPlanText(t *testing.T) {
	p, err := Plan(testManifest())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range p {
		names = append(names, s.Name())
	}
	if strings.Join(names, ",") != strings.Join(StepNames, ",") {
		t.Errorf("plan steps %q, want %q", names, StepNames)
	}
	golden.Check(t, "testdata/plan.golden", p.String())
}

func TestPlanErrors(t *testing.T) {
	tests := []struct {
		name string
		edit func(m *manifest.Manifest)
		want string
	}{
		{"no install", func(m *manifest.Manifest) { m.Install = nil }, "needs an install section"},
		{"no image", func(m *manifest.Manifest) { m.Image = nil }, "needs an image"},
		{"bare sda", func(m *manifest.Manifest) { m.Install.Disk = "sda" }, `disk selector "sda": a kernel name`},
		{"bootloader", func(m *manifest.Manifest) { m.Install.Bootloader = "lilo" }, `bootloader "lilo"`},
		{"format", func(m *manifest.Manifest) { m.Image.Format = "zip" }, `format "zip"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := testManifest()
			tt.edit(m)
			if _, err := Plan(m); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Plan = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestChoose(t *testing.T) {
	all := []manifest.HardwareDisk{blankA, smallB, usbC, usedD}
	tests := []struct {
		sel, want, why, err string
	}{
		{sel: "serial:DT-B", want: "vdb", why: "serial:DT-B matches /dev/vdb, 4.0 GiB, serial DT-B, by-path pci-0000:00:06.0"},
		{sel: "by-id:virtio-DT-A", want: "vda"},
		{sel: "/dev/disk/by-path/pci-0000:00:06.0", want: "vdb"},
		{sel: "smallest >= 8G", want: "vdc", why: "smallest >= 8G: /dev/vdc, 10.0 GiB, serial DT-D of 2 qualifying disk(s) (also vda 16.0 GiB); not: vdb 4.0 GiB < 8G, sda removable"},
		{sel: "largest", want: "vda"},
		{sel: "smallest", want: "vdb"},
		{sel: "smallest >= 32G", err: "no disk qualifies (vda 16.0 GiB < 32G; vdb 4.0 GiB < 32G; sda removable; vdc 10.0 GiB < 32G)"},
		{sel: "serial:NOPE", err: "no disk matches (disks: vda 16.0 GiB serial DT-A; vdb 4.0 GiB serial DT-B; sda 8.0 GiB serial USB-C; vdc 10.0 GiB serial DT-D)"},
	}
	for _, tt := range tests {
		t.Run(tt.sel, func(t *testing.T) {
			sel, err := manifest.ParseDiskSelector(tt.sel)
			if err != nil {
				t.Fatal(err)
			}
			d, why, err := Choose(sel, all)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Choose = %v, want an error containing %q", err, tt.err)
				}
				return
			}
			if err != nil || d.Name != tt.want {
				t.Fatalf("Choose = %s, %v; want %s", d.Name, err, tt.want)
			}
			if tt.why != "" && why != tt.why {
				t.Errorf("why = %q\nwant  %q", why, tt.why)
			}
		})
	}
	dup := []manifest.HardwareDisk{blankA, blankA}
	if _, _, err := Choose(manifest.DiskSelector{Kind: "serial", Value: "DT-A"}, dup); err == nil || !strings.Contains(err.Error(), "2 disks match") {
		t.Errorf("two disks with one serial: %v", err)
	}
}

// run runs the plan's steps except image fetch and reboot (network) on
// the fake.
func run(t *testing.T, f *fake, m *manifest.Manifest, probe Prober) error {
	t.Helper()
	p, err := Plan(m)
	if err != nil {
		t.Fatal(err)
	}
	var steps plan.Plan
	for _, s := range p {
		switch s := s.(type) {
		case *DiskStep:
			s.Probe = probe
		case *Partition:
			s.Probe, s.Settle = probe, time.Second
		case *Bootloader:
			s.Probe = probe
		case *Postscript:
			s.Probe = probe
		case *Done:
			s.Probe = probe
		}
		if n := s.Name(); n != "image fetch" && n != "reboot" {
			steps = append(steps, s)
		}
	}
	var events []string
	env := &plan.Env{Manifest: m, Run: f, Sys: f, Log: quiet, Report: func(ev manifest.Event) {
		if ev.Phase != manifest.PhaseStepStart && ev.Phase != manifest.PhaseStepDone {
			events = append(events, ev.Phase+" "+ev.Message)
		}
	}}
	err = steps.Run(context.Background(), env, 0)
	f.record("events:\n%s", strings.Join(events, "\n"))
	return err
}

// grubImage makes the fake's /sysroot look like the disk OS image.
func grubImage(f *fake) {
	for _, p := range []string{"/sysroot/usr/sbin/grub-install", "/sysroot/usr/lib/grub/i386-pc", "/sysroot/usr/lib/grub/x86_64-efi"} {
		f.exists[p] = true
	}
	f.dirs["/sysroot/boot"] = []string{"efi", "vmlinuz-6.1.0-57-amd64", "initrd.img-6.1.0-57-amd64", "vmlinuz-6.1.0-9-amd64"}
}

// TestDefaultInstall: the whole plan on a blank disk, every command and
// file as text (testdata/default-install.golden).
func TestDefaultInstall(t *testing.T) {
	f := newFake()
	grubImage(f)
	if err := run(t, f, testManifest(), disks(smallB, blankA)); err != nil {
		t.Fatalf("install: %v\n%s", err, f.text())
	}
	golden.Check(t, "testdata/default-install.golden", f.text())
	if len(f.mounts) != 0 {
		t.Errorf("still mounted after install done: %v", f.mounts)
	}
}

// TestUsedDisk: a disk with partitions is refused (naming it and what is
// on it) and nothing runs; with install_wipe it is zapped first.
func TestUsedDisk(t *testing.T) {
	m := testManifest()
	m.Install.Disk = "serial:DT-D"
	f := newFake()
	err := run(t, f, m, disks(usedD))
	want := "disk /dev/vdc (/dev/vdc, 10.0 GiB, serial DT-D) holds partitions vdc1 vdc2, signatures gpt: not wiping it (set install_wipe: yes for cn001, or run `trap install partition --wipe` by hand)"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("install on a used disk = %v\nwant %s", err, want)
	}
	if regexp.MustCompile(`(?m)^(run|mount) `).MatchString(f.text()) {
		t.Errorf("something ran on the refused disk:\n%s", f.text())
	}
	// By hand, --wipe.
	step, err := Commands()["install partition"](m, []string{"--wipe"})
	if err != nil {
		t.Fatal(err)
	}
	step.(*Partition).Probe = disks(usedD)
	f = newFake()
	if err := step.Run(context.Background(), &plan.Env{Manifest: m, Run: f, Sys: f, Log: quiet}); err != nil {
		t.Fatal(err)
	}
	if got := f.text(); !strings.HasPrefix(got, "run sgdisk --zap-all /dev/vdc\nrun wipefs -a /dev/vdc\nrun sgdisk -n 1:0:+1M") {
		t.Errorf("--wipe did not zap the disk first:\n%s", got)
	}
	if _, err := Commands()["install partition"](m, []string{"--force"}); err == nil {
		t.Errorf("install partition --force accepted")
	}
}

// TestPartscript: the node's script replaces the layout, with DT_DISK;
// a failing one stops the install with its last output lines.
func TestPartscript(t *testing.T) {
	m := testManifest()
	m.Install.Partscript = "parted -s $DT_DISK mklabel gpt\nmount /dev/vda1 /sysroot\n"
	f := newFake()
	f.out["env"] = "ok\n"
	// The "script" mounts the root (the fake's env runs nothing).
	f.mounts = nil
	p := &Partition{Selector: manifest.DiskSelector{Kind: "size"}, Partscript: m.Install.Partscript, Node: "cn001", Probe: disks(blankA)}
	err := p.Run(context.Background(), &plan.Env{Manifest: m, Run: f, Sys: f, Log: quiet})
	if err == nil || !strings.Contains(err.Error(), "partscript finished but nothing is mounted at /sysroot") {
		t.Errorf("partscript that mounts nothing: %v", err)
	}
	if !strings.Contains(f.text(), "run env DT_DISK=/dev/vda DT_SYSROOT=/sysroot DT_NODE=cn001 PATH=/bin:/sbin:/usr/bin:/usr/sbin:/bbin /bin/sh /run/dt/install/partscript.sh") {
		t.Errorf("partscript not run with its environment:\n%s", f.text())
	}
	f = newFake()
	f.out["env"] = "line 1\nline 2\nsgdisk: cannot open /dev/vda\n"
	f.fail["env"] = errors.New("env DT_DISK=/dev/vda ...: exit status 3: lots of output")
	err = p.Run(context.Background(), &plan.Env{Manifest: m, Run: f, Sys: f, Log: quiet})
	want := "partscript exit status 3 (DT_DISK=/dev/vda); last output lines:\nline 1\nline 2\nsgdisk: cannot open /dev/vda"
	if err == nil || err.Error() != want {
		t.Errorf("failing partscript = %v\nwant %s", err, want)
	}
}

func TestBootloaderNeedsGrub(t *testing.T) {
	f := newFake()
	f.mounts = [][3]string{{"/dev/vda3", "/sysroot", "ext4"}}
	b := &Bootloader{Kind: manifest.BootloaderGrub, Selector: manifest.DiskSelector{Kind: "size"}, Probe: disks(blankA)}
	if err := b.Run(context.Background(), &plan.Env{Run: f, Sys: f, Log: quiet}); err == nil || !strings.Contains(err.Error(), "the image has no grub to install") {
		t.Errorf("bootloader without grub in the image: %v", err)
	}
	b.Kind = manifest.BootloaderNone
	if err := b.Run(context.Background(), &plan.Env{Run: f, Sys: f, Log: quiet}); err != nil {
		t.Errorf("bootloader none: %v", err)
	}
}

// TestReboot: the step reboots only once bootsrv's manifest says local.
func TestReboot(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/manifest/cn001" {
			http.NotFound(w, r)
			return
		}
		mode := "install"
		if calls.Add(1) >= 2 {
			mode = "local"
		}
		w.Write([]byte(`{"mode":"` + mode + `"}`))
	}))
	defer srv.Close()
	f := newFake()
	s := &Reboot{Server: srv.URL, Node: "cn001", Wait: 10 * time.Second}
	if err := s.Run(context.Background(), &plan.Env{Run: f, Sys: f, Log: quiet}); err != nil || !f.rebooted {
		t.Fatalf("reboot = %v, rebooted %v", err, f.rebooted)
	}
	f = newFake()
	s = &Reboot{Server: srv.URL, Node: "cn002", Wait: time.Second}
	err := s.Run(context.Background(), &plan.Env{Run: f, Sys: f, Log: quiet})
	if err == nil || !strings.Contains(err.Error(), "bootsrv did not switch cn002 to mode local") || f.rebooted {
		t.Errorf("reboot without local = %v, rebooted %v", err, f.rebooted)
	}
}

func TestVersionLess(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		less bool
	}{
		{"6.1.0-9-amd64", "6.1.0-57-amd64", true},
		{"6.1.0-57-amd64", "6.1.0-9-amd64", false},
		{"5.10.0-28-amd64", "6.1.0-1-amd64", true},
		{"6.1.0-57-amd64", "6.1.0-57-amd64", false},
		{"6.1", "6.1.0", true},
	} {
		if got := versionLess(tt.a, tt.b); got != tt.less {
			t.Errorf("versionLess(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.less)
		}
	}
}
