package initrd

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DefaultAgent is the Go package of the trap agent, installed as /init.
const DefaultAgent = "github.com/disklesstrap/disklesstrap/cmd/trap"

// DefaultUrootCommands are the u-root commands built into /bbin by default.
// busybox provides the shell and most tools; these are the Go ones the
// trap's users expect next to it.
var DefaultUrootCommands = []string{
	"github.com/u-root/u-root/cmds/core/cat",
	"github.com/u-root/u-root/cmds/core/dmesg",
	"github.com/u-root/u-root/cmds/core/ip",
	"github.com/u-root/u-root/cmds/core/ls",
	"github.com/u-root/u-root/cmds/core/mount",
}

// DefaultHostBinaries are host binaries copied with their libraries:
// busybox for the shell and tools, util-linux losetup (the ramroot plan
// needs `losetup -f --show -r`, which busybox lacks) and mkfs.xfs for the
// zram scratch filesystem (the seed's choice).
var DefaultHostBinaries = []string{"/bin/busybox", "/sbin/losetup", "/sbin/mkfs.xfs"}

// DefaultModules are the kernel modules a trap for network boot and
// stateless nodes carries (each with its modules.dep dependencies): NICs,
// then what zram + overlay roots need. crc32c_generic comes before xfs:
// libcrc32c needs a crc32c implementation and crc32c-intel does not load on
// every CPU (QEMU's default qemu64 among them).
var DefaultModules = []string{
	"virtio_net", "virtio_pci", "e1000", "e1000e",
	"crc32c_generic", "zram", "zstd", "loop", "squashfs", "overlay", "xfs", "ext4",
}

// BMCModules are the kernel's OpenIPMI driver and /dev/ipmi0 (KCS/SMIC/BT
// system interfaces), loaded by the agent only for setupbmc: yes.
var BMCModules = []string{"ipmi_msghandler", "ipmi_si", "ipmi_devintf"}

// ISCSIModules are the kernel modules of mode iscsi (trapctl initrd build
// --iscsi), on top of DefaultModules: the iSCSI initiator and SCSI disk
// driver, device-mapper with multipath and its path selectors, and
// dm-crypt with the AES-XTS mode.
var ISCSIModules = []string{
	"iscsi_tcp", "sd_mod", "dm_mod", "dm_multipath", "dm_service_time", "dm_round_robin",
	"dm_crypt", "xts", "ecb",
}

// StateliteModules are mode statelite's kernel modules (trapctl initrd
// build --statelite), on top of DefaultModules: the kernel NFS client,
// which the agent mounts with mount(2) and NFSv4 text options (no
// mount.nfs); modules.dep brings sunrpc, lockd, grace, fscache, netfs and
// dns_resolver.
var StateliteModules = []string{"nfsv4"}

// ISCSIHostBinaries are the host programs the iscsi steps run, on top of
// DefaultHostBinaries: open-iscsi's iscsid and iscsiadm, lvm and blockdev.
// (dm-multipath, LUKS and the partition maps are the agent's own Go.)
var ISCSIHostBinaries = []string{"/usr/sbin/iscsid", "/usr/sbin/iscsiadm", "/usr/sbin/lvm", "/usr/sbin/blockdev"}

// InstallModules are the kernel modules of mode install (trapctl initrd
// build --install), on top of DefaultModules: disk drivers (virtio-blk,
// AHCI, SCSI disks, NVMe) and the ESP's vfat with its code pages.
var InstallModules = []string{"virtio_blk", "ahci", "sd_mod", "nvme", "vfat", "nls_cp437", "nls_ascii", "nls_utf8"}

// InstallHostBinaries are the host programs the install steps run, on top
// of DefaultHostBinaries: gdisk's sgdisk (default layout, --zap-all),
// mkfs.vfat and mkfs.ext4, util-linux wipefs and blkid (fstab UUIDs).
var InstallHostBinaries = []string{"/sbin/sgdisk", "/sbin/mkfs.vfat", "/sbin/mkfs.ext4", "/sbin/wipefs", "/sbin/blkid"}

