package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/disklesstrap/disklesstrap/trap/plan"
	"io"
	"log/slog"
	"strings"

	"github.com/disklesstrap/disklesstrap/trap/ctl"
)

// startControl serves the `trap` command's socket for the agent's life.
func (a *agent) startControl(ctx context.Context) {
	l, err := ctl.Listen(a.cfg.Socket)
	if err != nil {
		a.printf("control socket: %v (the trap command will not work)", err)
		return
	}
	a.writeShrc()
	cctx, cancel := context.WithCancel(ctx)
	a.stopCtl = cancel
	a.ctlDone = make(chan struct{})
	go func() {
		defer close(a.ctlDone)
		if err := ctl.Serve(cctx, l, a.handle, a.log); err != nil {
			a.log.Error("control socket", "err", err)
		}
	}()
}

// handle runs one `trap` command.
func (a *agent) handle(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("no command (try: trap help)")
	}
	switch args[0] {
	case "continue":
		if !a.requestLeave("trap continue") {
			a.mu.Lock()
			phase := a.phase
			a.mu.Unlock()
			return fmt.Errorf("not in the trap (phase: %s)", phase)
		}
		fmt.Fprintln(out, "leaving the trap")
		return nil
	case "status":
		fmt.Fprint(out, a.status())
		return nil
	case "plan":
		return a.printPlan(out)
	case "manifest":
		a.mu.Lock()
		m := a.manifest
		a.mu.Unlock()
		if m == nil {
			return fmt.Errorf("no manifest yet")
		}
		b, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s\n", b)
		return nil
	case "help":
		fmt.Fprint(out, ctl.Usage)
		a.mu.Lock()
		m := a.manifest
		a.mu.Unlock()
		if p, err := a.registry.Build(m); err == nil && len(p) > 0 {
			names := make([]string, len(p))
			for i, s := range p {
				names[i] = s.Name()
			}
			fmt.Fprintf(out, "\nthis node's plan, in order (each step runs alone as trap NAME): %s\n", strings.Join(names, ", "))
		}
		if names := a.registry.Commands(); len(names) > 0 {
			fmt.Fprintf(out, "\nstep commands: %s\n", strings.Join(names, ", "))
		}
		return nil
	}
	return a.runStep(ctx, args, out)
}

func (a *agent) status() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "phase:    %s\n", a.phase)
	if a.manifest != nil {
		fmt.Fprintf(&b, "node:     %s\nmode:     %s\nserver:   %s\n", a.manifest.Node, a.manifest.Mode, a.manifest.Server)
	} else {
		fmt.Fprintf(&b, "node:     %s\nmode:     (no manifest)\nserver:   %s\n", a.node(), a.server())
	}
	if a.net != nil {
		fmt.Fprintf(&b, "network:  %s %s gw %s\n", a.net.Interface, a.net.Lease.Addr, a.net.Lease.Gateway)
	} else if a.netErr != nil {
		fmt.Fprintf(&b, "network:  down: %v\n", a.netErr)
	}
	if a.ssh != nil {
		fmt.Fprintf(&b, "ssh:      %s %s\n", a.ssh.Addr(), a.ssh.Fingerprint())
	}
	if a.plan != nil {
		fmt.Fprintf(&b, "plan:     %d steps, next %d\n", len(a.plan), a.resume+1)
	}
	if a.lastErr != nil {
		fmt.Fprintf(&b, "error:    %v\n", a.lastErr)
	}
	return b.String()
}

func (a *agent) printPlan(out io.Writer) error {
	a.mu.Lock()
	m, resume := a.manifest, a.resume
	a.mu.Unlock()
	p, err := a.registry.Build(m)
	if err != nil {
		return err
	}
	for i, line := range strings.SplitAfter(p.String(), "\n") {
		if line == "" {
			continue
		}
		mark := "  "
		if i == resume && resume > 0 {
			mark = "->"
		}
		fmt.Fprint(out, mark+line)
	}
	return nil
}

// runStep runs `trap NAME ARGS...` by hand, only while trapped (the plan
// is not running then). Its log goes to the caller.
func (a *agent) runStep(ctx context.Context, args []string, out io.Writer) error {
	a.mu.Lock()
	m, trapped := a.manifest, a.trapped
	a.mu.Unlock()
	// A step of the node's own plan first: `trap zram` in mode iscsi is
	// the iscsi plan's zram step, the very one `trap continue` runs.
	var s plan.Step
	name := strings.Join(args, " ")
	if p, err := a.registry.Build(m); err == nil {
		s = planStep(p, args)
	}
	if s == nil {
		n, c, rest, ok := a.registry.Lookup(args)
		if !ok {
			return fmt.Errorf("unknown command %q (try: trap help)", name)
		}
		name = n
		if !trapped {
			return fmt.Errorf("%s: only from inside the trap", name)
		}
		var err error
		if s, err = c(m, rest); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	} else if !trapped {
		return fmt.Errorf("%s: only from inside the trap", name)
	}
	fmt.Fprintf(out, "%s: %s\n", s.Name(), s.String())
	if err := a.waitModules(ctx); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	log := slog.New(slog.NewTextHandler(out, nil))
	if err := s.Run(ctx, a.env(m, log)); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	fmt.Fprintf(out, "%s: done\n", s.Name())
	return nil
}

// planStep returns the step of p named exactly by args ("zram", "iscsi
// login"), or nil.
func planStep(p plan.Plan, args []string) plan.Step {
	name := strings.Join(args, " ")
	for _, s := range p {
		if s.Name() == name {
			return s
		}
	}
	return nil
}
