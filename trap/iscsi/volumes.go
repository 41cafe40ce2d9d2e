package iscsi

import (
	"context"
	"fmt"
	"path"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/dmmap"
	"github.com/disklesstrap/disklesstrap/trap/plan"
	"github.com/disklesstrap/disklesstrap/trap/ramroot"
)

// LVMConf is the lvm.conf the lvm step writes: no udev (there is none),
// device nodes made by lvm itself, every activated VG read-only.
const LVMConf = "/etc/lvm/lvm.conf"

// Partitions is the "partitions" step: read the GPT of the opened disk
// and create a read-only linear map NAME<N> per partition (kpartx's
// naming: luks_root1, luks_root2, ...).
type Partitions struct {
	Config manifest.ISCSI
}

// Name implements plan.Step.
func (s *Partitions) Name() string { return "partitions" }

// String implements plan.Step.
func (s *Partitions) String() string {
	return fmt.Sprintf("GPT of %s -> read-only linear maps %sN", topName(&s.Config), topName(&s.Config))
}

func topName(c *manifest.ISCSI) string {
	if c.LUKS != nil {
		return luksName(c)
	}
	if multipath(c) {
		return MultipathName
	}
	return "sdX"
}

// Run implements plan.Step.
func (s *Partitions) Run(ctx context.Context, env *plan.Env) error {
	st := storage(env)
	dev, name, err := topDevice(ctx, st, &s.Config)
	if err != nil {
		return err
	}
	parts, err := st.Partitions(dev)
	if err != nil {
		return fmt.Errorf("partitions of %s: %w", dev, err)
	}
	if len(parts) == 0 {
		return fmt.Errorf("partitions of %s: no GPT partitions", dev)
	}
	devno := dev
	if d, err := st.DMDevno(name); err == nil {
		devno = d
	}
	for _, p := range parts {
		pn := name + strconv.Itoa(p.Number)
		t := dmmap.LinearTarget(p.Length, devno, p.Start)
		if err := st.DMCreate(pn, "part"+strconv.Itoa(p.Number)+"-"+name, true, []dmmap.Target{t}); err != nil {
			return err
		}
	}
	return nil
}

// LVM is the "lvm" step: write an lvm.conf without udev and with the
// volume groups in read_only_volume_list, then `lvm vgchange -ay
// --sysinit VG...`.
type LVM struct {
	Config manifest.ISCSI
	Root   string
}

// Name implements plan.Step.
func (s *LVM) Name() string { return "lvm" }

// String implements plan.Step.
func (s *LVM) String() string {
	if len(s.Config.VolumeGroups) == 0 {
		return "no volume groups: none"
	}
	return "vgchange -ay --sysinit " + strings.Join(s.Config.VolumeGroups, " ") + " (read-only, no udev)"
}

// LVMConfText renders lvm.conf for vgs.
func LVMConfText(vgs []string) string {
	q := make([]string, len(vgs))
	for i, v := range vgs {
		q[i] = strconv.Quote(v)
	}
	return "# Written by the DisklessTrap agent.\n" +
		"devices { obtain_device_list_from_udev = 0 external_device_info_source = \"none\" }\n" +
		"activation { udev_sync = 0 udev_rules = 0 verify_udev_operations = 1 monitoring = 0 read_only_volume_list = [ " + strings.Join(q, ", ") + " ] }\n" +
		"global { use_lvmetad = 0 event_activation = 0 }\nbackup { backup = 0 archive = 0 }\n"
}

// Run implements plan.Step.
func (s *LVM) Run(ctx context.Context, env *plan.Env) error {
	vgs := s.Config.VolumeGroups
	if len(vgs) == 0 {
		return nil
	}
	if err := env.Sys.MkdirAll(path.Dir(s.Root + LVMConf)); err != nil {
		return err
	}
	if err := env.Sys.WriteFile(s.Root+LVMConf, []byte(LVMConfText(vgs)), 0o644); err != nil {
		return err
	}
	args := append([]string{"vgchange", "-ay", "--sysinit"}, vgs...)
	if _, err := env.Run.Run(ctx, "lvm", args...); err != nil {
		return fmt.Errorf("activate %s: %w", strings.Join(vgs, " "), err)
	}
	return nil
}

// ReadOnly is the "readonly" step: `blockdev --setro` on every device the
// lower layers come from (the Ocean recipe's workaround for dm devices
// that do not inherit read-only), plus the LUKS map (luks.go cannot map
// read-only).
type ReadOnly struct {
	Config manifest.ISCSI
}

