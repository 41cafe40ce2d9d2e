// Command trap is the DisklessTrap agent and its CLI in one binary.
//
// As /init of the initramfs (PID 1, or argv[0] "init") it runs the agent:
// see package trap/agent. It never returns then: on a fatal error it
// prints it and sleeps forever, since PID 1 exiting panics the kernel.
//
// Invoked as `trap` (a symlink /bin/trap -> /init) or as `/init trap ...`
// it is the admin's command inside the trap: `trap continue`, `trap
// status`, `trap plan`, `trap manifest`, `trap STEP ...`, talking to the
// running agent over /run/trap.sock.
//
// On the host, `trap agent -root DIR -manifest FILE -ssh 127.0.0.1:2222
// -socket /tmp/trap.sock -console -` runs the agent as an ordinary process
// (no mounts, modules or network unless asked).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/disklesstrap/disklesstrap/trap/agent"
	"github.com/disklesstrap/disklesstrap/trap/ctl"
	"github.com/disklesstrap/disklesstrap/trap/hostsys"
	"github.com/disklesstrap/disklesstrap/trap/netup"
)

func main() {
	pid1 := os.Getpid() == 1
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	if pid1 {
		stop() // PID 1 is never stopped by a signal: nothing may kill the trap
		ctx = context.Background()
		handlePowerSignals() // but reboot/poweroff/halt from an admin work
	}
	if pid1 || isInit(os.Args) {
		// The kernel starts init without PATH; steps run mkfs, losetup...
		if os.Getenv("PATH") == "" {
			os.Setenv("PATH", agent.DefaultPath)
		}
	}
	err := run(ctx, os.Args, os.Stdout, os.Stderr)
	var ec exitCode
	if errors.As(err, &ec) && !pid1 {
		os.Exit(int(ec))
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "*** DisklessTrap: %v\n", err)
	}
	if pid1 || isInit(os.Args) {
		fmt.Fprintln(os.Stderr, "*** DisklessTrap: the agent stopped; sleeping forever (PID 1 must not exit)")
		for {
			time.Sleep(time.Hour)
		}
	}
	if err != nil {
		os.Exit(1)
	}
}

// exitCode carries the CLI's exit status.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func isInit(args []string) bool {
	return len(args) > 0 && filepath.Base(args[0]) == "init" && (len(args) < 2 || args[1] != "trap")
}

// run dispatches: agent (as init or `trap agent`) or the trap CLI.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	base := ""
	if len(args) > 0 {
		base = filepath.Base(args[0])
	}
	switch {
	case len(args) > 1 && args[1] == "agent":
		return runAgent(ctx, args[2:], false, stderr)
	case len(args) > 1 && args[1] == "trap":
		return cli(args[2:], stdout, stderr)
	case len(args) > 1 && args[1] == "pathd":
		return runPathd(ctx, args[2:], stderr)
	case base == "init" || os.Getpid() == 1:
		return runAgent(ctx, args[1:], true, stderr)
	default:
		return cli(args[1:], stdout, stderr)
	}
}

func cli(args []string, stdout, stderr io.Writer) error {
	if code := ctl.Main(args, stdout, stderr); code != 0 {
		return exitCode(code)
	}
	return nil
}

// runAgent parses the agent's flags. As init the defaults are the real
// machine's; as `trap agent` everything touching the host is off unless
// asked for.
func runAgent(ctx context.Context, args []string, init bool, stderr io.Writer) error {
	fs := flag.NewFlagSet("trap agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg      agent.Config
		consoleF string
		debug    bool
	)
	fs.StringVar(&cfg.Root, "root", "/", "root of the initramfs files (etc/trap/config.json, lib/modules)")
	fs.StringVar(&cfg.CmdlinePath, "cmdline", "/proc/cmdline", "kernel command line file")
	fs.StringVar(&cfg.Server, "server", "", "bootsrv URL (overrides dt.server)")
	fs.StringVar(&cfg.Node, "node", "", "node name (overrides dt.node)")
	fs.StringVar(&cfg.MAC, "mac", "", "boot MAC (overrides BOOTIF)")
	fs.StringVar(&cfg.ManifestFile, "manifest", "", "read the manifest from this file instead of the server")
	fs.StringVar(&cfg.SSHAddr, "ssh", "", `SSH listen address (default ":22"; "off" disables)`)
	fs.StringVar(&cfg.Socket, "socket", ctl.Socket(), "control socket of the trap command")
	fs.StringVar(&consoleF, "console", "", `console shell tty ("/dev/console" as init, "-" for stdin/stdout, "" for none)`)
	fs.StringVar(&cfg.Shell, "shell", "", "shell for the console and SSH (default /bin/sh)")
	fs.StringVar(&cfg.Home, "home", "/root", "HOME and working directory of shells")
	fs.BoolVar(&cfg.Mount, "mount", init, "mount /proc /sys /dev /run /tmp")
	fs.BoolVar(&cfg.SetHostname, "hostname", init, "set the hostname")
	fs.BoolVar(&cfg.Reap, "reap", init, "reap orphaned zombies (PID 1)")
	fs.BoolVar(&cfg.LoadModules, "modules", init, "load the kernel modules of the config file")
	netOn := fs.Bool("net", init, "bring up the boot interface (netlink + DHCP)")
	fs.BoolVar(&debug, "debug", false, "debug logging")
	if init {
		consoleF = "/dev/console"
	}
	if err := fs.Parse(args); err != nil {
		return exitCode(2)
	}
	level := slog.LevelInfo
	if debug {
		level = slog.LevelDebug
	}
	cfg.Log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	cfg.Out = stderr
	switch consoleF {
	case "":
	case "-":
		cfg.ConsoleIn, cfg.ConsoleOut = os.Stdin, os.Stdout
	default:
		cfg.ConsoleTTY = consoleF
	}
	if *netOn {
		cfg.Net = netup.Netlink(0)
	}
	if init {
		if c, err := os.OpenFile("/dev/console", os.O_WRONLY|syscall.O_NOCTTY, 0); err == nil {
			cfg.Out = c
		}
	}
	cfg.Runner, cfg.Sys = hostsys.Runner{}, hostsys.Sys{}
	registerModes()
	return agent.Run(ctx, cfg)
}
