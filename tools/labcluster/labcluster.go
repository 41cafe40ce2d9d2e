// Package labcluster runs a whole DisklessTrap cluster in the QEMU lab:
// it builds the trap initramfs, lays out bootsrv's data directory (iPXE
// binaries, guest kernel, initramfs), writes an inventory with a freshly
// generated admin SSH key, starts the real bootsrv binary inside the lab's
// network namespace and boots QEMU nodes that PXE-boot from it.
//
// The lab tests (tools/e2e) and `make demo` (cmd/lab) share it, so the demo
// is exactly what the tests prove.
package labcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/client"
	"github.com/disklesstrap/disklesstrap/tools/lab"
)

// Node is one lab node as the inventory knows it.
type Node struct {
	Name     string
	MAC      string
	IP       string
	Firmware lab.Firmware
	Mode     string // inventory mode; "" = the defaults' (trap)
	// MAC2 and IP2, when set, give the node a second NIC (inventory
	// interface net1 on network lab2) on the lab's second bridge, for
	// multipath; the lab needs two bridges (Options.Bridges).
	MAC2, IP2 string
	// Attrs are extra inventory attributes of the node, in key order, the
	// values as YAML (quote strings that need it: `"iqn…"`, `[a, b]`).
	Attrs map[string]string
	// Disks are raw or qcow2 image files attached as virtio disks (after
	// the NIC in boot order), DiskSerials their serial numbers.
	Disks, DiskSerials []string
	// BMC, when set, boots the node behind a simulated BMC (ipmi_sim) with
	// this LAN address and user (lab.BootBMC); the inventory's bmc_*
	// attributes are the caller's (Attrs).
	BMC *lab.BMCSpec
}

// Options configures a lab cluster.
type Options struct {
	Nodes []Node
	// Initrd is a prebuilt trap initramfs; "" builds one (see BuildInitrd).
	Initrd string
	// ExtraInventory is appended to the generated cluster.yaml's
	// defaults block verbatim (indented by the caller), for later issues.
	ExtraInventory string
	// BootsrvArgs are extra bootsrv flags (e.g. "--seed-rate", "4194304").
	BootsrvArgs []string
	Logger      *slog.Logger
	// Dir keeps the lab directory; "" uses a temporary one.
	Dir string
	// Bridges are the lab's bridges (lab.Options.Bridges); nil is the
	// default single bridge, or DefaultBridges when a node has MAC2.
	Bridges []lab.Bridge
}

// Cluster is a running lab cluster.
type Cluster struct {
	Lab       *lab.Lab
	Dir       string // lab directory: keys, inventory, state, data, logs
	Key       string // admin private key (in the inventory)
	WrongKey  string // a key not in the inventory
	Inventory string
	StateDir  string
	DataDir   string
	URL       string // bootsrv base URL inside the namespace (public routes)
	// AdminSocket is bootsrv's admin socket (DIR/run/admin.sock); API and
	// Trapctl use it as root: the lab's admin credential.
	AdminSocket string
	API         *client.Client
	Bootsrv     *lab.Proc
	Nodes       map[string]*lab.Node
	opts        Options
	bootsrv     string
	trapctl     string
	log         *slog.Logger
}

