// Package manifest is the one contract between bootsrv and the trap agent:
// the per-node manifest a node fetches at boot, the events it reports back,
// and the kernel command-line keys that tell the agent where bootsrv is.
//
// Neither side imports the other's packages; both import this one. Keep it
// small and free of dependencies beyond the standard library so the agent
// binary stays small.
package manifest

import (
	"encoding/json"
	"fmt"
	"time"
)

// Version is the manifest schema version. A node refuses a manifest with a
// newer major version than it knows.
const Version = 1

// Mode is what a node does when it boots.
type Mode string

// The boot modes (see docs/architecture.md).
const (
	ModeTrap      Mode = "trap"      // stay in the trap: SSH + console shell
	ModeDiscovery Mode = "discovery" // unknown node: register inventory, wait in the trap
	ModeRAMRoot   Mode = "ramroot"   // image into RAM/zram, overlay, switch_root
	ModeISCSI     Mode = "iscsi"     // iSCSI + multipath + LUKS + zram overlays
	ModeStatelite Mode = "statelite" // statelite trees
	ModeInstall   Mode = "install"   // diskful: partscript + image + postscript, then local
	ModeLocal     Mode = "local"     // boot from the local disk (iPXE script only)
	ModeService   Mode = "service"   // trap with diagnostics
)

// Modes lists every valid mode, in documentation order.
var Modes = []Mode{ModeTrap, ModeDiscovery, ModeRAMRoot, ModeISCSI, ModeStatelite, ModeInstall, ModeLocal, ModeService}

// ParseMode validates s as a Mode.
func ParseMode(s string) (Mode, error) {
	for _, m := range Modes {
		if string(m) == s {
			return m, nil
		}
	}
	return "", fmt.Errorf("unknown mode %q (want one of trap, discovery, ramroot, iscsi, statelite, install, local, service)", s)
}

// Traps reports whether the mode keeps the node in the trap instead of
// running a provisioning plan.
func (m Mode) Traps() bool {
	return m == ModeTrap || m == ModeDiscovery || m == ModeService
}

// PlanMode is the mode whose plan runs when the node leaves (or never
// enters) the trap: Mode itself, or Continue for a trapping mode.
func (m *Manifest) PlanMode() (Mode, error) {
	if !m.Mode.Traps() {
		return m.Mode, nil
	}
	if m.Continue == "" || m.Continue.Traps() {
		return "", fmt.Errorf("mode %s: nothing to continue to (the node's mode is %s; give it a provisioning mode with `trapctl mode set %s MODE`)", m.Mode, m.Mode, m.Node)
	}
	return m.Continue, nil
}

// Kernel command-line keys written by bootsrv's iPXE script and read by the
// agent. BOOTIF is the pxelinux/iPXE convention: "01-aa-bb-cc-dd-ee-ff".
const (
	CmdlineBootIF = "BOOTIF"    // boot interface MAC, 01-xx-xx-...
	CmdlineServer = "dt.server" // bootsrv base URL, e.g. http://198.18.0.1:8080
	CmdlineNode   = "dt.node"   // node name; empty for unknown (discovery) nodes
	CmdlineMode   = "dt.mode"   // mode at script time (informational; the manifest wins)
	CmdlineDebug  = "dt.debug"  // 1: verbose agent logging
)

// Manifest is what GET /manifest/{node} returns (JSON).
type Manifest struct {
	Version  int    `json:"version"`
	Node     string `json:"node"`
	Hostname string `json:"hostname"`
	Mode     Mode   `json:"mode"`
	// Once is true when Mode is a next-boot-only override.
	Once bool `json:"once,omitempty"`
	// Continue is the provisioning mode a trapped node runs when the admin
	// leaves the trap (console `exit`, `trap continue`): the node's
	// persistent mode when a trap/service override holds it. Empty when
	// there is nothing to continue to.
	Continue Mode `json:"continue,omitempty"`
	// Server is bootsrv's base URL, e.g. "http://198.18.0.1:8080".
	Server string `json:"server"`
	// SecretServer is bootsrv's TLS base URL for secret pulls
	// ("https://198.18.0.1:8443"): set only when bootsrv serves TLS and
	// lets this node pull secrets. The agent fetches SecretPath there,
	// trusting only the certificate pinned in its initramfs, and never
	// over plain HTTP; empty means secrets must be pushed over SSH.
	SecretServer string `json:"secret_server,omitempty"`
	// SSHKeys are authorized_keys lines allowed into the trap.
	SSHKeys []string `json:"ssh_keys"`
	// Network is the boot interface's configuration as the inventory knows it.
	Network *Network `json:"network,omitempty"`
	// Interfaces are the node's other interfaces that have a reserved
	// address in the inventory (e.g. the second iSCSI path's NIC): the
	// agent sets each up with its address (no DHCP, no default route)
	// right after the manifest arrives.
	Interfaces []Network `json:"interfaces,omitempty"`
	// Generated is when bootsrv rendered the manifest.
	Generated time.Time `json:"generated"`
	// Problems are what bootsrv found wrong with the node's configuration
	// while rendering (e.g. "mode ramroot: no image: node cn001's image
	// attribute is not set"); the agent shows them in the trap and in the
	// error of a plan that needs the missing pieces. Empty when all is well.
	Problems []string `json:"problems,omitempty"`

	// Stateless boot (mode ramroot); see ramroot.go and RAMRootDefaults.

	// Image is the OS image the node boots from RAM.
	Image *Image `json:"image,omitempty"`
	// Zram lists the compressed RAM disks to create; the first one holds
	// the overlay upper and work directories.
	Zram []Zram `json:"zram,omitempty"`
	// Overlays are the mount points (inside the new root) that get their
	// own overlayfs, in mount order. Default ["/", "/var"].
	Overlays []string `json:"overlays,omitempty"`
	// Sysroot is what the agent writes into the new root before switch_root.
	Sysroot *Sysroot `json:"sysroot,omitempty"`
	// Init is the program switch_root executes. Default "/sbin/init".
	Init string `json:"init,omitempty"`

	// Postscripts are what the booted OS runs after the network is up,
	// in name order: the image profile's plus the node's postscripts
	// attribute (postscripts.go). Served as text to the OS at
	// /manifest/NODE/postscripts.
	Postscripts []Postscript `json:"postscripts,omitempty"`

	// ISCSI is mode iscsi's storage (see iscsi.go); Zram, Overlays,
	// Sysroot and Init apply to it as to mode ramroot.
	ISCSI *ISCSI `json:"iscsi,omitempty"`
	// BMCSetup asks the agent to configure the node's own BMC in-band
	// before the plan runs (inventory setupbmc: yes; see bmc.go).
	BMCSetup *BMCSetup `json:"bmc_setup,omitempty"`

	// Statelite is mode statelite's description (see statelite.go);
	// Image (unless Statelite.Root is set), Sysroot and Init apply to it
	// as to mode ramroot.
	Statelite *Statelite `json:"statelite,omitempty"`

	// Install is mode install's disk, scripts and bootloader (see
	// install.go); Image and Sysroot apply to it as to mode ramroot.
	Install *Install `json:"install,omitempty"`
}

