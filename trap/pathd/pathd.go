// Package pathd is the path keeper of an iSCSI root: a small process the
// agent leaves running across switch_root so that the booted OS keeps
// multipath failover *and* failback even when its image has no multipathd
// (or before it starts).
//
// dm-multipath fails a path by itself when I/O on it errors, and the
// kernel queues or retries on the other paths; nothing in the kernel puts
// a path back. In the trap the agent's checker does that; at switch_root
// the agent is replaced by the OS's init, so the agent starts pathd first:
// pathd chroots into the new root (/sysroot, already assembled; the agent
// passes it as an open directory, RootFD, because switch_root may move it
// to / before pathd gets to run), waits until switch_root has moved /dev
// and /proc in, then every Interval runs
// dmmap.Checker on each map (probe a failed path's disk, "reinstate_path"
// when it answers). It exits when a multipathd process appears: the
// booted OS's own daemon owns the maps then.
//
// The process is started with argv[0] "@trap-pathd": systemd leaves
// processes whose name starts with '@' alone when it leaves the initramfs.
package pathd

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/disklesstrap/disklesstrap/trap/dmmap"
)

// Argv0 is pathd's process name (see the package doc).
const Argv0 = "@trap-pathd"

// Config is what Run needs.
type Config struct {
	// Root is chrooted into first ("" stays in the current root).
	Root string
	// RootFD, when > 0, is an open directory chrooted into first instead
	// of Root: it names the new root even after switch_root has moved it
	// (a path like /sysroot does not exist any more then).
	RootFD int
	// Maps are the multipath map names ("mpatha").
	Maps []string
	// Interval between checks (default 5 s).
	Interval time.Duration
	Log      *slog.Logger
	// Proc and Control are /proc and /dev/mapper/control (tests change them).
	Proc, Control string
	// Checker builds the checker of a map (default: the real dmmap.Checker).
	Checker func(name string, log *slog.Logger) interface{ Once() (int, error) }
}

// Run keeps the maps' paths until ctx ends or a multipathd appears.
func Run(ctx context.Context, cfg Config) error {
	if len(cfg.Maps) == 0 {
		return fmt.Errorf("pathd: no multipath maps given")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 5 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Proc == "" {
		cfg.Proc = "/proc"
	}
	if cfg.Control == "" {
		cfg.Control = "/dev/mapper/control"
	}
	if cfg.Checker == nil {
		cfg.Checker = func(name string, log *slog.Logger) interface{ Once() (int, error) } {
			return &dmmap.Checker{Map: name, Log: log}
		}
	}
	if cfg.RootFD > 0 {
		if err := chrootFD(cfg.RootFD); err != nil {
			return err
		}
	} else if cfg.Root != "" {
		if err := unix.Chroot(cfg.Root); err != nil {
			return fmt.Errorf("pathd: chroot %s: %w", cfg.Root, err)
		}
		if err := os.Chdir("/"); err != nil {
			return fmt.Errorf("pathd: chdir / in %s: %w", cfg.Root, err)
		}
	}
	checkers := map[string]interface{ Once() (int, error) }{}
	for _, m := range cfg.Maps {
		checkers[m] = cfg.Checker(m, cfg.Log)
	}
	cfg.Log.Info("pathd: keeping multipath paths", "maps", strings.Join(cfg.Maps, ","), "interval", cfg.Interval)
	lastErr := map[string]string{}
	waiting := false
	t := time.NewTicker(cfg.Interval)
	defer t.Stop()
	for {
		if pid := Multipathd(cfg.Proc); pid != 0 {
			cfg.Log.Info("pathd: multipathd runs; leaving the maps to it", "pid", pid)
			return nil
		}
		if _, err := os.Stat(cfg.Control); err != nil {
			// Before switch_root the new root has no /dev yet.
			if !waiting {
				cfg.Log.Debug("pathd: waiting for device-mapper", "control", cfg.Control)
				waiting = true
			}
		} else {
			for _, m := range cfg.Maps {
				_, err := checkers[m].Once()
				msg := ""
				if err != nil {
					msg = err.Error()
				}
				if msg != lastErr[m] && msg != "" {
					cfg.Log.Warn("pathd: check failed", "map", m, "err", err)
				}
				lastErr[m] = msg
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// chrootFD makes the directory open on fd the process's root and working
// directory, then closes fd.
func chrootFD(fd int) error {
	defer unix.Close(fd)
	if err := unix.Fchdir(fd); err != nil {
		return fmt.Errorf("pathd: fchdir to root fd %d: %w", fd, err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("pathd: chroot to root fd %d: %w", fd, err)
	}
	if err := os.Chdir("/"); err != nil {
		return fmt.Errorf("pathd: chdir / in root fd %d: %w", fd, err)
	}
	return nil
}

// Multipathd returns the PID of a running multipathd (0: none), from
// proc's */comm.
func Multipathd(proc string) int {
	comms, _ := filepath.Glob(filepath.Join(proc, "[0-9]*", "comm"))
	for _, c := range comms {
		b, err := os.ReadFile(c)
		if err != nil || strings.TrimSpace(string(b)) != "multipathd" {
			continue
		}
		var pid int
		fmt.Sscanf(filepath.Base(filepath.Dir(c)), "%d", &pid)
		return pid
	}
	return 0
}