// DefaultBusyboxApplets get a /bin symlink to busybox when busybox is among
// the host binaries and (when it can be asked) implements them.
var DefaultBusyboxApplets = []string{
	"[", "ash", "awk", "basename", "blkid", "cat", "chmod", "chown", "chroot",
	"clear", "cp", "cpio", "cut", "date", "dd", "df", "dirname", "dmesg", "du",
	"echo", "env", "false", "find", "free", "grep", "gunzip", "gzip", "head",
	"hexdump", "hostname", "id", "ifconfig", "insmod", "ip", "kill", "less",
	"ln", "losetup", "ls", "lsmod", "md5sum", "mkdir", "mknod", "more",
	"mount", "mv", "nc", "nslookup", "od", "ping", "printf", "ps", "pwd",
	"readlink", "realpath", "reset", "rm", "rmdir", "rmmod", "route", "sed",
	"seq", "setsid", "sh", "sha256sum", "sleep", "sort", "stat", "stty",
	"sync", "tail", "tar", "tee", "test", "timeout", "top", "touch", "tr",
	"true", "tty", "udhcpc", "umount", "uname", "uniq", "vi", "watch", "wc",
	"wget", "which", "xargs", "zcat",
}

// TorrentHelper is the BitTorrent helper the ramroot image fetch step runs
// for `transport: torrent` (kept out of the agent: it links the torrent
// library).
const TorrentHelper = "github.com/disklesstrap/disklesstrap/cmd/trap-torrent"

// AgentConfigPath is where Config.AgentConfig lands in the image.
const AgentConfigPath = "etc/trap/config.json"

// BootsrvCertPath is where the pinned bootsrv TLS certificate goes (as a
// File): the agent trusts it, and nothing else, for secret pulls
// (trap/iscsi.PinnedCertPath).
const BootsrvCertPath = "etc/trap/bootsrv.pem"

// File is a file written into the image from memory.
type File struct {
	// Path is the path in the image ("/etc/trap/bootsrv.pem").
	Path string
	Data []byte
	// Mode: only the executable bits count; images hold regular files as
	// 0755 or 0644 (see writeNormalized).
	Mode os.FileMode
}

// Compression of the output image.
type Compression string

// Supported compressions.
const (
	CompressGzip Compression = "gzip"
	CompressNone Compression = "none"
	// CompressZstd (the default): ~10 % smaller than gzip and faster to
	// unpack; both count twice on a boot under emulation (iPXE's HTTP
	// download, the kernel's unpacking). Kernels need CONFIG_RD_ZSTD
	// (Debian's have it).
	CompressZstd Compression = "zstd"
)

// Config describes one initramfs image.
type Config struct {
	// Agent is the Go package (import path or directory) built as /init,
	// or the path of a prebuilt static binary. Default DefaultAgent.
	Agent string
	// ModuleDir is the Go module directory `go build` runs in (the one
	// whose go.mod pins u-root). Default: the nearest go.mod above the
	// working directory.
	ModuleDir string
	// UrootCommands are u-root command packages built as the Go busybox in
	// /bbin. nil means DefaultUrootCommands; an empty non-nil slice none.
	UrootCommands []string
	// HostBinaries are host files copied at their own path, with their
	// shared libraries and ELF interpreter. nil means DefaultHostBinaries.
	HostBinaries []string
	// BusyboxApplets are /bin symlinks to busybox (if it is a host binary).
	// nil means DefaultBusyboxApplets.
	BusyboxApplets []string
	// LibraryDirs are searched for shared libraries; nil means
	// DefaultLibraryDirs.
	LibraryDirs []string
	// ModulesRoot contains lib/modules/KernelVersion (e.g.
	// .cache/kernel/root). Needed when Modules is not empty.
	ModulesRoot string
	// KernelVersion names the modules dir; default: the only directory
	// under ModulesRoot/lib/modules.
	KernelVersion string
	// Modules are module names to include with all their dependencies.
	Modules []string
	// OnDemand are modules included like Modules but not in the agent's
	// boot-time load list: the agent loads them only when a feature needs
	// them (e.g. BMCModules).
	OnDemand []string
	// Helpers are Go packages (import paths or directories) built like the
	// agent (static, reproducible) into /bin/<last path element>, e.g.
	// TorrentHelper for mode ramroot's torrent transport.
	Helpers []string
	// ExtraFiles maps archive paths to host paths (files or directories).
	ExtraFiles map[string]string
	// Files are written into the image from memory (e.g. the pinned
	// bootsrv certificate at BootsrvCertPath).
	Files []File
	// AgentConfig is written to /etc/trap/config.json. nil means
	// {"modules": Modules, "kernel_version": KernelVersion}.
	AgentConfig []byte
	// Output is the image path, written atomically.
	Output string
	// Compression defaults to gzip.
	Compression Compression
	// TempDir is where build files go; default os.TempDir().
	TempDir string
	// CacheDir keeps built Go busybox binaries between builds; default
	// $XDG_CACHE_HOME/disklesstrap/initrd (os.UserCacheDir).
	CacheDir string
	// NoCache builds the Go busybox afresh and caches nothing.
	NoCache bool
	// Prebuilt is a directory of prebuilt Go parts (see prebuilt.go);
	// default DefaultPrebuiltDir when it exists and no go.mod is found.
	Prebuilt string
}

