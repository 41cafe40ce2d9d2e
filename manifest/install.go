package manifest

import (
	"fmt"
	"path"
	"strconv"
	"strings"
)

// Diskful install (mode install): what bootsrv tells the agent about the
// node's disk, scripts and bootloader. The image is Manifest.Image (the
// registry's, fetched as mode ramroot fetches it) and the node's identity
// is Manifest.Sysroot, as for ramroot.

// Install is the install section of a manifest.
type Install struct {
	// Disk is the disk selector (see ParseDiskSelector): "serial:S",
	// "by-id:NAME", "by-path:NAME" (or the /dev/disk/by-… path), or a size
	// rule "smallest >= 8G", "largest". Never a kernel name like sda.
	Disk string `json:"disk"`
	// Wipe allows the install to destroy partitions and file-system
	// signatures already on the disk (inventory install_wipe: yes).
	Wipe bool `json:"wipe,omitempty"`
	// Bootloader is BootloaderGrub (default) or BootloaderNone.
	Bootloader string `json:"bootloader,omitempty"`
	// Partscript replaces the default layout: a shell script run with
	// DT_DISK set to the chosen disk and DT_SYSROOT=/sysroot, which it
	// must partition, format and mount (the root at /sysroot).
	Partscript string `json:"partscript,omitempty"`
	// Postscript runs after the bootloader with the same environment.
	Postscript string `json:"postscript,omitempty"`
	// Cmdline is appended to the installed OS's kernel command line in the
	// grub.cfg the agent writes (e.g. "console=ttyS0,115200").
	Cmdline string `json:"cmdline,omitempty"`
}

// Bootloaders.
const (
	BootloaderGrub = "grub" // grub-install in a chroot, BIOS (i386-pc) and UEFI (x86_64-efi)
	BootloaderNone = "none" // the postscript installs one, or the disk is not bootable
)

// Event phases of mode install and mode service.
const (
	// PhaseInstallDone: the install finished; Data: disk, image, sha256.
	// bootsrv switches the node to mode local (persistent) on it.
	PhaseInstallDone = "install-done"
	// PhaseInventory: a hardware report (mode service, install); Data:
	// "inventory" = the trap/hwinfo JSON. bootsrv keeps the latest.
	PhaseInventory = "inventory"
)

// DiskSelector is a parsed install_disk value.
type DiskSelector struct {
	// Kind is "serial", "by-id", "by-path" or "size".
	Kind string
	// Value is the serial or the by-id/by-path link name.
	Value string
	// Largest picks the largest disk of the size rule (else the smallest).
	Largest bool
	// MinBytes is the size rule's lower bound (0: any size).
	MinBytes int64
}

// String is the canonical form of the selector.
func (d DiskSelector) String() string {
	if d.Kind != "size" {
		return d.Kind + ":" + d.Value
	}
	s := "smallest"
	if d.Largest {
		s = "largest"
	}
	if d.MinBytes > 0 {
		s += " >= " + FormatSize(d.MinBytes)
	}
	return s
}

