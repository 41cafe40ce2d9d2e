package install

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/plan"
)

// Bootloader is the "install bootloader" step (bootloader grub): with
// /dev, /proc and /sys bound into /sysroot, the image's own grub-install
// run through chroot, for BIOS (--target=i386-pc onto the disk: core.img
// in the BIOS boot partition) when the image has grub's i386-pc files,
// and for UEFI (--target=x86_64-efi --removable --no-nvram: the ESP's
// EFI/BOOT/BOOTX64.EFI, which firmware boots from the disk without an
// NVRAM entry, so the node's boot order keeps PXE first) when an ESP is
// mounted at /sysroot/boot/efi. Then grub.cfg: the image's grub-mkconfig
// (install_cmdline as GRUB_CMDLINE_LINUX) when it has one and
// /etc/grub.d, else one written here for the
// newest /boot/vmlinuz-* with root=UUID=. Bootloader none does nothing.
type Bootloader struct {
	Kind     string // manifest.BootloaderGrub or BootloaderNone
	Selector manifest.DiskSelector
	Cmdline  string
	Probe    Prober
	Root     string
}

// Name implements plan.Step.
func (s *Bootloader) Name() string { return "install bootloader" }

// String implements plan.Step.
func (s *Bootloader) String() string {
	if s.Kind == manifest.BootloaderNone {
		return "bootloader none (the postscript installs one)"
	}
	return "chroot " + NewRoot + " grub-install: i386-pc onto the disk, x86_64-efi --removable into the ESP; grub.cfg root=UUID"
}

var grubInstallPaths = []string{"/usr/sbin/grub-install", "/sbin/grub-install", "/usr/bin/grub-install"}

// Run implements plan.Step.
func (s *Bootloader) Run(ctx context.Context, env *plan.Env) (err error) {
	if s.Kind == manifest.BootloaderNone {
		env.Logger().Info("bootloader none: not installing one")
		return nil
	}
	h := host(env)
	root := s.Root + NewRoot
	d, _, err := Choose(s.Selector, probe(s.Probe, s.Root))
	if err != nil {
		return err
	}
	disk := "/dev/" + d.Name
	fs, err := diskMounts(ctx, env, root)
	if err != nil {
		return err
	}
	grub := ""
	for _, p := range grubInstallPaths {
		if h.Exists(root + p) {
			grub = p
			break
		}
	}
	bios := h.Exists(root + "/usr/lib/grub/i386-pc")
	efi := h.Exists(root+"/usr/lib/grub/x86_64-efi") && hasDir(fs, ESPMount)
	if grub == "" || !bios && !efi {
		return fmt.Errorf("the image has no grub to install (want %s and /usr/lib/grub/i386-pc or x86_64-efi with an ESP at %s): add grub to the image, or set bootloader: none and install one in the postscript",
			grubInstallPaths[0], ESPMount)
	}
	if err := s.writeConfig(ctx, env, root, fs); err != nil {
		return err
	}
	unbind, err := bind(env, root)
	defer func() {
		if uerr := unbind(); err == nil {
			err = uerr
		}
	}()
	if err != nil {
		return err
	}
	if bios {
		if _, err := env.Run.Run(ctx, "chroot", root, grub, "--target=i386-pc", "--boot-directory=/boot", disk); err != nil {
			return fmt.Errorf("grub for BIOS: %w", err)
		}
	}
	if efi {
		if _, err := env.Run.Run(ctx, "chroot", root, grub, "--target=x86_64-efi", "--efi-directory="+ESPMount,
			"--boot-directory=/boot", "--removable", "--no-nvram"); err != nil {
			return fmt.Errorf("grub for UEFI: %w", err)
		}
	}
	if h.Exists(root+"/usr/sbin/grub-mkconfig") && h.Exists(root+"/etc/grub.d") {
		// install_cmdline reaches the OS through grub-mkconfig's
		// GRUB_CMDLINE_LINUX (an image's /etc/default/grub may set its own).
		if _, err := env.Run.Run(ctx, "chroot", root, "/usr/bin/env", "GRUB_CMDLINE_LINUX="+s.Cmdline, "/usr/sbin/grub-mkconfig", "-o", "/boot/grub/grub.cfg"); err != nil {
			return fmt.Errorf("grub-mkconfig: %w", err)
		}
	}
	return nil
}

func hasDir(fs []Mounted, dir string) bool {
	for _, f := range fs {
		if f.Dir == dir {
			return true
		}
	}
	return false
}