// Result describes a built image.
type Result struct {
	Path     string
	Size     int64
	SHA256   string // hex
	Files    []string
	Modules  []string // module files included, relative to lib/modules/KVER
	Duration time.Duration
}

// AgentSettings is the default agent configuration Build writes.
type AgentSettings struct {
	Modules       []string `json:"modules"`
	KernelVersion string   `json:"kernel_version,omitempty"`
}

// withDefaults returns a copy of c with defaults filled in and checked.
func (c Config) withDefaults() (Config, error) {
	if c.Output == "" {
		return c, errors.New("initrd: no output path")
	}
	if c.Agent == "" {
		c.Agent = DefaultAgent
	}
	if c.UrootCommands == nil {
		c.UrootCommands = DefaultUrootCommands
	}
	if c.HostBinaries == nil {
		c.HostBinaries = DefaultHostBinaries
	}
	if c.BusyboxApplets == nil {
		c.BusyboxApplets = DefaultBusyboxApplets
	}
	if c.LibraryDirs == nil {
		c.LibraryDirs = DefaultLibraryDirs
	}
	switch c.Compression {
	case "":
		c.Compression = CompressZstd
	case CompressGzip, CompressZstd, CompressNone:
	default:
		return c, fmt.Errorf("initrd: compression %q: want zstd, gzip or none", c.Compression)
	}
	if c.TempDir == "" {
		c.TempDir = os.TempDir()
	}
	if c.ModuleDir == "" {
		d, err := findModuleDir()
		switch {
		case err == nil:
			c.ModuleDir = d
		case c.Prebuilt != "":
			// Everything Go comes prebuilt (or goBuild says what is missing).
		case isDir(DefaultPrebuiltDir):
			c.Prebuilt = DefaultPrebuiltDir
		default:
			return c, fmt.Errorf("%w (or install the disklesstrap package: it ships the Go parts prebuilt in %s)", err, DefaultPrebuiltDir)
		}
	}
	if len(c.Modules) > 0 {
		if c.ModulesRoot == "" {
			return c, errors.New("initrd: modules requested but no ModulesRoot")
		}
		if c.KernelVersion == "" {
			v, err := onlyKernelVersion(c.ModulesRoot)
			if err != nil {
				return c, err
			}
			c.KernelVersion = v
		}
	}
	if c.AgentConfig == nil {
		mods := c.Modules
		if mods == nil {
			mods = []string{}
		}
		b, err := json.MarshalIndent(AgentSettings{Modules: mods, KernelVersion: c.KernelVersion}, "", "  ")
		if err != nil {
			return c, fmt.Errorf("initrd: agent config: %w", err)
		}
		c.AgentConfig = append(b, '\n')
	}
	for dst := range c.ExtraFiles {
		if err := checkArchivePath(dst); err != nil {
			return c, fmt.Errorf("initrd: extra file %q: %w", dst, err)
		}
	}
	seen := map[string]bool{}
	for _, f := range c.Files {
		if err := checkArchivePath(f.Path); err != nil {
			return c, fmt.Errorf("initrd: file %q: %w", f.Path, err)
		}
		r := rel(f.Path)
		if seen[r] {
			return c, fmt.Errorf("initrd: file /%s given twice", r)
		}
		seen[r] = true
	}
	return c, nil
}

// checkArchivePath accepts "/etc/x" or "etc/x" but nothing escaping the root.
func checkArchivePath(p string) error {
	rel := strings.TrimPrefix(filepath.Clean("/"+p), "/")
	if rel == "" || strings.Contains(p, ":") {
		return errors.New("not a file path inside the image")
	}
	return nil
}

// findModuleDir walks up from the working directory to a go.mod.
func findModuleDir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("initrd: working dir: %w", err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("initrd: no go.mod above %s: set ModuleDir to the disklesstrap source tree", wd)
		}
	}
}

// onlyKernelVersion returns the single KVER under root/lib/modules.
func onlyKernelVersion(root string) (string, error) {
	dir := filepath.Join(root, "lib", "modules")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("initrd: kernel modules: %w", err)
	}
	var vers []string
	for _, e := range ents {
		if e.IsDir() {
			vers = append(vers, e.Name())
		}
	}
	if len(vers) != 1 {
		return "", fmt.Errorf("initrd: %s holds %d kernel versions (%s): set KernelVersion", dir, len(vers), strings.Join(vers, " "))
	}
	return vers[0], nil
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