// Network is the boot interface's layer-3 configuration.
type Network struct {
	Interface string `json:"interface,omitempty"` // name in the inventory, e.g. "net0"
	MAC       string `json:"mac"`
	Address   string `json:"address"` // CIDR, e.g. "198.18.0.11/24"
	Gateway   string `json:"gateway,omitempty"`
}

// Decode parses and validates a manifest.
func Decode(b []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Validate checks the fields the agent depends on.
func (m *Manifest) Validate() error {
	switch {
	case m.Version < 1 || m.Version > Version:
		return fmt.Errorf("manifest: version %d not supported (agent knows 1..%d)", m.Version, Version)
	case m.Node == "":
		return fmt.Errorf("manifest: field node is empty")
	case m.Server == "":
		return fmt.Errorf("manifest %s: field server is empty", m.Node)
	}
	if _, err := ParseMode(string(m.Mode)); err != nil {
		return fmt.Errorf("manifest %s: field mode: %w", m.Node, err)
	}
	if m.Continue != "" {
		if _, err := ParseMode(string(m.Continue)); err != nil {
			return fmt.Errorf("manifest %s: field continue: %w", m.Node, err)
		}
	}
	return nil
}

// Event phases a node reports. The last phase reported is a node's phase in
// `trapctl status`.
const (
	PhaseAgentStart  = "agent-start" // /init started
	PhaseNetUp       = "net-up"      // DHCP done; Data: address, interface
	PhaseManifest    = "manifest"    // manifest fetched; Data: mode
	PhaseTrapped     = "trapped"     // in the trap, SSH listening
	PhaseHostKey     = "ssh-hostkey" // Data: "key" = authorized_keys form of the host key, "fingerprint"
	PhaseStepStart   = "step-start"  // Data: step
	PhaseStepDone    = "step-done"   // Data: step
	PhaseStepFailed  = "step-failed" // Data: step; Message: the error
	PhaseContinue    = "continue"    // left the trap (console exit / trap continue)
	PhaseSysroot     = "sysroot-ready"
	PhaseSwitchRoot  = "switch-root"
	PhaseOSBooted    = "os-booted"
	PhaseDiscovered  = "discovered" // unknown node registered; Data: inventory
	PhaseProgress    = "progress"   // Data: step, done, total, percent, ...
	PhaseError       = "error"      // anything else that went wrong; Message: the error
	PhaseUnreachable = "unreachable"
	// Secret releases (docs/threat-model.md): bootsrv records
	// secret-released and secret-refused itself; the agent reports
	// secret-received once it holds the value. Data: name (never a value).
	PhaseSecretReleased = "secret-released"
	PhaseSecretRefused  = "secret-refused"
	PhaseSecretReceived = "secret-received"
	// The booted OS's first-boot unit (images built by trapctl image build):
	PhasePostscript        = "postscript"         // one script ran; Data: script, exit, output (last lines)
	PhasePostscriptsDone   = "postscripts-done"   // every postscript exited 0
	PhasePostscriptsFailed = "postscripts-failed" // Data: failed (names); the boot went on
)

// Event is what a node POSTs to /api/v1/events.
type Event struct {
	Node    string            `json:"node"`
	MAC     string            `json:"mac,omitempty"`
	Phase   string            `json:"phase"`
	Message string            `json:"message,omitempty"`
	Data    map[string]string `json:"data,omitempty"`
	Time    time.Time         `json:"time"`
}
