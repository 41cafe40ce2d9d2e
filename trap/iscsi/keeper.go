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

// Keeper is the "path keeper" step, right before switch-root: with
// multipath it starts `trap pathd` (package pathd) chrooted into the
// assembled /sysroot, so failed paths are still reinstated after the agent
// is gone, until the booted OS runs its own multipathd. The iSCSI sessions
// themselves stay with the iscsid started by "iscsi login", which also
// outlives switch_root (it keeps its CHAP credentials in memory; the
// booted OS's iscsid adopts the sessions from sysfs when it starts).
type Keeper struct {
	Config manifest.ISCSI
	Root   string
}

// Name implements plan.Step.
func (s *Keeper) Name() string { return "path keeper" }

// String implements plan.Step.
func (s *Keeper) String() string {
	if !multipath(&s.Config) {
		return "single path: none"
	}
	return fmt.Sprintf("trap pathd %s chrooted in %s: reinstates failed paths after switch_root until the OS's multipathd runs", MultipathName, ramroot.NewRoot)
}

// Run implements plan.Step.
func (s *Keeper) Run(ctx context.Context, env *plan.Env) error {
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

// StartKeeper implements Storage: /proc/self/exe pathd -root ROOT MAPS...,
// in its own session, output on the agent's stderr (the console).
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
	cmd := exec.Command(self, append([]string{"pathd", "-root", root}, maps...)...)
	cmd.Args[0] = pathd.Argv0
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s pathd -root %s %s: %w", self, root, strings.Join(maps, " "), err)
	}
	keeper.cmd = cmd
	go cmd.Wait()
	return nil
}
