// Package agent is the trap agent's main loop, /init of the initramfs:
// mount the pseudo filesystems, set the hostname, load the NIC modules,
// bring up the boot interface, fetch the manifest, then either stay in the
// trap (SSH server + console shell) or build and run the mode's plan.
//
// Any failure prints `*** DisklessTrap: ...` on the console, reports an
// event and enters the trap; `exit` on the console or `trap continue`
// over the control socket leaves it, re-fetches the manifest and runs the
// plan again from the failed step (from the start when the plan changed).
// The agent never exits as PID 1 and never reboots by itself.
//
// switch_root: when a step reports manifest.PhaseSwitchRoot, the agent
// stops SSH, the console shell and the control socket and flushes its
// events before the step execs the new init.
package agent

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/disklesstrap/disklesstrap/boottiming"
	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/nodeauth"
	"github.com/disklesstrap/disklesstrap/trap/bootclient"
	"github.com/disklesstrap/disklesstrap/trap/cmdline"
	"github.com/disklesstrap/disklesstrap/trap/hwinfo"
	"github.com/disklesstrap/disklesstrap/trap/netup"
	"github.com/disklesstrap/disklesstrap/trap/plan"
	"github.com/disklesstrap/disklesstrap/trap/sshd"
)

// Phases of the agent shown by `trap status` (besides manifest.Phase*).
const (
	phaseBoot    = "boot"
	phaseFetch   = "fetching manifest"
	phaseTrapped = "trapped"
	phasePlan    = "running plan"
	phaseDone    = "plan finished"
)

type agent struct {
	cfg      Config
	file     FileConfig
	log      *slog.Logger
	out      io.Writer
	outMu    sync.Mutex
	reporter *bootclient.Reporter
	cmdline  *cmdline.Cmdline
	mac      net.HardwareAddr
	registry *plan.Registry
	hostKey  ed25519.PrivateKey
	clock    *bootClock      // boot marks for the events (timing.go)
	modsDone <-chan struct{} // closed once the background modules are loaded

	mu        sync.Mutex
	phase     string
	lastErr   error
	manifest  *manifest.Manifest
	plan      plan.Plan
	resume    int
	bmcDone   bool // the BMC set-up ran this boot
	net       *netup.Result
	netErr    error
	trapped   bool
	leave     chan string
	ssh       *sshd.Server
	sshDone   chan error
	keySent   bool
	signer    *nodeauth.Signer // the boot's node credential (nodeauth.go)
	stopCtl   context.CancelFunc
	ctlDone   chan struct{}
	switching bool
	named     bool // discovery named the machine (named.go)
}

// Run runs the agent until ctx is done (or, with ReturnAfterPlan, until
// a plan finishes). It returns ctx.Err() when cancelled.
func Run(ctx context.Context, cfg Config) error {
	a, err := newAgent(cfg)
	if err != nil {
		return err
	}
	defer a.shutdown()
	return a.run(ctx)
}