// Start builds what is missing and starts bootsrv in a new lab. With t
// non-nil everything is cleaned up by t.Cleanup; otherwise call Close.
func Start(ctx context.Context, t testing.TB, opts Options) (c *Cluster, err error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	l, err := lab.New(t, lab.Options{Dir: opts.Dir, Logger: opts.Logger, Bridges: opts.bridges()})
	if err != nil {
		return nil, err
	}
	c = &Cluster{Lab: l, Dir: l.Dir(), opts: opts, log: opts.Logger, Nodes: map[string]*lab.Node{}}
	defer func() {
		if err != nil && t == nil {
			l.Close()
		}
	}()
	c.StateDir = filepath.Join(c.Dir, "state")
	c.DataDir = filepath.Join(c.Dir, "data")
	c.Inventory = filepath.Join(c.Dir, "cluster.yaml")
	c.URL = "http://" + l.BridgeAddr(0).String() + ":8080"
	c.AdminSocket = filepath.Join(c.Dir, "run", "admin.sock")
	for _, d := range []string{c.StateDir, filepath.Join(c.DataDir, "tftp"), filepath.Join(c.DataDir, "boot")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	if c.bootsrv, err = GoBuild(ctx, "./cmd/bootsrv", filepath.Join(c.Dir, "bin")); err != nil {
		return nil, err
	}
	if c.Key, err = keygen(ctx, filepath.Join(c.Dir, "admin_key")); err != nil {
		return nil, err
	}
	if c.WrongKey, err = keygen(ctx, filepath.Join(c.Dir, "wrong_key")); err != nil {
		return nil, err
	}
	if err := c.layoutData(ctx); err != nil {
		return nil, err
	}
	if err := c.writeInventory(); err != nil {
		return nil, err
	}
	if err := c.StartBootsrv(ctx); err != nil {
		return nil, err
	}
	c.API = client.New("unix://"+c.AdminSocket, l.HTTPClient())
	return c, nil
}

// Close stops every node and bootsrv and removes the namespace.
func (c *Cluster) Close() error { return c.Lab.Close() }

// layoutData copies the iPXE binaries, the guest kernel and the initramfs.
func (c *Cluster) layoutData(ctx context.Context) error {
	for name, src := range map[string]string{
		"tftp/undionly.kpxe": "/usr/lib/ipxe/undionly.kpxe",
		"tftp/snponly.efi":   "/usr/lib/ipxe/snponly.efi",
	} {
		if err := CopyFile(src, filepath.Join(c.DataDir, name), 0o644); err != nil {
			return fmt.Errorf("iPXE binary (package ipxe; run make lab-deps): %w", err)
		}
	}
	k, err := FindKernel()
	if err != nil {
		return err
	}
	if err := CopyFile(k.Vmlinuz, filepath.Join(c.DataDir, "boot", "vmlinuz"), 0o644); err != nil {
		return err
	}
	initrd := c.opts.Initrd
	if initrd == "" {
		if initrd, err = BuildInitrd(ctx, filepath.Join(c.Dir, "trap.cpio.gz")); err != nil {
			return err
		}
	}
	return CopyFile(initrd, filepath.Join(c.DataDir, "boot", "trap.cpio.gz"), 0o644)
}

func (c *Cluster) writeInventory() error {
	pub, err := os.ReadFile(c.Key + ".pub")
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, `# Generated by labcluster for the QEMU lab.
networks:
  - name: lab
    interface: br0
    subnet: %s
    server: %s
    dynamic: 198.18.0.200-198.18.0.250
    lease: 12h
%sdefaults:
  mode: trap
  kernel: vmlinuz
  initrd: trap.cpio.gz
  cmdline: console=ttyS0,115200 no_timer_check
  ssh_keys:
    - %s
%s
nodes:
`, c.Lab.Bridges()[0].Addr.Masked(), c.Lab.BridgeAddr(0), extraNetworks(c.Lab.Bridges()), strings.TrimSpace(string(pub)), c.opts.ExtraInventory)
	for _, n := range c.opts.Nodes {
		fmt.Fprintf(&b, "  - name: %s\n", n.Name)
		if n.Mode != "" {
			fmt.Fprintf(&b, "    mode: %s\n", n.Mode)
		}
		keys := make([]string, 0, len(n.Attrs))
		for k := range n.Attrs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "    %s: %s\n", k, n.Attrs[k])
		}
		fmt.Fprintf(&b, "    interfaces:\n      - name: net0\n        network: lab\n        mac: %q\n        ip: %s\n", n.MAC, n.IP)
		b.WriteString(secondInterface(n))
	}
	return os.WriteFile(c.Inventory, []byte(b.String()), 0o644)
}

// StartBootsrv starts (or restarts) bootsrv inside the namespace and waits
// until its HTTP port answers.
func (c *Cluster) StartBootsrv(ctx context.Context) error {
	args := append([]string{"--config", c.Inventory, "--interface", "br0",
		"--state", c.StateDir, "--data", c.DataDir, "--http", ":8080", "--admin-socket", c.AdminSocket,
		"--log-level", "debug"}, c.opts.BootsrvArgs...)
	cmd := c.Lab.Exec(context.Background(), c.bootsrv, args...)
	p, err := c.Lab.Start("bootsrv", cmd)
	if err != nil {
		return err
	}
	c.Bootsrv = p
	if err := c.Lab.WaitListen(ctx, c.Lab.BridgeAddr(0).String()+":8080", 20*time.Second); err != nil {
		return fmt.Errorf("bootsrv did not start: %w\n%s", err, tail(p.Log(), 20))
	}
	return nil
}