// writeConfig writes /boot/grub/grub.cfg for the image's newest kernel
// (grub-mkconfig, when the image has it, replaces it afterwards).
func (s *Bootloader) writeConfig(ctx context.Context, env *plan.Env, root string, fs []Mounted) error {
	names, err := host(env).ReadDir(root + "/boot")
	if err != nil {
		return fmt.Errorf("list %s/boot: %w", NewRoot, err)
	}
	var kernels []string
	have := map[string]bool{}
	for _, n := range names {
		have[n] = true
		if strings.HasPrefix(n, "vmlinuz-") {
			kernels = append(kernels, strings.TrimPrefix(n, "vmlinuz-"))
		}
	}
	if len(kernels) == 0 {
		return fmt.Errorf("no /boot/vmlinuz-* in the image: a diskful image needs its kernel (or set bootloader: none)")
	}
	sort.Slice(kernels, func(i, j int) bool { return versionLess(kernels[i], kernels[j]) })
	kver := kernels[len(kernels)-1]
	initrd := ""
	if have["initrd.img-"+kver] {
		initrd = "initrd.img-" + kver
	}
	var rootFS, bootFS Mounted
	for _, f := range fs {
		switch f.Dir {
		case "/":
			rootFS = f
		case "/boot":
			bootFS = f
		}
	}
	if rootFS.UUID == "" {
		return fmt.Errorf("grub.cfg: no root file system under %s", NewRoot)
	}
	cfg := GrubConfig(rootFS, bootFS, kver, initrd, s.Cmdline)
	if err := env.Sys.MkdirAll(root + "/boot/grub"); err != nil {
		return err
	}
	return env.Sys.WriteFile(root+"/boot/grub/grub.cfg", []byte(cfg), 0o644)
}

// GrubConfig is the grub.cfg of an image without grub-mkconfig: serial and
// screen console, one entry booting the kernel with root=UUID=. bootFS is
// a separate /boot file system (zero when /boot is on the root).
func GrubConfig(rootFS, bootFS Mounted, kver, initrd, cmdline string) string {
	search, prefix := rootFS.UUID, "/boot/"
	if bootFS.UUID != "" {
		search, prefix = bootFS.UUID, "/"
	}
	var b strings.Builder
	b.WriteString("# written by DisklessTrap's install (trap install bootloader)\n")
	b.WriteString("serial --unit=0 --speed=115200\nterminal_input serial console\nterminal_output serial console\n")
	b.WriteString("set timeout=1\nset default=0\ninsmod part_gpt\ninsmod part_msdos\ninsmod ext2\ninsmod xfs\n")
	fmt.Fprintf(&b, "search --no-floppy --fs-uuid --set=root %s\n", search)
	fmt.Fprintf(&b, "menuentry 'Linux %s' {\n", kver)
	line := strings.TrimSpace(fmt.Sprintf("root=UUID=%s ro %s", rootFS.UUID, cmdline))
	fmt.Fprintf(&b, "\tlinux %svmlinuz-%s %s\n", prefix, kver, line)
	if initrd != "" {
		fmt.Fprintf(&b, "\tinitrd %s%s\n", prefix, initrd)
	}
	b.WriteString("}\n")
	return b.String()
}

// bind bind-mounts /dev, /proc and /sys into root (skipping ones already
// there) and returns the undo.
func bind(env *plan.Env, root string) (func() error, error) {
	var done []string
	undo := func() error {
		var first error
		for i := len(done) - 1; i >= 0; i-- {
			if err := env.Sys.Unmount(done[i]); err != nil && first == nil {
				first = err
			}
		}
		return first
	}
	for _, d := range []string{"/dev", "/proc", "/sys"} {
		target := path.Join(root, d)
		if ok, err := isMounted(env, target); err != nil {
			return undo, err
		} else if ok {
			continue
		}
		if err := env.Sys.MkdirAll(target); err != nil {
			return undo, err
		}
		if err := env.Sys.Mount(d, target, "", unix.MS_BIND, ""); err != nil {
			return undo, err
		}
		done = append(done, target)
	}
	return undo, nil
}

// versionLess compares kernel versions with their numbers as numbers
// ("6.1.0-9" < "6.1.0-57").
func versionLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := digits(a), digits(b)
		switch {
		case da > 0 && db > 0:
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if len(na) != len(nb) {
				return len(na) < len(nb)
			}
			if na != nb {
				return na < nb
			}
			a, b = a[da:], b[db:]
		case a[0] != b[0]:
			return a[0] < b[0]
		default:
			a, b = a[1:], b[1:]
		}
	}
	return len(a) < len(b)
}

func digits(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}
