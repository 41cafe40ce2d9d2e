package statelite

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"path"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/plan"
	"github.com/disklesstrap/disklesstrap/trap/ramroot"
)

// Dialer probes an NFS server before a mount (tests replace it).
type Dialer func(ctx context.Context, addr string) error

// ProbeTimeout bounds the TCP probe of an NFS server.
const ProbeTimeout = 5 * time.Second

func tcpProbe(ctx context.Context, addr string) error {
	d := net.Dialer{Timeout: ProbeTimeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return c.Close()
}

// MountNFS mounts export ("ADDR:/PATH") at target with mount(2): type
// nfs4, NFSOptions plus addr=ADDR, read-only when ro. It first probes
// ADDR:2049 over TCP so that a server that is down fails at once with
// the export named. A target that is already a mount point is left alone.
func MountNFS(ctx context.Context, env *plan.Env, dial Dialer, export, target string, ro bool) error {
	addr, p, err := manifest.ParseExport(export)
	if err != nil {
		return err
	}
	if ok, err := mounted(env, target); err != nil || ok {
		return err
	}
	if dial == nil {
		dial = tcpProbe
	}
	server := netip.AddrPortFrom(addr, 2049).String()
	if err := dial(ctx, server); err != nil {
		return fmt.Errorf("export %s: NFS server %s is down or unreachable: %w", export, server, err)
	}
	if err := env.Sys.MkdirAll(target); err != nil {
		return fmt.Errorf("export %s: %w", export, err)
	}
	src := addr.String() + ":" + p
	if addr.Is6() {
		src = "[" + addr.String() + "]:" + p
	}
	var flags uintptr
	if ro {
		flags = unix.MS_RDONLY
	}
	if err := env.Sys.Mount(src, target, "nfs4", flags, NFSOptions+",addr="+addr.String()); err != nil {
		return fmt.Errorf("export %s: mount nfs4 at %s: %w", export, target, err)
	}
	return nil
}

func host(env *plan.Env) ramroot.Host { return ramroot.HostOf(env) }

func mounted(env *plan.Env, target string) (bool, error) { return ramroot.Mounted(env, target) }

// Root is the "statelite root" step: the image root read-only at
// /run/dt/lower, from the fetched squashfs (losetup -r) or the NFS export.
type Root struct {
	Export string // NFS root; "" = the fetched image
	Image  string
	Root   string
	Dial   Dialer
}

func (s *Root) Name() string { return "statelite root" }

func (s *Root) String() string {
	if s.Export != "" {
		return fmt.Sprintf("NFS %s read-only at %s", s.Export, ramroot.LowerDir)
	}
	return fmt.Sprintf("losetup -r %s (%s), squashfs read-only at %s", ramroot.ImagePath, s.Image, ramroot.LowerDir)
}

func (s *Root) Run(ctx context.Context, env *plan.Env) error {
	lower := s.Root + ramroot.LowerDir
	if s.Export != "" {
		return MountNFS(ctx, env, s.Dial, s.Export, lower, true)
	}
	if ok, err := mounted(env, lower); err != nil || ok {
		return err
	}
	if err := env.Sys.MkdirAll(lower); err != nil {
		return err
	}
	out, err := env.Run.Run(ctx, "losetup", "-f", "--show", "-r", s.Root+ramroot.ImagePath)
	if err != nil {
		return fmt.Errorf("image %s: %w", s.Image, err)
	}
	dev := strings.TrimSpace(string(out))
	if !strings.HasPrefix(dev, "/dev/") {
		return fmt.Errorf("image %s: losetup printed %q, want /dev/loopN", s.Image, dev)
	}
	if err := env.Sys.Mount(dev, lower, "squashfs", unix.MS_RDONLY, ""); err != nil {
		return fmt.Errorf("image %s: %w", s.Image, err)
	}
	return nil
}

// Tmpfs is the "statelite tmpfs" step: a tmpfs at /run/dt/statelite;
// /sysroot an overlay of the read-only root with its upper there (the
// sysroot step's config files land in it; the readonly step makes it
// read-only); /sysroot/.statelite a bind of the tmpfs's lite/ folder,
// with tmpfs/, mnt/ and persistent/ in it.
type Tmpfs struct {
	Root string
}

func (s *Tmpfs) Name() string { return "statelite tmpfs" }

func (s *Tmpfs) String() string {
	return fmt.Sprintf("tmpfs %s; overlay %s (lower %s, upper %s/upper); %s%s = %s/lite (tmpfs/ mnt/ persistent/)",
		StateDir, ramroot.NewRoot, ramroot.LowerDir, StateDir, ramroot.NewRoot, LiteDir, StateDir)
}

func (s *Tmpfs) Run(ctx context.Context, env *plan.Env) error {
	state := s.Root + StateDir
	if ok, err := mounted(env, state); err != nil {
		return err
	} else if !ok {
		if err := env.Sys.MkdirAll(state); err != nil {
			return err
		}
		if err := env.Sys.Mount("tmpfs", state, "tmpfs", 0, "mode=0755"); err != nil {
			return fmt.Errorf("tmpfs %s: %w", StateDir, err)
		}
	}
	for _, d := range []string{"upper", "work", "lite/tmpfs", "lite/mnt", "lite/persistent"} {
		if err := env.Sys.MkdirAll(path.Join(state, d)); err != nil {
			return err
		}
	}
	newRoot := s.Root + ramroot.NewRoot
	if ok, err := mounted(env, newRoot); err != nil {
		return err
	} else if !ok {
		opts, err := ramroot.OverlayOptions(s.Root+ramroot.LowerDir, state+"/upper", state+"/work")
		if err != nil {
			return err
		}
		if err := env.Sys.MkdirAll(newRoot); err != nil {
			return err
		}
		if err := env.Sys.Mount("overlay", newRoot, "overlay", 0, opts); err != nil {
			return fmt.Errorf("overlay %s: %w", ramroot.NewRoot, err)
		}
	}
	lite := newRoot + LiteDir
	if ok, err := mounted(env, lite); err != nil || ok {
		return err
	}
	if err := env.Sys.MkdirAll(lite); err != nil {
		return err
	}
	if err := env.Sys.Mount(state+"/lite", lite, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind %s/lite at %s%s: %w", StateDir, ramroot.NewRoot, LiteDir, err)
	}
	return nil
}

// MntDir is where litetree source i (0-based) is mounted in the new root.
func MntDir(i int) string { return fmt.Sprintf("%s/mnt/%d", LiteDir, i+1) }

// Litetree is the "statelite litetree" step: every source read-only at
// /.statelite/mnt/N, in priority order.
type Litetree struct {
	Sources []string
	Root    string
	Dial    Dialer
}

func (s *Litetree) Name() string { return "statelite litetree" }

func (s *Litetree) String() string {
	if len(s.Sources) == 0 {
		return "no litetree sources (files come from the image's /.default)"
	}
	var parts []string
	for i, src := range s.Sources {
		parts = append(parts, fmt.Sprintf("%d. NFS %s ro at %s", i+1, src, MntDir(i)))
	}
	return strings.Join(parts, "; ")
}

func (s *Litetree) Run(ctx context.Context, env *plan.Env) error {
	for i, src := range s.Sources {
		if err := MountNFS(ctx, env, s.Dial, src, s.Root+ramroot.NewRoot+MntDir(i), true); err != nil {
			return fmt.Errorf("litetree source %d: %w", i+1, err)
		}
	}
	return nil
}

// PersistentDir is where the store is mounted in the new root.
const PersistentDir = LiteDir + "/persistent"

// Store is the "statelite store" step: the persistent store read-write at
// /.statelite/persistent and the node's folder in it.
type Store struct {
	Export string
	Node   string
	Root   string
	Dial   Dialer
}

func (s *Store) Name() string { return "statelite store" }

func (s *Store) String() string {
	if s.Export == "" {
		return "no persistent store (no persistent rules)"
	}
	return fmt.Sprintf("NFS %s rw at %s, folder %s/%s", s.Export, PersistentDir, PersistentDir, s.Node)
}

func (s *Store) Run(ctx context.Context, env *plan.Env) error {
	if s.Export == "" {
		return nil
	}
	target := s.Root + ramroot.NewRoot + PersistentDir
	if err := MountNFS(ctx, env, s.Dial, s.Export, target, false); err != nil {
		return fmt.Errorf("persistent store: %w", err)
	}
	if err := env.Sys.MkdirAll(target + "/" + s.Node); err != nil {
		return fmt.Errorf("persistent store %s: folder %s: %w", s.Export, s.Node, err)
	}
	return nil
}

// Readonly is the "statelite readonly" step: /sysroot (the overlay)
// remounted read-only, so that everything but the litefile paths (and
// the mounts below /.statelite) refuses writes with EROFS.
type Readonly struct {
	Root string
}

func (s *Readonly) Name() string { return "statelite readonly" }

func (s *Readonly) String() string {
	return fmt.Sprintf("remount %s read-only (bind,remount,ro)", ramroot.NewRoot)
}

func (s *Readonly) Run(ctx context.Context, env *plan.Env) error {
	target := s.Root + ramroot.NewRoot
	if err := env.Sys.Mount("", target, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""); err != nil {
		return fmt.Errorf("remount %s read-only: %w", ramroot.NewRoot, err)
	}
	return nil
}