// StopBootsrv stops bootsrv (SIGTERM, then SIGKILL).
func (c *Cluster) StopBootsrv() error {
	if c.Bootsrv == nil {
		return nil
	}
	err := c.Bootsrv.Stop()
	c.Bootsrv = nil
	return err
}

// Boot starts the named inventory node in QEMU; it PXE-boots from bootsrv.
func (c *Cluster) Boot(name string) (*lab.Node, error) {
	for _, n := range c.opts.Nodes {
		if n.Name == name {
			spec := lab.NodeSpec{Name: n.Name, Firmware: n.Firmware, MACs: n.macs(), MemoryMB: 768,
				Disks: n.Disks, DiskSerials: n.DiskSerials}
			boot := c.Lab.Boot
			if n.BMC != nil {
				boot = func(s lab.NodeSpec) (*lab.Node, error) { return c.Lab.BootBMC(s, *n.BMC) }
			}
			node, err := boot(spec)
			if err != nil {
				return nil, err
			}
			c.Nodes[name] = node
			return node, nil
		}
	}
	return nil, fmt.Errorf("node %s: not in the lab inventory", name)
}

// NodeIP returns the inventory address of a node.
func (c *Cluster) NodeIP(name string) string {
	for _, n := range c.opts.Nodes {
		if n.Name == name {
			return n.IP
		}
	}
	return ""
}

// SSHArgs is the OpenSSH command line (inside the namespace) that logs in to
// a trapped node with key.
func (c *Cluster) SSHArgs(name, key string, command ...string) []string {
	args := []string{"ip", "netns", "exec", c.Lab.Namespace(), "ssh",
		"-i", key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
		"root@" + c.NodeIP(name)}
	return append(args, command...)
}

// SSH runs command on a trapped node with the real OpenSSH client.
func (c *Cluster) SSH(ctx context.Context, name, key string, command ...string) (string, error) {
	args := c.SSHArgs(name, key, command...)
	out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ssh %s %q: %w: %s", name, command, err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// WaitSSH retries SSH until it succeeds or timeout passes.
func (c *Cluster) WaitSSH(ctx context.Context, name string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if _, err = c.SSH(ctx, name, c.Key, "true"); err == nil {
			return nil
		}
		time.Sleep(2 * time.Second)
	}
	return fmt.Errorf("ssh to %s for %v: %w", name, timeout, err)
}

func keygen(ctx context.Context, path string) (string, error) {
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	out, err := exec.CommandContext(ctx, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", filepath.Base(path), "-f", path).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("ssh-keygen %s: %w: %s", path, err, out)
	}
	return path, nil
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

var errNoRepo = errors.New("labcluster: no go.mod above the working directory")

// Trapctl runs the real trapctl CLI inside the namespace against this
// cluster's bootsrv, as root on its admin socket, and returns its combined
// output.
func (c *Cluster) Trapctl(ctx context.Context, args ...string) (string, error) {
	return c.trapctlAt(ctx, "unix://"+c.AdminSocket, nil, args...)
}

// TrapctlAdmin is Trapctl with stdin as trapctl's standard input (nil:
// none).
func (c *Cluster) TrapctlAdmin(ctx context.Context, stdin []byte, args ...string) (string, error) {
	return c.trapctlAt(ctx, "unix://"+c.AdminSocket, stdin, args...)
}

func (c *Cluster) trapctlAt(ctx context.Context, url string, stdin []byte, args ...string) (string, error) {
	if c.trapctl == "" {
		bin, err := GoBuild(ctx, "./cmd/trapctl", filepath.Join(c.Dir, "bin"))
		if err != nil {
			return "", err
		}
		c.trapctl = bin
	}
	full := append([]string{"netns", "exec", c.Lab.Namespace(), c.trapctl, "--server", url}, args...)
	cmd := exec.CommandContext(ctx, "ip", full...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("trapctl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}
