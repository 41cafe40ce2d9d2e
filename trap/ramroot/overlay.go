package ramroot

import (
	"context"
	"fmt"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/plan"
)

// Overlay is the "overlay" step.
//
// squashfs image: attach it to a loop device with util-linux
// `losetup -f --show -r /run/dt/image` (through env.Run: the initramfs must
// ship util-linux losetup; u-root's and busybox's lack --show), mount the
// loop device read-only at /run/dt/lower, then for each mount point P an
// overlayfs at /sysroot+P with lowerdir=/run/dt/lower+P and upper/work
// dirs SCRATCH/upper/NAME, SCRATCH/work/NAME on the zram file system
// (NAME: "root" for "/", "var" for "/var", "var-lib" for "/var/lib").
//
// tar images: unpack into SCRATCH/root (a full RAM root) and bind-mount it
// at /sysroot; Overlays are not used.
//
// Every mount is skipped when its target is already a mount point.
type Overlay struct {
	Image    manifest.Image
	Overlays []string
	// Scratch is the zram mount holding upper/work (or the unpacked root).
	Scratch string
	// Root prefixes every path (tests).
	Root string
}

// Name implements plan.Step.
func (s *Overlay) Name() string { return "overlay" }

// String implements plan.Step.
func (s *Overlay) String() string {
	if s.Image.Format != manifest.FormatSquashfs {
		return fmt.Sprintf("unpack %s %s into %s/root, bind at %s", s.Image.Format, ImagePath, s.Scratch, NewRoot)
	}
	var ov []string
	for _, p := range s.Overlays {
		ov = append(ov, fmt.Sprintf("%s (upper %s/upper/%s)", path.Join(NewRoot, p), s.Scratch, OverlayName(p)))
	}
	return fmt.Sprintf("losetup -r %s, squashfs ro at %s; overlay %s", ImagePath, LowerDir, strings.Join(ov, ", "))
}

// Run implements plan.Step.
func (s *Overlay) Run(ctx context.Context, env *plan.Env) error {
	if s.Image.Format != manifest.FormatSquashfs {
		return s.runTar(ctx, env)
	}
	lower := s.Root + LowerDir
	ok, err := mounted(env, lower)
	if err != nil {
		return err
	}
	if !ok {
		if err := MountSquashfs(ctx, env, s.Image.Name, s.Root+ImagePath, lower); err != nil {
			return err
		}
	}
	for _, p := range s.Overlays {
		name := OverlayName(p)
		upper := s.Root + path.Join(s.Scratch, "upper", name)
		work := s.Root + path.Join(s.Scratch, "work", name)
		target := s.Root + path.Join(NewRoot, p)
		ok, err := mounted(env, target)
		if err != nil {
			return err
		}
		if ok {
			continue
		}
		opts, err := OverlayOptions(s.Root+path.Join(LowerDir, p), upper, work)
		if err != nil {
			return fmt.Errorf("overlay %s: %w", p, err)
		}
		for _, d := range []string{upper, work, target} {
			if err := env.Sys.MkdirAll(d); err != nil {
				return fmt.Errorf("overlay %s: %w", p, err)
			}
		}
		if err := env.Sys.Mount("overlay", target, "overlay", 0, opts); err != nil {
			return fmt.Errorf("overlay %s: %w", p, err)
		}
	}
	return nil
}

func (s *Overlay) runTar(ctx context.Context, env *plan.Env) error {
	target := s.Root + NewRoot
	if ok, err := mounted(env, target); err != nil || ok {
		return err
	}
	dir := s.Root + path.Join(s.Scratch, "root")
	marker := s.Root + path.Join(s.Scratch, ".dt-unpacked")
	h := host(env)
	if !h.Exists(marker) {
		if err := env.Sys.MkdirAll(dir); err != nil {
			return err
		}
		if err := h.Unpack(ctx, s.Root+ImagePath, s.Image.Format, dir); err != nil {
			return fmt.Errorf("image %s: %w", s.Image.Name, err)
		}
		if err := env.Sys.WriteFile(marker, []byte(s.Image.SHA256+"\n"), 0o644); err != nil {
			return err
		}
	}
	if err := env.Sys.MkdirAll(target); err != nil {
		return err
	}
	if err := env.Sys.Mount(dir, target, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("image %s: %w", s.Image.Name, err)
	}
	return nil
}

// OverlayName is the upper/work directory name of mount point p:
// "root" for "/", else the path without slashes at the ends and the
// inner slashes as "-" ("/var/lib" -> "var-lib").
func OverlayName(p string) string {
	p = strings.Trim(path.Clean("/"+p), "/")
	if p == "" {
		return "root"
	}
	return strings.ReplaceAll(p, "/", "-")
}

// OverlayOptions builds the overlayfs mount data. Paths containing the
// option separators ',' or ':' (or a backslash, or a newline) are
// refused rather than escaped.
func OverlayOptions(lower, upper, work string) (string, error) {
	for _, p := range []struct{ k, v string }{{"lowerdir", lower}, {"upperdir", upper}, {"workdir", work}} {
		if p.v == "" || !strings.HasPrefix(p.v, "/") {
			return "", fmt.Errorf("%s %q: want an absolute path", p.k, p.v)
		}
		if strings.ContainsAny(p.v, ",:\\\n") {
			return "", fmt.Errorf("%s %q: contains ',', ':', '\\' or a newline", p.k, p.v)
		}
	}
	return "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work, nil
}

// MountSquashfs attaches the squashfs image file to a read-only loop device
// (util-linux `losetup -f --show -r`) and mounts it read-only at dir.
func MountSquashfs(ctx context.Context, env *plan.Env, name, image, dir string) error {
	if err := env.Sys.MkdirAll(dir); err != nil {
		return err
	}
	out, err := env.Run.Run(ctx, "losetup", "-f", "--show", "-r", image)
	if err != nil {
		return fmt.Errorf("image %s: %w", name, err)
	}
	dev := strings.TrimSpace(string(out))
	if !strings.HasPrefix(dev, "/dev/") {
		return fmt.Errorf("image %s: losetup printed %q, want /dev/loopN", name, dev)
	}
	if err := env.Sys.Mount(dev, dir, "squashfs", unix.MS_RDONLY, ""); err != nil {
		return fmt.Errorf("image %s: %w", name, err)
	}
	return nil
}
