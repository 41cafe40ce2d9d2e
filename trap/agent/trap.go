package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/console"
	"github.com/disklesstrap/disklesstrap/trap/sshd"
)

// trap keeps the node in the trap until the console shell exits or
// `trap continue` arrives (or ctx ends). On the way out it re-fetches the
// manifest, so a mode switched on the server takes effect.
func (a *agent) trap(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	// Drop a stale continue sent while not trapped.
	select {
	case <-a.leave:
	default:
	}
	a.mu.Lock()
	a.trapped = true
	a.phase = phaseTrapped
	m := a.manifest
	a.mu.Unlock()
	a.startSSH()
	mode := "unknown"
	if m != nil {
		mode = string(m.Mode)
	}
	a.printf("in the trap (node %s, mode %s). Type `exit` or run `trap continue` to go on.", a.nodeName(), mode)
	a.report(manifest.PhaseTrapped, "", a.clock.withUptime(map[string]string{"mode": mode, "ssh": a.sshAddr()}))

	cctx, cancel := context.WithCancel(ctx)
	consoleDone := make(chan struct{})
	go func() {
		defer close(consoleDone)
		a.runConsole(cctx)
	}()
	if m != nil && m.Mode == manifest.ModeDiscovery {
		go a.awaitName(cctx) // named.go
	}
	var why string
	select {
	case why = <-a.leave:
	case <-ctx.Done():
		why = "agent stopping"
	}
	cancel()
	<-consoleDone
	a.mu.Lock()
	a.trapped = false
	a.mu.Unlock()
	if ctx.Err() != nil {
		return
	}
	a.printf("leaving the trap (%s)", why)
	a.report(manifest.PhaseContinue, why, nil)
	if m != nil {
		// Re-read the manifest: the admin may have switched the mode.
		if err := a.fetch(ctx, 3); err != nil {
			a.log.Warn("manifest refresh failed; keeping the old one", "err", err)
		}
	}
}

// runConsole runs the console shell; its exit leaves the trap. Without a
// console (or when the shell cannot start) it waits for ctx.
func (a *agent) runConsole(ctx context.Context) {
	cfg := console.Config{
		TTY:   a.cfg.ConsoleTTY,
		Shell: a.cfg.Shell,
		Env:   a.shellEnv(),
		Dir:   a.cfg.Home,
	}
	if a.cfg.ConsoleIn != nil {
		cfg.TTY = ""
		cfg.Stdin = a.cfg.ConsoleIn
		cfg.Stdout, cfg.Stderr = a.cfg.ConsoleOut, a.cfg.ConsoleOut
	} else if cfg.TTY == "" {
		<-ctx.Done()
		return
	}
	err := console.Run(ctx, cfg)
	switch {
	case errors.Is(err, context.Canceled) || ctx.Err() != nil:
		return
	case err != nil:
		a.printf("console shell failed: %v; waiting for `trap continue` over SSH", err)
		<-ctx.Done()
		return
	}
	a.requestLeave("console shell exited")
}

// requestLeave asks the trap to end; false when not trapped.
func (a *agent) requestLeave(why string) bool {
	a.mu.Lock()
	trapped := a.trapped
	a.mu.Unlock()
	if !trapped {
		return false
	}
	select {
	case a.leave <- why:
	default: // one request is enough
	}
	return true
}

func (a *agent) nodeName() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.manifest != nil {
		return a.manifest.Node
	}
	if n := a.node(); n != "" {
		return n
	}
	return "unknown"
}

// shellEnv is the environment of console and SSH shells.
func (a *agent) shellEnv() []string {
	path := a.file.Path
	if path == "" {
		path = DefaultPath
	}
	return []string{
		"ENV=" + a.shrc(), // interactive shells: `trap` is the trap command
		"PATH=" + path,
		"HOME=" + a.cfg.Home,
		"TERM=linux",
		"PS1=" + console.Prompt(a.nodeName()),
		"DT_TRAP_SOCK=" + a.cfg.Socket,
	}
}

// startSSH starts the SSH server once (again after switch_root failed).
func (a *agent) startSSH() {
	if a.cfg.SSHAddr == "off" {
		return
	}
	a.mu.Lock()
	if a.ssh != nil {
		a.mu.Unlock()
		return
	}
	var keys []string
	if a.manifest != nil {
		keys = a.manifest.SSHKeys
	}
	a.mu.Unlock()
	// SSH sessions get TERM from the client's pty request.
	env := slices.DeleteFunc(a.shellEnv(), func(kv string) bool { return strings.HasPrefix(kv, "TERM=") })
	srv, err := sshd.New(sshd.Config{
		Addr: a.cfg.SSHAddr, AuthorizedKeys: keys, Shell: a.cfg.Shell,
		Env: env, Dir: a.cfg.Home, HostKey: a.hostKey, Log: a.log,
		ExecPrelude: fmt.Sprintf("[ -r %[1]s ] && . %[1]s", a.shrc()),
	})
	if err == nil {
		err = srv.Listen()
	}
	if err != nil {
		a.printf("ssh server: %v", err)
		a.report(manifest.PhaseError, fmt.Sprintf("ssh server: %v", err), nil)
		return
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	a.mu.Lock()
	a.ssh, a.sshDone = srv, done
	sendKey := !a.keySent
	a.keySent = true
	a.mu.Unlock()
	a.printf("ssh listening on %s, host key %s", srv.Addr(), srv.Fingerprint())
	if sendKey {
		a.report(manifest.PhaseHostKey, "", map[string]string{"key": srv.AuthorizedKey(), "fingerprint": srv.Fingerprint()})
	}
	if len(keys) == 0 {
		a.printf("no ssh keys in the manifest: nobody can log in over SSH")
	}
}

func (a *agent) stopSSH() {
	a.mu.Lock()
	srv, done := a.ssh, a.sshDone
	a.ssh, a.sshDone = nil, nil
	a.mu.Unlock()
	if srv == nil {
		return
	}
	_ = srv.Close()
	if err := <-done; err != nil {
		a.log.Warn("ssh server", "err", err)
	}
}

func (a *agent) sshAddr() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ssh == nil || a.ssh.Addr() == nil {
		return ""
	}
	addr := a.ssh.Addr().String()
	if a.net != nil {
		if _, port, err := net.SplitHostPort(addr); err == nil {
			return net.JoinHostPort(a.net.Lease.Addr.Addr().String(), port)
		}
	}
	return addr
}

// shrc is the shell start-up file that makes `trap` mean the DisklessTrap
// command in the trap's shells: POSIX shells have a `trap` builtin that
// would otherwise take `trap continue`. It lives next to the control
// socket (under /run in the initramfs).
func (a *agent) shrc() string {
	return filepath.Join(filepath.Dir(a.cfg.Socket), "trap-shrc")
}

// writeShrc writes the shell start-up file; best effort.
func (a *agent) writeShrc() {
	bin := a.cfg.TrapCommand
	if bin == "" {
		bin = "/bin/trap"
	}
	text := fmt.Sprintf("# DisklessTrap: in the trap, `trap` is the trap command (the shell builtin is `command trap`).\nalias trap='%s'\n", bin)
	if err := os.WriteFile(a.shrc(), []byte(text), 0o644); err != nil {
		a.log.Warn("shell start-up file", "path", a.shrc(), "err", err)
	}
}
