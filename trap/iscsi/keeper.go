package iscsi

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"

	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/pathd"
	"github.com/disklesstrap/disklesstrap/trap/plan"
	"github.com/disklesstrap/disklesstrap/trap/ramroot"
)

// Keeper is the "path keeper" step, right before switch-root. It hands
// the sessions and the paths over to the booted OS:
//
//   - iscsid: when the image has iscsid.service, the OS's own iscsid
//     adopts the running sessions at start (from sysfs, CHAP included),
//     and the initramfs's iscsid must not hold its socket then: the step
//     stops it (`iscsiadm -k 0`: iscsid exits, the sessions stay up in the
//     kernel). Without the unit (a minimal image, the lab's test OS) the
//     initramfs's iscsid keeps running after switch_root and re-logs in
//     sessions after an outage (it needs no file of the initramfs for that).
//   - paths: with multipath it starts `trap pathd` (package pathd)
//     chrooted into the assembled /sysroot, so failed paths are reinstated
//     after the agent is gone, until the booted OS runs its own multipathd.
type Keeper struct {
	Config manifest.ISCSI
	Root   string
}

// Name implements plan.Step.
func (s *Keeper) Name() string { return "path keeper" }

// String implements plan.Step.
func (s *Keeper) String() string {
	out := "iscsid: stopped (sessions stay) if the image has " + IscsidUnit + ", else kept running"
	if multipath(&s.Config) {
		out += fmt.Sprintf("; trap pathd %s chrooted in %s: reinstates failed paths after switch_root until the OS's multipathd runs", MultipathName, ramroot.NewRoot)
	}
	return out
}

// Run implements plan.Step.
func (s *Keeper) Run(ctx context.Context, env *plan.Env) error {
	if unit := ramroot.FindUnit(env, s.Root+ramroot.NewRoot, IscsidUnit); unit != "" {
		// iscsiadm -k 0: iscsid exits at once without logging out. Best
		// effort: if it fails (no iscsid running), the sessions are up
		// anyway and the OS's iscsid says why it cannot start.
		if out, err := env.Run.Run(ctx, "iscsiadm", "-k", "0"); err != nil {
			env.Logger().Warn("could not stop the initramfs iscsid for the image's own", "unit", unit, "err", err, "output", strings.TrimSpace(string(out)))
		} else {
			env.Logger().Info("initramfs iscsid stopped: the booted OS's iscsid adopts the sessions", "unit", unit)
		}
	}
	if !multipath(&s.Config) {
		return nil
	}
	if err := storage(env).StartKeeper(s.Root+ramroot.NewRoot, []string{MultipathName}); err != nil {
		return fmt.Errorf("start trap pathd: %w", err)
	}
	return nil
}

var keeper struct {
	mu  sync.Mutex
	cmd *exec.Cmd
}

// StartKeeper implements Storage: /proc/self/exe pathd -root-fd 3 MAPS...
// with ROOT open as fd 3 (the agent goes on to switch_root at once, which
// moves ROOT to /: a path would be gone by the time pathd chroots, an open
// directory still names it), in its own session, output on the agent's
// stderr (the console).
func (Real) StartKeeper(root string, maps []string) error {
	keeper.mu.Lock()
	defer keeper.mu.Unlock()
	if keeper.cmd != nil && keeper.cmd.ProcessState == nil {
		return nil // running
	}
	self, err := os.Executable()
	if err != nil {
		self = "/proc/self/exe"
	}
	dir, err := os.Open(root)
	if err != nil {
		return fmt.Errorf("pathd root: %w", err)
	}
	defer dir.Close() // the child has its own copy
	cmd := exec.Command(self, append([]string{"pathd", "-root-fd", "3"}, maps...)...)
	cmd.Args[0] = pathd.Argv0
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.ExtraFiles = []*os.File{dir}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s pathd -root-fd 3 (%s) %s: %w", self, root, strings.Join(maps, " "), err)
	}
	keeper.cmd = cmd
	go cmd.Wait()
	return nil
}