func newAgent(cfg Config) (*agent, error) {
	if cfg.Root == "" {
		cfg.Root = "/"
	}
	if cfg.CmdlinePath == "" {
		cfg.CmdlinePath = "/proc/cmdline"
	}
	if cfg.ConfigPath == "" {
		cfg.ConfigPath = filepath.Join(cfg.Root, "etc/trap/config.json")
	}
	if cfg.Socket == "" {
		cfg.Socket = "/run/trap.sock"
	}
	if cfg.Home == "" {
		cfg.Home = "/root"
	}
	if cfg.FetchAttempts <= 0 {
		cfg.FetchAttempts = 20
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	a := &agent{cfg: cfg, log: cfg.Log, phase: phaseBoot, leave: make(chan string, 1), registry: cfg.Registry, clock: newBootClock()}
	closed := make(chan struct{})
	close(closed)
	a.modsDone = closed
	if a.registry == nil {
		a.registry = plan.Default
	}
	a.out = cfg.Out
	if a.out == nil {
		a.out = cfg.ConsoleOut
	}
	if a.out == nil {
		a.out = os.Stderr
	}
	fc, err := ReadFileConfig(cfg.ConfigPath)
	if err != nil {
		a.log.Error("agent config", "err", err)
	}
	a.file = fc
	if a.cfg.Shell == "" {
		a.cfg.Shell = fc.Shell
	}
	if a.cfg.Shell == "" {
		a.cfg.Shell = "/bin/sh"
	}
	if a.cfg.SSHAddr == "" {
		a.cfg.SSHAddr = fc.SSHAddr
	}
	if a.cfg.SSHAddr == "" {
		a.cfg.SSHAddr = ":22"
	}
	_, a.hostKey, err = ed25519.GenerateKey(nil)
	if err != nil {
		return nil, fmt.Errorf("generate ssh host key: %w", err)
	}
	a.reporter = bootclient.NewReporter(64, 3*time.Second, a.log)
	return a, nil
}

// printf writes a prominent line on the console.
func (a *agent) printf(format string, args ...any) {
	a.outMu.Lock()
	defer a.outMu.Unlock()
	fmt.Fprintf(a.out, "*** DisklessTrap: "+format+"\n", args...)
}

func (a *agent) setPhase(p string) {
	a.mu.Lock()
	a.phase = p
	a.mu.Unlock()
}

func (a *agent) report(phase, msg string, data map[string]string) {
	a.reporter.Report(manifest.Event{Phase: phase, Message: msg, Data: data})
}

// fail shows err prominently, reports it and remembers it for status.
func (a *agent) fail(err error) {
	a.mu.Lock()
	a.lastErr = err
	a.mu.Unlock()
	var se *plan.StepError
	if errors.As(err, &se) {
		// plan.Run already reported step-failed.
		a.printf("step %d (%s) failed: %v", se.Index+1, se.Step.Name(), se.Err)
	} else {
		a.printf("%v", err)
		a.report(manifest.PhaseError, err.Error(), nil)
	}
	a.log.Error("entering the trap", "err", err)
}

func (a *agent) run(ctx context.Context) error {
	started := time.Now()
	a.clock.marks[boottiming.KeyUptime] = a.clock.uptime(started)
	a.boot(ctx)
	if a.cfg.Reap {
		go reap(ctx, "/proc", 5*time.Second)
	}
	a.startControl(ctx)
	a.reporter.Report(manifest.Event{Phase: manifest.PhaseAgentStart, Time: started.UTC(), Data: maps.Clone(a.clock.marks)})
	if a.net != nil {
		a.report(manifest.PhaseNetUp, "", map[string]string{"interface": a.net.Interface, "address": a.net.Lease.Addr.String()})
	}
	left := false // the admin left the trap at least once
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if a.takeNamed() {
			left = false // the named node starts over in its new mode
		}
		if a.cfg.Net != nil && a.netErr != nil {
			if err := a.netUp(ctx); err != nil {
				a.fail(err)
				a.trap(ctx)
				continue
			}
			a.registerBoot(ctx)
		}
		a.mu.Lock()
		m := a.manifest
		a.mu.Unlock()
		if m == nil {
			if err := a.fetch(ctx, a.cfg.FetchAttempts); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				a.fail(err)
				a.trap(ctx)
				continue
			}
			a.mu.Lock()
			m = a.manifest
			a.mu.Unlock()
		}
		if m.Mode.Traps() && !left {
			a.trap(ctx)
			left = true
			continue
		}
		a.setupBMC(ctx, m)
		done, err := a.runPlan(ctx, m)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			a.fail(err)
			a.trap(ctx)
			left = true
			continue
		}
		if done && a.cfg.ReturnAfterPlan {
			return nil
		}
		a.printf("plan finished without switching root; staying in the trap")
		a.trap(ctx)
		left = true
	}
}

// runPlan builds the plan for m and runs it from the resume point.
func (a *agent) runPlan(ctx context.Context, m *manifest.Manifest) (bool, error) {
	if err := a.waitModules(ctx); err != nil {
		return false, err
	}
	p, err := a.registry.Build(m)
	if err != nil {
		return false, err
	}
	a.mu.Lock()
	if a.plan == nil || a.plan.String() != p.String() {
		a.resume = 0 // a new or changed plan starts over
	}
	a.plan = p
	start := a.resume
	a.phase = phasePlan
	a.mu.Unlock()
	if start > 0 {
		a.printf("resuming the plan at step %d (%s)", start+1, p[start].Name())
	}
	err = p.Run(ctx, a.env(m, a.log), start)
	var se *plan.StepError
	if errors.As(err, &se) {
		a.mu.Lock()
		a.resume = se.Index
		a.mu.Unlock()
		return false, err
	}
	if err != nil {
		return false, err
	}
	a.mu.Lock()
	a.resume = 0
	a.phase = phaseDone
	a.mu.Unlock()
	return true, nil
}

