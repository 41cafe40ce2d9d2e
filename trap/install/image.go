package install

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/plan"
	"github.com/disklesstrap/disklesstrap/trap/ramroot"
)

// UnpackedMarker records (in the trap's RAM) the image sha256 unpacked
// onto the disk this boot, so a re-run does not copy it twice.
const UnpackedMarker = "/run/dt/install/unpacked"

// Unpack is the "install image" step: the fetched image (ramroot's
// /run/dt/image, sha256 checked by the image fetch step) copied onto the
// disk's root at /sysroot. squashfs: losetup -r, mount at /run/dt/lower,
// `cp -a` of its contents, unmount, detach; tar / tar.zst: unpacked in Go
// (ramroot.Host.Unpack).
type Unpack struct {
	Image manifest.Image
	Root  string
}

// Name implements plan.Step.
func (s *Unpack) Name() string { return "install image" }

// String implements plan.Step.
func (s *Unpack) String() string {
	return fmt.Sprintf("copy %s (%s %s) onto the disk at %s", ramroot.ImagePath, s.Image.Name, s.Image.Format, NewRoot)
}

// Run implements plan.Step.
func (s *Unpack) Run(ctx context.Context, env *plan.Env) error {
	root := s.Root + NewRoot
	if ok, err := isMounted(env, root); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("nothing mounted at %s: run install partition first", NewRoot)
	}
	h := host(env)
	marker := s.Root + UnpackedMarker
	if b, err := h.ReadFile(marker); err == nil && strings.TrimSpace(string(b)) == s.Image.SHA256 {
		env.Logger().Info("image already on the disk (this boot)", "image", s.Image.Name)
		return nil
	}
	img := s.Root + ramroot.ImagePath
	if s.Image.Format == manifest.FormatSquashfs {
		if err := s.copySquashfs(ctx, env, img, root); err != nil {
			return err
		}
	} else if err := h.Unpack(ctx, img, s.Image.Format, root); err != nil {
		return fmt.Errorf("image %s: %w", s.Image.Name, err)
	}
	if err := env.Sys.MkdirAll(path.Dir(marker)); err != nil {
		return err
	}
	return env.Sys.WriteFile(marker, []byte(s.Image.SHA256+"\n"), 0o644)
}

func (s *Unpack) copySquashfs(ctx context.Context, env *plan.Env, img, root string) error {
	lower := s.Root + ramroot.LowerDir
	if ok, err := isMounted(env, lower); err != nil {
		return err
	} else if !ok {
		if err := ramroot.MountSquashfs(ctx, env, s.Image.Name, img, lower); err != nil {
			return err
		}
	}
	// cp -a skips a directory it cannot read without failing: read the
	// whole image first.
	n, err := host(env).CountTree(lower)
	if err != nil {
		return fmt.Errorf("image %s is damaged: %w", s.Image.Name, err)
	}
	env.Logger().Info("copying the image onto the disk", "image", s.Image.Name, "entries", n)
	if _, err := env.Run.Run(ctx, "cp", "-a", lower+"/.", root+"/"); err != nil {
		return fmt.Errorf("image %s onto %s: %w", s.Image.Name, NewRoot, err)
	}
	ms, err := mountsUnder(env, lower)
	if err != nil {
		return err
	}
	if err := env.Sys.Unmount(lower); err != nil {
		return err
	}
	for _, m := range ms {
		if m.MountPoint == lower && strings.HasPrefix(m.Source, "/dev/loop") {
			env.Run.Run(ctx, "losetup", "-d", m.Source) // best effort: the loop device only holds RAM
		}
	}
	return nil
}

// Fstab is the "install fstab" step: /sysroot/etc/fstab with every file
// system mounted under /sysroot, by UUID (blkid).
type Fstab struct {
	Root string
}

// Name implements plan.Step.
func (s *Fstab) Name() string { return "install fstab" }

// String implements plan.Step.
func (s *Fstab) String() string {
	return "write " + NewRoot + "/etc/fstab: the mounts under " + NewRoot + " by UUID"
}

// Run implements plan.Step.
func (s *Fstab) Run(ctx context.Context, env *plan.Env) error {
	root := s.Root + NewRoot
	fs, err := diskMounts(ctx, env, root)
	if err != nil {
		return err
	}
	if len(fs) == 0 || fs[0].Dir != "/" {
		return fmt.Errorf("fstab: nothing mounted at %s", NewRoot)
	}
	text := FstabText(fs)
	if err := env.Sys.MkdirAll(root + "/etc"); err != nil {
		return err
	}
	return env.Sys.WriteFile(root+"/etc/fstab", []byte(text), 0o644)
}

// Mounted is a disk file system mounted under /sysroot.
type Mounted struct {
	Dir    string // inside the new root: "/", "/boot/efi"
	Source string // /dev/vda3
	Type   string // ext4, vfat, xfs, ...
	UUID   string
}

var uuidRE = regexp.MustCompile(`(?m)(?:^|\s)UUID="?([0-9A-Fa-f-]+)"?`)

// diskMounts lists the block-device mounts under root with their UUIDs.
func diskMounts(ctx context.Context, env *plan.Env, root string) ([]Mounted, error) {
	ms, err := mountsUnder(env, root)
	if err != nil {
		return nil, err
	}
	var out []Mounted
	for _, m := range ms {
		if !strings.HasPrefix(m.Source, "/dev/") || strings.HasPrefix(m.Source, "/dev/loop") {
			continue // binds of /dev, /proc, /sys; the image's loop device
		}
		b, err := env.Run.Run(ctx, "blkid", "-o", "export", m.Source)
		if err != nil {
			return nil, fmt.Errorf("uuid of %s: %w", m.Source, err)
		}
		u := uuidRE.FindStringSubmatch(string(b))
		if u == nil {
			return nil, fmt.Errorf("uuid of %s: blkid printed none: %q", m.Source, strings.TrimSpace(string(b)))
		}
		dir := strings.TrimPrefix(m.MountPoint, root)
		if dir == "" {
			dir = "/"
		}
		out = append(out, Mounted{Dir: dir, Source: m.Source, Type: m.FSType, UUID: u[1]})
	}
	return out, nil
}

// FstabText renders fstab lines for fs (the root first).
func FstabText(fs []Mounted) string {
	var b strings.Builder
	b.WriteString("# written by DisklessTrap's install (trap install fstab)\n")
	for _, f := range fs {
		opts, pass := "defaults", "2"
		switch {
		case f.Dir == "/":
			opts, pass = "defaults,errors=remount-ro", "1"
		case f.Type == "vfat":
			opts = "umask=0077"
		}
		if f.Type != "ext2" && f.Type != "ext3" && f.Type != "ext4" && f.Type != "vfat" {
			pass = "0"
			if f.Dir == "/" {
				opts = "defaults"
			}
		}
		fmt.Fprintf(&b, "UUID=%s %s %s %s 0 %s\n", f.UUID, f.Dir, f.Type, opts, pass)
	}
	return b.String()
}