// ParseDiskSelector parses an install_disk value:
//
//	serial:SERIAL                       the disk whose serial is SERIAL
//	by-id:NAME   /dev/disk/by-id/NAME   udev's by-id name (virtio-SERIAL, ata-MODEL_SERIAL, wwn-…)
//	by-path:NAME /dev/disk/by-path/NAME udev's by-path name (pci-0000:00:05.0, virtio-pci-…)
//	smallest [>= SIZE]                  the smallest non-removable disk of at least SIZE
//	largest [>= SIZE]                   the largest one
//
// SIZE is bytes or a number with K/M/G/T (powers of 1024, optional "iB").
// A kernel name (sda, /dev/vda, nvme0n1) is refused: it can name another
// disk on the next boot.
func ParseDiskSelector(s string) (DiskSelector, error) {
	t := strings.TrimSpace(s)
	for _, p := range []struct{ prefix, kind string }{
		{"serial:", "serial"}, {"by-id:", "by-id"}, {"by-path:", "by-path"},
		{"/dev/disk/by-id/", "by-id"}, {"/dev/disk/by-path/", "by-path"},
	} {
		if v, ok := strings.CutPrefix(t, p.prefix); ok {
			if v == "" || strings.ContainsAny(v, " \t/\\") || v == "." || v == ".." || !printable(v) {
				return DiskSelector{}, fmt.Errorf("disk selector %q: %s needs a name without spaces or slashes", s, p.kind)
			}
			return DiskSelector{Kind: p.kind, Value: v}, nil
		}
	}
	f := strings.Fields(strings.ReplaceAll(t, ">=", " >= "))
	if len(f) == 0 {
		return DiskSelector{}, fmt.Errorf("disk selector is empty (want serial:S, by-id:NAME, by-path:NAME or \"smallest >= 8G\")")
	}
	d := DiskSelector{Kind: "size"}
	switch f[0] {
	case "smallest":
	case "largest":
		d.Largest = true
	default:
		if strings.HasPrefix(t, "/dev/") || !strings.Contains(t, ":") {
			return DiskSelector{}, fmt.Errorf("disk selector %q: a kernel name can move to another disk between boots; use serial:S, by-id:NAME, by-path:NAME or a size rule such as \"smallest >= 8G\"", s)
		}
		return DiskSelector{}, fmt.Errorf("disk selector %q: want serial:S, by-id:NAME, by-path:NAME, \"smallest >= SIZE\" or \"largest\"", s)
	}
	switch {
	case len(f) == 1:
	case len(f) == 3 && f[1] == ">=":
		n, err := ParseSize(f[2])
		if err != nil {
			return DiskSelector{}, fmt.Errorf("disk selector %q: %w", s, err)
		}
		d.MinBytes = n
	default:
		return DiskSelector{}, fmt.Errorf("disk selector %q: want %s or \"%s >= SIZE\"", s, f[0], f[0])
	}
	return d, nil
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x21 || r == 0x7f {
			return false
		}
	}
	return true
}

// ParseSize parses bytes or a number with a K/M/G/T suffix (powers of
// 1024; an optional trailing "B" or "iB").
func ParseSize(s string) (int64, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	u = strings.TrimSuffix(u, "IB")
	u = strings.TrimSuffix(u, "B")
	shift := 0
	if n := len(u); n > 0 {
		if i := strings.IndexByte("KMGT", u[n-1]); i >= 0 {
			shift = 10 * (i + 1)
			u = u[:n-1]
		}
	}
	n, err := strconv.ParseInt(u, 10, 64)
	if err != nil || n <= 0 || u[0] == '+' {
		return 0, fmt.Errorf("size %q: want a positive number of bytes or a K/M/G/T suffix, e.g. 8G", s)
	}
	if n > (1<<62)>>shift {
		return 0, fmt.Errorf("size %q: too large", s)
	}
	return n << shift, nil
}

// FormatSize prints n bytes the way ParseSize reads them, in the largest
// unit that divides it ("8G", "512M", "1000").
func FormatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		shift  uint
	}{{"T", 40}, {"G", 30}, {"M", 20}, {"K", 10}} {
		if n >= 1<<u.shift && n%(1<<u.shift) == 0 {
			return strconv.FormatInt(n>>u.shift, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// ScriptFilePrefix marks a partscript/postscript attribute that names a
// file under bootsrv's data folder (DATA/scripts/NAME) instead of holding
// the script inline.
const ScriptFilePrefix = "file:"

// ScriptFile returns the file a script attribute names ("file:NAME" ->
// "NAME", a clean relative path), or ok false for an inline script.
func ScriptFile(v string) (name string, ok bool, err error) {
	name, ok = strings.CutPrefix(strings.TrimSpace(v), ScriptFilePrefix)
	if !ok {
		return "", false, nil
	}
	if name == "" || strings.HasPrefix(name, "/") || path.Clean(name) != name || name == ".." || strings.HasPrefix(name, "../") || !printable(name) {
		return "", true, fmt.Errorf("script file %q: want a clean relative path under the data folder's scripts/", name)
	}
	return name, true, nil
}