// env is the plan environment. Events go to bootsrv; a switch-root event
// shuts the trap's services down first.
func (a *agent) env(m *manifest.Manifest, log *slog.Logger) *plan.Env {
	return &plan.Env{
		Manifest:      m,
		Run:           a.cfg.Runner,
		Sys:           a.cfg.Sys,
		Log:           log,
		Sign:          a.sign,
		AnnounceQuery: a.announceQuery(),
		Report: func(ev manifest.Event) {
			if ev.Phase == manifest.PhaseSwitchRoot {
				a.writeOSToken()
			}
			a.reporter.Report(ev)
			if ev.Phase == manifest.PhaseSwitchRoot {
				a.beforeSwitchRoot()
			}
		},
	}
}

// beforeSwitchRoot stops the trap's services and flushes events.
func (a *agent) beforeSwitchRoot() {
	a.mu.Lock()
	a.switching = true
	a.mu.Unlock()
	a.stopSSH()
	if a.stopCtl != nil {
		a.stopCtl()
		<-a.ctlDone
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = a.reporter.Flush(ctx)
}

func (a *agent) shutdown() {
	a.stopSSH()
	if a.stopCtl != nil {
		a.stopCtl()
		<-a.ctlDone
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = a.reporter.Flush(ctx)
	a.reporter.Close()
}

// fetch gets the manifest (from a file or the server) and applies it.
func (a *agent) fetch(ctx context.Context, attempts int) error {
	a.setPhase(phaseFetch)
	var (
		m   *manifest.Manifest
		err error
	)
	if a.cfg.ManifestFile != "" {
		var b []byte
		if b, err = os.ReadFile(a.cfg.ManifestFile); err == nil {
			m, err = manifest.Decode(b)
		}
		if err != nil {
			err = fmt.Errorf("manifest %s: %w", a.cfg.ManifestFile, err)
		}
	} else {
		f := &bootclient.Fetcher{Attempts: attempts, Backoff: a.cfg.FetchBackoff, Log: a.log}
		m, err = f.Manifest(ctx, a.server(), a.node(), a.mac)
	}
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.manifest = m
	a.mu.Unlock()
	a.reporter.SetTarget(m.Server, m.Node, macString(a.mac))
	if a.cfg.ManifestFile != "" && a.server() != "" {
		a.reporter.SetTarget(a.server(), m.Node, macString(a.mac))
	}
	a.setHostname(m)
	a.extraInterfaces(m)
	a.mu.Lock()
	if a.ssh != nil {
		a.ssh.SetAuthorizedKeys(m.SSHKeys)
	}
	a.mu.Unlock()
	a.report(manifest.PhaseManifest, "", a.clock.withUptime(map[string]string{"mode": string(m.Mode)}))
	if m.Mode == manifest.ModeDiscovery || m.Mode == manifest.ModeService || m.Mode == manifest.ModeInstall {
		// The hardware report needs every driver in: disks appear only once
		// the background modules (virtio_blk, ahci, nvme...) are loaded.
		if err := a.waitModules(ctx); err != nil {
			a.log.Warn("hardware report before the kernel modules are in", "err", err)
		}
	}
	switch m.Mode {
	case manifest.ModeDiscovery:
		inv, _ := json.Marshal(hwinfo.Collect(a.cfg.Root))
		a.report(manifest.PhaseDiscovered, "", map[string]string{"inventory": string(inv)})
	case manifest.ModeService, manifest.ModeInstall:
		// The hardware report bootsrv keeps for `trapctl node inventory`.
		hw := hwinfo.Collect(a.cfg.Root)
		inv, _ := json.Marshal(hw)
		fw := hw.Firmware
		if fw == "" {
			fw = "unknown"
		}
		a.report(manifest.PhaseInventory, fmt.Sprintf("%d disk(s), %d NIC(s), firmware %s", len(hw.Disks), len(hw.NICs), fw),
			map[string]string{"inventory": string(inv)})
	}
	a.log.Info("manifest", "node", m.Node, "mode", m.Mode, "keys", len(m.SSHKeys))
	return nil
}

func (a *agent) server() string {
	if a.cfg.Server != "" {
		return strings.TrimRight(a.cfg.Server, "/")
	}
	return a.cmdline.Server()
}

func (a *agent) node() string {
	if a.cfg.Node != "" {
		return a.cfg.Node
	}
	return a.cmdline.Node()
}

func macString(m net.HardwareAddr) string {
	if m == nil {
		return ""
	}
	return m.String()
}
