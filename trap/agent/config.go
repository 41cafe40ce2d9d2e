package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/disklesstrap/disklesstrap/trap/netup"
	"github.com/disklesstrap/disklesstrap/trap/plan"
)

// Config is how the agent runs. As /init, cmd/trap fills it for the real
// machine; on the host, tests point it at a fake root, a port, a socket
// and a manifest.
type Config struct {
	// Root prefixes the files the agent reads from the initramfs
	// (etc/trap/config.json, lib/modules). "" means "/".
	Root string
	// CmdlinePath is the kernel command line. Default /proc/cmdline.
	// Server, Node and MAC override what it says.
	CmdlinePath       string
	Server, Node, MAC string
	// ConfigPath is the builder's config file. Default
	// Root/etc/trap/config.json; a missing file means defaults.
	ConfigPath string
	// ManifestFile reads the manifest from a file instead of the server
	// (host runs, tests).
	ManifestFile string
	// Mount mounts /proc /sys /dev /dev/pts /dev/shm /run /tmp (PID 1).
	Mount bool
	// Reap collects orphaned zombies (PID 1).
	Reap bool
	// SetHostname sets the kernel hostname from dt.node, then the manifest.
	SetHostname bool
	// LoadModules loads the config file's modules from Root/lib/modules.
	LoadModules bool
	// Net brings up the boot interface with these ops (netup.Netlink(0)
	// on the real machine). Nil: the network is assumed up.
	Net netup.Ops
	// NetConfig tunes netup (MAC is filled from BOOTIF).
	NetConfig netup.Config
	// FetchAttempts bounds manifest fetches per try (default 20, ~3 min);
	// FetchBackoff is the first delay (default 500ms, capped at 10s).
	FetchAttempts int
	FetchBackoff  time.Duration
	// RegisterAttempts bounds boot key registrations (default 10).
	RegisterAttempts int
	// OSTokenFile is where the booted OS's token is written before
	// switch_root; default nodeauth.OSTokenFile as PID 1 (Mount), else
	// none.
	OSTokenFile string
	// SSHAddr is the SSH listen address (default from the config file,
	// else ":22"). "off" disables SSH.
	SSHAddr string
	// TrapCommand is the path of the `trap` CLI that the trap's shells
	// alias `trap` to. Default /bin/trap (the initramfs symlink to /init).
	TrapCommand string
	// Socket is the control socket of the `trap` command. Default
	// /run/trap.sock.
	Socket string
	// ConsoleTTY is the console shell's terminal ("/dev/console" as
	// PID 1). Empty with ConsoleIn nil: no console shell.
	ConsoleTTY string
	// ConsoleIn/ConsoleOut replace the tty (tests: an os.Pipe and a
	// buffer).
	ConsoleIn  *os.File
	ConsoleOut io.Writer
	// Out receives the agent's prominent messages (the console). Default
	// ConsoleOut, else os.Stderr.
	Out io.Writer
	// Shell for the console and SSH sessions (default from the config
	// file, else /bin/sh). Home is their HOME and cwd (default /root).
	Shell string
	Home  string
	// Registry builds plans and `trap STEP` commands. Default plan.Default.
	Registry *plan.Registry
	// Runner and Sys are the plan's seams (hostsys on the real machine).
	Runner plan.Runner
	Sys    plan.Sys
	// ReturnAfterPlan makes Run return nil when a plan finishes without
	// switching root (tests). Otherwise the agent goes back to the trap.
	ReturnAfterPlan bool
	Log             *slog.Logger
	// BMC is the seam of the in-band BMC set-up (bmcsetup.go); nil: the
	// kernel's /dev/ipmi0 and bootsrv's secret pull.
	BMC *BMCSeam
}

// FileConfig is /etc/trap/config.json, written by the initramfs builder.
type FileConfig struct {
	// Modules are loaded in order at boot: "virtio_net", "e1000",
	// optionally with parameters ("zram num_devices=2").
	Modules []string `json:"modules"`
	// KernelVersion selects lib/modules/VERSION; default uname -r.
	KernelVersion string `json:"kernel_version,omitempty"`
	Shell         string `json:"shell,omitempty"`
	SSHAddr       string `json:"ssh_addr,omitempty"`
	// Path is PATH for shells. Default /bin:/sbin:/usr/bin:/usr/sbin.
	Path string `json:"path,omitempty"`
}

// DefaultModules are loaded when the config file has no "modules".
var DefaultModules = []string{"virtio_net", "e1000"}

// ReadFileConfig reads the builder's config. A missing file gives the
// defaults.
func ReadFileConfig(path string) (FileConfig, error) {
	fc := FileConfig{}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		fc.Modules = DefaultModules
		return fc, nil
	}
	if err != nil {
		return fc, fmt.Errorf("read agent config %s: %w", path, err)
	}
	if err := json.Unmarshal(b, &fc); err != nil {
		return FileConfig{Modules: DefaultModules}, fmt.Errorf("agent config %s: %w", path, err)
	}
	if fc.Modules == nil {
		fc.Modules = DefaultModules
	}
	return fc, nil
}

// DefaultPath is the agent's and the trap shells' PATH in the initramfs:
// host binaries keep their own paths, u-root commands live in /bbin.
const DefaultPath = "/bin:/sbin:/usr/bin:/usr/sbin:/bbin"