// Name implements plan.Step.
func (s *ReadOnly) Name() string { return "readonly" }

// String implements plan.Step.
func (s *ReadOnly) String() string {
	return "blockdev --setro " + strings.Join(roNames(&s.Config), " ")
}

func roNames(c *manifest.ISCSI) []string {
	var names []string
	if c.LUKS != nil {
		names = append(names, luksName(c))
	}
	for _, m := range mounts(c) {
		if n, err := mapName(c, m.Device); err == nil {
			names = append(names, n)
		}
	}
	return names
}

// Run implements plan.Step.
func (s *ReadOnly) Run(ctx context.Context, env *plan.Env) error {
	st := storage(env)
	for _, n := range roNames(&s.Config) {
		d, err := st.DMDevno(n)
		if err != nil {
			return err
		}
		if _, err := env.Run.Run(ctx, "blockdev", "--setro", DevPath(d)); err != nil {
			return fmt.Errorf("setro %s: %w", n, err)
		}
	}
	return nil
}

// DefaultMounts are the Ocean layout's lower layers.
var DefaultMounts = []manifest.ISCSIMount{{Device: "part:1", Path: "/"}, {Device: "lv:system/var", Path: "/var"}}

func mounts(c *manifest.ISCSI) []manifest.ISCSIMount {
	if len(c.Mounts) > 0 {
		return c.Mounts
	}
	return DefaultMounts
}

// mapName is the dm name of a mount's device: part:N -> TOPN; lv:VG/LV ->
// VG-LV with '-' doubled inside names (LVM's escaping).
func mapName(c *manifest.ISCSI, dev string) (string, error) {
	if n, ok := strings.CutPrefix(dev, "part:"); ok {
		if i, err := strconv.Atoi(n); err != nil || i < 1 {
			return "", fmt.Errorf("device %q: bad partition number", dev)
		}
		return topName(c) + n, nil
	}
	if v, ok := strings.CutPrefix(dev, "lv:"); ok {
		vg, lv, ok := strings.Cut(v, "/")
		if !ok || vg == "" || lv == "" {
			return "", fmt.Errorf("device %q: want lv:VG/LV", dev)
		}
		return strings.ReplaceAll(vg, "-", "--") + "-" + strings.ReplaceAll(lv, "-", "--"), nil
	}
	return "", fmt.Errorf("device %q: want part:N or lv:VG/LV", dev)
}

// Lower is the "lower" step: mount each lower layer read-only at
// ramroot.LowerDir+Path ("/" first), so ramroot's overlay step finds
// its lower directory already mounted and only builds the overlays.
type Lower struct {
	Config manifest.ISCSI
	Root   string
}

// Name implements plan.Step.
func (s *Lower) Name() string { return "lower" }

// String implements plan.Step.
func (s *Lower) String() string {
	var parts []string
	for _, m := range mounts(&s.Config) {
		n, _ := mapName(&s.Config, m.Device)
		parts = append(parts, fmt.Sprintf("%s ro at %s", n, path.Join(ramroot.LowerDir, m.Path)))
	}
	return strings.Join(parts, ", ")
}

// Run implements plan.Step.
func (s *Lower) Run(ctx context.Context, env *plan.Env) error {
	st := storage(env)
	mi, err := st.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return fmt.Errorf("read mountinfo: %w", err)
	}
	mis, err := ramroot.ParseMountinfo(mi)
	if err != nil {
		return err
	}
	for _, m := range mounts(&s.Config) {
		target := s.Root + path.Join(ramroot.LowerDir, m.Path)
		done := false
		for _, x := range mis {
			done = done || x.MountPoint == target
		}
		if done {
			continue
		}
		n, err := mapName(&s.Config, m.Device)
		if err != nil {
			return err
		}
		d, err := st.DMDevno(n)
		if err != nil {
			return err
		}
		if err := env.Sys.MkdirAll(target); err != nil {
			return err
		}
		fss := []string{"ext4", "xfs"}
		if m.FS != "" {
			fss = []string{m.FS}
		}
		var errs []string
		for _, fs := range fss {
			if err = env.Sys.Mount(DevPath(d), target, fs, unix.MS_RDONLY, ""); err == nil {
				break
			}
			errs = append(errs, fs+": "+err.Error())
		}
		if err != nil {
			return fmt.Errorf("mount %s at %s: %s", n, target, strings.Join(errs, "; "))
		}
	}
	return nil
}
