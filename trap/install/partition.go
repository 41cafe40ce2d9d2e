package install

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/plan"
)

// The default layout (no partscript): GPT with a BIOS boot partition
// (grub's core.img on BIOS), an EFI system partition and the root, so one
// disk boots both ways.
const (
	BIOSBootSize = "1M"
	ESPSize      = "128M"
	PartBIOS     = 1
	PartESP      = 2
	PartRoot     = 3
	ESPMount     = "/boot/efi"
	// PartscriptFile is where the node's partscript is written to run.
	PartscriptFile = "/run/dt/install/partscript.sh"
)

// Partition is the "install partition" step. It refuses a disk holding
// partitions or a file-system signature unless Wipe (install_wipe: yes, or
// `trap install partition --wipe`); then it clears the disk (sgdisk
// --zap-all, wipefs -a). Without a partscript it makes the default layout
// (sgdisk), formats it (mkfs.vfat, mkfs.ext4) and mounts the root at
// /sysroot and the ESP at /sysroot/boot/efi; with one it runs it with
// DT_DISK and DT_SYSROOT, and checks it mounted something at /sysroot.
// A /sysroot already mounted (this boot) is success.
type Partition struct {
	Selector   manifest.DiskSelector
	Wipe       bool
	Partscript string
	Node       string
	Probe      Prober
	Root       string
	// Settle is how long to wait for partition device nodes; 0 is 15 s.
	Settle time.Duration
}

// Name implements plan.Step.
func (s *Partition) Name() string { return "install partition" }

// String implements plan.Step.
func (s *Partition) String() string {
	w := "refuse a disk with partitions or signatures"
	if s.Wipe {
		w = "wipe the disk"
	}
	if s.Partscript != "" {
		return fmt.Sprintf("%s; partscript (%d bytes) with DT_DISK, root at %s", w, len(s.Partscript), NewRoot)
	}
	return fmt.Sprintf("%s; GPT: %s BIOS boot, %s ESP (vfat), rest root (ext4); root at %s, ESP at %s%s",
		w, BIOSBootSize, ESPSize, NewRoot, NewRoot, ESPMount)
}

// Run implements plan.Step.
func (s *Partition) Run(ctx context.Context, env *plan.Env) error {
	root := s.Root + NewRoot
	if ok, err := isMounted(env, root); err != nil {
		return err
	} else if ok {
		env.Logger().Info("root already mounted; partitioning done in this boot", "root", root)
		return nil
	}
	d, why, err := Choose(s.Selector, probe(s.Probe, s.Root))
	if err != nil {
		return err
	}
	dev := s.Root + "/dev/" + d.Name
	env.Logger().Info("install disk", "disk", dev, "why", why)
	if c := Contents(d); c != "" {
		if !s.Wipe {
			return fmt.Errorf("disk %s (%s) holds %s: not wiping it (set install_wipe: yes for %s, or run `trap install partition --wipe` by hand)",
				dev, Describe(d), c, s.Node)
		}
		env.Logger().Warn("wiping disk", "disk", dev, "holds", c)
		progress(env, s.Name(), fmt.Sprintf("wiping %s (held %s)", dev, c), map[string]string{"disk": dev})
		if _, err := env.Run.Run(ctx, "sgdisk", "--zap-all", dev); err != nil {
			return fmt.Errorf("wipe %s: %w", dev, err)
		}
		if _, err := env.Run.Run(ctx, "wipefs", "-a", dev); err != nil {
			return fmt.Errorf("wipe %s: %w", dev, err)
		}
	}
	if s.Partscript != "" {
		if err := runScript(ctx, env, "partscript", s.Root+PartscriptFile, s.Partscript, scriptEnv(dev, s.Node)); err != nil {
			return err
		}
		if ok, err := isMounted(env, root); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("partscript finished but nothing is mounted at %s (it must mount the new root there)", NewRoot)
		}
		return nil
	}
	return s.defaultLayout(ctx, env, d.Name, dev)
}

func (s *Partition) defaultLayout(ctx context.Context, env *plan.Env, name, dev string) error {
	args := []string{
		"-n", fmt.Sprintf("%d:0:+%s", PartBIOS, BIOSBootSize), "-t", fmt.Sprintf("%d:EF02", PartBIOS), "-c", fmt.Sprintf("%d:bios-boot", PartBIOS),
		"-n", fmt.Sprintf("%d:0:+%s", PartESP, ESPSize), "-t", fmt.Sprintf("%d:EF00", PartESP), "-c", fmt.Sprintf("%d:esp", PartESP),
		"-n", fmt.Sprintf("%d:0:0", PartRoot), "-t", fmt.Sprintf("%d:8304", PartRoot), "-c", fmt.Sprintf("%d:root", PartRoot),
		dev,
	}
	if _, err := env.Run.Run(ctx, "sgdisk", args...); err != nil {
		return fmt.Errorf("partition %s: %w", dev, err)
	}
	esp, rootDev := s.Root+partDev(name, PartESP), s.Root+partDev(name, PartRoot)
	settle := s.Settle
	if settle == 0 {
		settle = 15 * time.Second
	}
	if err := waitExists(ctx, env, settle, esp, rootDev); err != nil {
		return fmt.Errorf("partition %s: %w", dev, err)
	}
	if _, err := env.Run.Run(ctx, "mkfs.vfat", "-F", "32", "-n", "ESP", esp); err != nil {
		return fmt.Errorf("format ESP: %w", err)
	}
	// grub 2.06 cannot read ext4's metadata_csum_seed and orphan_file.
	if _, err := env.Run.Run(ctx, "mkfs.ext4", "-F", "-q", "-L", "root", "-O", "^metadata_csum_seed,^orphan_file", rootDev); err != nil {
		return fmt.Errorf("format root: %w", err)
	}
	root := s.Root + NewRoot
	if err := env.Sys.MkdirAll(root); err != nil {
		return err
	}
	if err := env.Sys.Mount(rootDev, root, "ext4", 0, ""); err != nil {
		return err
	}
	if err := env.Sys.MkdirAll(root + ESPMount); err != nil {
		return err
	}
	// quiet: the image copy's `cp -a` may chmod/chown the ESP's root,
	// which FAT cannot store.
	if err := env.Sys.Mount(esp, root+ESPMount, "vfat", unix.MS_NOATIME, "umask=0077,quiet"); err != nil {
		return err
	}
	return nil
}
