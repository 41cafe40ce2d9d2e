package ramroot

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/plan"
)

// SwitchRoot is the "switch-root" step: check the init exists in the new
// root, stop seeding the image (StopSeeding), report manifest.PhaseSwitchRoot, call BeforeSwitch, then
// env.Sys.SwitchRoot(/sysroot, Init). On a node it only returns on failure.
//
// BeforeSwitch is the agent's hook: stop the SSH server and the console
// shell, close the event client, flush logs. An error from it aborts the
// switch (the node stays in the trap).
//
// u-root's SwitchRoot moves /dev, /proc, /sys and /run into the new root
// and execs Init with no arguments and an empty environment.
type SwitchRoot struct {
	Init         string
	Root         string
	BeforeSwitch func() error
}

// Name implements plan.Step.
func (s *SwitchRoot) Name() string { return "switch-root" }

// String implements plan.Step.
func (s *SwitchRoot) String() string {
	return fmt.Sprintf("exec %s in %s (moves /dev /proc /sys /run)", s.Init, NewRoot)
}

// Run implements plan.Step.
func (s *SwitchRoot) Run(ctx context.Context, env *plan.Env) error {
	root := s.Root + NewRoot
	if !host(env).Exists(root + s.Init) {
		return fmt.Errorf("init %s: not found in %s", s.Init, NewRoot)
	}
	// switch_root deletes the initramfs before it execs init: a failure
	// after that point leaves nothing to fall back to. So read init (and a
	// script's interpreter) completely first: a corrupt or unreadable image
	// fails here, while the trap can still take the node.
	if err := preflightInit(host(env), root, s.Init); err != nil {
		return err
	}
	// Luna's rule: stop seeding the image before leaving the initramfs;
	// the final upload figures go out with the switch-root event's flush.
	StopSeeding(env)
	reportPhase(env, manifest.PhaseSwitchRoot, map[string]string{"step": s.Name(), "init": s.Init})
	if s.BeforeSwitch != nil {
		if err := s.BeforeSwitch(); err != nil {
			return fmt.Errorf("before switch_root: %w", err)
		}
	}
	if err := env.Sys.SwitchRoot(root, s.Init); err != nil {
		return fmt.Errorf("switch_root %s %s: %w", NewRoot, s.Init, err)
	}
	return nil
}

// preflightInit reads init and, for a "#!" script, its interpreter, inside
// root.
func preflightInit(h Host, root, init string) error {
	p, err := InRoot(h, root, init)
	if err != nil {
		return fmt.Errorf("init %s in %s: %w", init, NewRoot, err)
	}
	b, err := h.ReadFile(p)
	if err != nil {
		return fmt.Errorf("init %s in %s unreadable (corrupt image?): %w", init, NewRoot, err)
	}
	if !bytes.HasPrefix(b, []byte("#!")) {
		return nil
	}
	line, _, _ := bytes.Cut(b[2:], []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) == 0 {
		return fmt.Errorf("init %s in %s: empty #! line", init, NewRoot)
	}
	ip, err := InRoot(h, root, f[0])
	if err == nil {
		_, err = h.ReadFile(ip)
	}
	if err != nil {
		return fmt.Errorf("init %s in %s: interpreter %s unreadable (corrupt image?): %w", init, NewRoot, f[0], err)
	}
	return nil
}
