package agent

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/disklesstrap/disklesstrap/boottiming"
	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/cmdline"
	"github.com/disklesstrap/disklesstrap/trap/modload"
	"github.com/disklesstrap/disklesstrap/trap/netup"
)

// pseudo are the filesystems /init mounts, in order.
var pseudo = []struct {
	source, target, fstype, data string
	flags                        uintptr
}{
	{"proc", "/proc", "proc", "", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
	{"sysfs", "/sys", "sysfs", "", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
	{"devtmpfs", "/dev", "devtmpfs", "mode=0755", unix.MS_NOSUID},
	{"devpts", "/dev/pts", "devpts", "gid=5,mode=620,ptmxmode=0666", unix.MS_NOSUID | unix.MS_NOEXEC},
	{"tmpfs", "/dev/shm", "tmpfs", "mode=1777", unix.MS_NOSUID | unix.MS_NODEV},
	{"tmpfs", "/run", "tmpfs", "mode=0755", unix.MS_NOSUID | unix.MS_NODEV},
	{"tmpfs", "/tmp", "tmpfs", "mode=1777", unix.MS_NOSUID | unix.MS_NODEV},
}

// mountPseudo mounts the pseudo filesystems; already mounted is fine.
func mountPseudo() error {
	var errs []error
	for _, m := range pseudo {
		mounted, _ := isMountPoint(m.target)
		if mounted {
			continue
		}
		if err := os.MkdirAll(m.target, 0o755); err != nil {
			errs = append(errs, fmt.Errorf("mkdir %s: %w", m.target, err))
			continue
		}
		err := unix.Mount(m.source, m.target, m.fstype, m.flags, m.data)
		if err != nil && !errors.Is(err, unix.EBUSY) {
			errs = append(errs, fmt.Errorf("mount %s on %s: %w", m.fstype, m.target, err))
		}
	}
	return errors.Join(errs...)
}

// isMountPoint looks target up in /proc/self/mountinfo.
func isMountPoint(target string) (bool, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) > 4 && fields[4] == target {
			return true, nil
		}
	}
	return false, s.Err()
}

// boot does everything before the manifest. Failures are logged and
// remembered; the network error makes the main loop trap.
func (a *agent) boot(ctx context.Context) {
	if a.cfg.Mount {
		if err := mountPseudo(); err != nil {
			a.printf("mounting pseudo filesystems: %v", err)
		}
	}
	c, err := cmdline.Read(a.cfg.CmdlinePath)
	if err != nil {
		a.log.Warn("kernel command line", "err", err)
		c = cmdline.Parse("")
	}
	a.cmdline = c
	if c.Debug() {
		a.log.Info("dt.debug set")
	}
	if a.cfg.MAC != "" {
		a.mac, err = cmdline.ParseBootIF(a.cfg.MAC)
	} else {
		a.mac, err = c.BootIF()
	}
	if err != nil {
		a.printf("%v (falling back to the first link with carrier)", err)
	}
	a.reporter.SetTarget(a.server(), a.node(), macString(a.mac))
	if a.cfg.SetHostname && a.node() != "" {
		if err := unix.Sethostname([]byte(a.node())); err != nil {
			a.log.Warn("sethostname", "name", a.node(), "err", err)
		}
	}
	if a.cfg.LoadModules {
		// NIC drivers now, the rest (filesystems, zram, dm...: megabytes
		// of modules, seconds under emulation) behind the network and SSH;
		// plans and trap steps wait for them (waitModules).
		first, rest := modload.BootFirst(a.cfg.Root, a.kernelVersion(), a.file.Modules)
		a.loadModules(first)
		if len(rest) > 0 {
			done := make(chan struct{})
			a.modsDone = done
			go func() {
				defer close(done)
				a.loadModules(rest)
			}()
		}
	}
	a.clock.mark(boottiming.KeyModules)
	if a.cfg.Net != nil {
		if err := a.netUp(ctx); err != nil {
			a.log.Error("network", "err", err)
			return
		}
	}
	a.registerBoot(ctx)
}

// kernelVersion is the config file's kernel version, else the running one.
func (a *agent) kernelVersion() string {
	if a.file.KernelVersion != "" {
		return a.file.KernelVersion
	}
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

// waitModules waits until the kernel modules loading in the background are
// in (steps need zram, dm, filesystems).
func (a *agent) waitModules(ctx context.Context) error {
	select {
	case <-a.modsDone:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (a *agent) loadModules(mods []string) {
	if len(mods) == 0 {
		return
	}
	p, err := modload.Kmodule(a.cfg.Root, a.file.KernelVersion, nil)
	if err != nil {
		a.printf("no kernel modules: %v", err)
		return
	}
	r := modload.Load(p, mods, a.log)
	a.log.Info("kernel modules", "result", r.String())
	for name, e := range r.Failed {
		a.printf("module %s: %s", name, e)
	}
}

// netUp brings up the boot interface and remembers the outcome.
func (a *agent) netUp(ctx context.Context) error {
	nc := a.cfg.NetConfig
	if nc.MAC == nil {
		nc.MAC = a.mac
	}
	if nc.Log == nil {
		nc.Log = a.log
	}
	res, err := netup.Up(ctx, a.cfg.Net, nc)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.net, a.netErr = res, err
	if err != nil {
		return fmt.Errorf("network: %w", err)
	}
	a.clock.marks[boottiming.KeyLink] = a.clock.uptime(res.LinkUp)
	a.clock.mark(boottiming.KeyLease)
	if a.mac == nil {
		a.mac = res.MAC
	}
	a.writeResolvConf(res)
	return nil
}

// writeResolvConf writes /etc/resolv.conf from the lease (PID 1 only).
func (a *agent) writeResolvConf(res *netup.Result) {
	if !a.cfg.Mount || len(res.Lease.DNS) == 0 {
		return
	}
	var b strings.Builder
	if res.Lease.Domain != "" {
		fmt.Fprintf(&b, "search %s\n", res.Lease.Domain)
	}
	for _, d := range res.Lease.DNS {
		fmt.Fprintf(&b, "nameserver %s\n", d)
	}
	if err := os.WriteFile("/etc/resolv.conf", []byte(b.String()), 0o644); err != nil {
		a.log.Warn("resolv.conf", "err", err)
	}
}

func (a *agent) setHostname(m *manifest.Manifest) {
	if !a.cfg.SetHostname {
		return
	}
	name := m.Hostname
	if name == "" {
		name = m.Node
	}
	if err := unix.Sethostname([]byte(name)); err != nil {
		a.log.Warn("sethostname", "name", name, "err", err)
	}
}

// extraInterfaces configures the manifest's other interfaces (reserved
// addresses, e.g. the second iSCSI path). A failure is shown on the console
// and reported, not fatal: the steps that need the interface fail with
// their own error, and the admin can fix it by hand in the trap.
func (a *agent) extraInterfaces(m *manifest.Manifest) {
	if a.cfg.Net == nil || len(m.Interfaces) == 0 {
		return
	}
	var ifcs []netup.Static
	for _, n := range m.Interfaces {
		s, err := netup.ParseStatic(n.Interface, n.MAC, n.Address)
		if err != nil {
			a.printf("network: %v", err)
			continue
		}
		ifcs = append(ifcs, s)
	}
	if err := netup.UpStatic(a.cfg.Net, ifcs); err != nil {
		a.printf("network: %v", err)
		a.report(manifest.PhaseNetUp, err.Error(), nil)
		return
	}
	for _, s := range ifcs {
		a.log.Info("interface up", "interface", s.String())
	}
}
