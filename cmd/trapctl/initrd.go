package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/disklesstrap/disklesstrap/initrd"
)

// listFlag is a repeatable string flag; "a,b" adds two items.
type listFlag struct{ items *[]string }

func (l listFlag) String() string {
	if l.items == nil {
		return ""
	}
	return strings.Join(*l.items, ",")
}

func (l listFlag) Set(s string) error {
	for _, it := range strings.Split(s, ",") {
		if it = strings.TrimSpace(it); it != "" {
			*l.items = append(*l.items, it)
		}
	}
	return nil
}

// mapFlag is a repeatable ARCHIVE=HOST flag.
type mapFlag struct{ m map[string]string }

func (f mapFlag) String() string { return "" }

func (f mapFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" || v == "" {
		return fmt.Errorf("want ARCHIVE_PATH=HOST_PATH, got %q", s)
	}
	f.m[k] = v
	return nil
}

type initrdFlags struct {
	cfg         initrd.Config
	compression string
	uroot       []string
	hostBins    []string
	modules     []string
	extra       map[string]string
	noDefaults  bool
	torrent     bool
	iscsi       bool
	statelite   bool
	install     bool
	bootsrvCert string
}

var initrdOpts initrdFlags

var initrdBuild = &command{
	name: "initrd build", args: "-out FILE [flags]", summary: "build the trap initramfs (u-root, agent as /init)",
	help: `Lists (-uroot, -bin, -module) add to the defaults unless -no-defaults is given.

The image pins bootsrv's TLS certificate at /` + initrd.BootsrvCertPath + ` (nodes pull
mode-iscsi secrets over TLS trusting it alone): from -bootsrv-cert FILE, else
fetched from bootsrv (GET /api/v1/tls/cert, answered on its own host only).
If bootsrv cannot give it, the image is built without and its nodes can only
get secrets pushed (trapctl luks push). Compare the printed fingerprint with
bootsrv's "tls certificate" log line.`,
	maxArgs: 0,
	flags: func(fs *flag.FlagSet) {
		o := &initrdOpts
		*o = initrdFlags{extra: map[string]string{}}
		fs.StringVar(&o.cfg.Output, "out", "", "output image path (required)")
		fs.StringVar(&o.cfg.Agent, "agent", "", "agent package or prebuilt binary (default "+initrd.DefaultAgent+")")
		fs.StringVar(&o.cfg.ModuleDir, "module-dir", "", "Go module directory to build in (default: nearest go.mod)")
		fs.StringVar(&o.cfg.ModulesRoot, "modules-root", "", "directory containing lib/modules/KVER")
		fs.StringVar(&o.cfg.KernelVersion, "kernel-version", "", "kernel version under lib/modules (default: the only one)")
		fs.StringVar(&o.compression, "compression", "zstd", "zstd, gzip or none")
		fs.StringVar(&o.cfg.TempDir, "tmp", "", "temporary directory")
		fs.StringVar(&o.cfg.CacheDir, "cache", "", "Go busybox cache directory")
		fs.BoolVar(&o.cfg.NoCache, "no-cache", false, "build the Go busybox afresh, cache nothing")
		fs.StringVar(&o.cfg.Prebuilt, "prebuilt", "", "directory of prebuilt agent, helpers and Go busybox (trapctl initrd prebuild; default "+initrd.DefaultPrebuiltDir+" when not in a source tree)")
		fs.BoolVar(&o.noDefaults, "no-defaults", false, "do not include the default u-root commands, host binaries and kernel modules")
		fs.Var(listFlag{&o.uroot}, "uroot", "u-root command package (repeatable, comma separated)")
		fs.Var(listFlag{&o.hostBins}, "bin", "host binary to copy with its libraries (repeatable)")
		fs.Var(listFlag{&o.modules}, "module", "kernel module to include with dependencies (repeatable)")
		fs.Var(mapFlag{o.extra}, "file", "extra file ARCHIVE_PATH=HOST_PATH (repeatable)")
		fs.BoolVar(&o.install, "install", false, "include mode install's tools and modules: sgdisk, mkfs.vfat, mkfs.ext4, wipefs, blkid, virtio_blk, ahci, nvme, vfat")
		fs.BoolVar(&o.iscsi, "iscsi", false, "include mode iscsi's tools and modules: iscsid, iscsiadm, lvm, blockdev, iscsi_tcp, dm-multipath, dm-crypt")
		fs.BoolVar(&o.statelite, "statelite", false, "include mode statelite's kernel NFS client (nfsv4 and its dependencies)")
		fs.BoolVar(&o.torrent, "torrent", false, "include the BitTorrent helper /bin/trap-torrent (ramroot nodes with transport=torrent)")
		fs.StringVar(&o.bootsrvCert, "bootsrv-cert", "", `bootsrv's TLS certificate (PEM) to pin (default: fetch it from bootsrv; "none": pin nothing)`)
	},
	run: func(e *env, args []string) error {
		o := &initrdOpts
		if o.cfg.Output == "" {
			return usagef("initrd build: -out is required")
		}
		switch o.compression {
		case "zstd", "gzip", "none":
			o.cfg.Compression = initrd.Compression(o.compression)
		default:
			return usagef("-compression: want zstd, gzip or none, got %q", o.compression)
		}
		cfg := o.cfg
		cfg.UrootCommands, cfg.HostBinaries = o.uroot, o.hostBins
		if !o.noDefaults {
			cfg.UrootCommands = append(append([]string{}, initrd.DefaultUrootCommands...), o.uroot...)
			cfg.HostBinaries = append(append([]string{}, initrd.DefaultHostBinaries...), o.hostBins...)
		} else {
			if cfg.UrootCommands == nil {
				cfg.UrootCommands = []string{}
			}
			if cfg.HostBinaries == nil {
				cfg.HostBinaries = []string{}
			}
		}
		cfg.Modules = o.modules
		if !o.noDefaults {
			cfg.Modules = append(append([]string{}, initrd.DefaultModules...), o.modules...)
			cfg.OnDemand = initrd.BMCModules // loaded by the agent for setupbmc: yes
		}
		if len(o.extra) > 0 {
			cfg.ExtraFiles = o.extra
		}
		if o.statelite {
			cfg.Modules = append(cfg.Modules, initrd.StateliteModules...)
		}
		if o.install {
			cfg.HostBinaries = append(cfg.HostBinaries, initrd.InstallHostBinaries...)
			cfg.Modules = append(cfg.Modules, initrd.InstallModules...)
		}
		if o.iscsi {
			cfg.HostBinaries = append(cfg.HostBinaries, initrd.ISCSIHostBinaries...)
			cfg.Modules = append(cfg.Modules, initrd.ISCSIModules...)
		}
		if o.torrent {
			cfg.Helpers = append(cfg.Helpers, initrd.TorrentHelper)
		}
		pin, err := pinnedCert(e, o.bootsrvCert)
		if err != nil {
			return err
		}
		if pin != nil {
			cfg.Files = append(cfg.Files, *pin)
		}
		res, err := initrd.Build(e.ctx, cfg)
		if err != nil {
			return err
		}
		if e.output == "json" {
			return writeJSON(e.stdout, res)
		}
		_, err = printf(e.stdout, "%s: %d bytes, sha256 %s, %d files, %d modules, %s\n",
			res.Path, res.Size, res.SHA256, len(res.Files), len(res.Modules), res.Duration.Round(100_000_000))
		return err
	},
}
