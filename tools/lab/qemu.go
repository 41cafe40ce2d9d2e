package lab

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Firmware selects the node's firmware.
type Firmware int

const (
	// BIOS is SeaBIOS with QEMU's iPXE option ROM on the NIC.
	BIOS Firmware = iota
	// UEFI is OVMF using its own PXE client (no iPXE option ROM).
	UEFI
)

func (f Firmware) String() string {
	switch f {
	case BIOS:
		return "bios"
	case UEFI:
		return "uefi"
	}
	return fmt.Sprintf("firmware(%d)", int(f))
}

// NodeSpec describes one QEMU node.
type NodeSpec struct {
	Name     string
	Firmware Firmware
	// MACs has one NIC per entry, NIC i on bridge i. Empty means one NIC on
	// the first bridge with a MAC derived from the node's index in the lab.
	MACs []string
	// NICROM: "" is the firmware's default (BIOS: QEMU's own virtio-net ROM,
	// efi-virtio.rom from ipxe-qemu; UEFI: no option ROM, OVMF's PXE);
	// "none" forces no ROM; anything else is a ROM file path.
	NICROM   string
	MemoryMB int // default 512
	CPUs     int // default 1
	// Kernel, Initrd and Append boot a kernel directly instead of PXE.
	// console=ttyS0 is added to Append unless it sets a console.
	Kernel, Initrd, Append string
	// Disks are image files attached as virtio-blk (qcow2 by extension,
	// raw otherwise), in boot order after the first NIC.
	Disks []string
	// DiskSerials[i], when set, is Disks[i]'s serial number (virtio-blk
	// serial=, /sys/block/vdX/serial in the guest, by-id virtio-SERIAL).
	DiskSerials []string
	NoReboot    bool // exit QEMU instead of rebooting the guest
	ExtraArgs   []string
}

// nodePaths are the per-node files in the lab directory.
type nodePaths struct {
	ConsolePath, SocketPath, QMPPath, VarsPath string
}

func (l *Lab) nodePaths(name string) nodePaths {
	p := nodePaths{
		ConsolePath: filepath.Join(l.dir, name+".console"),
		SocketPath:  filepath.Join(l.dir, name+".sock"),
		QMPPath:     filepath.Join(l.dir, name+".qmp"),
	}
	return p
}

// Node is a running QEMU node.
type Node struct {
	Name    string
	Spec    NodeSpec
	MACs    []string
	Taps    []string
	Started time.Time // when QEMU was started: the boot clock
	Proc    *Proc
	// BMC is the node's simulated BMC (BootBMC); nil for a plain node,
	// whose Proc is QEMU itself.
	BMC *BMC
	nodePaths

	connMu sync.Mutex
	conn   net.Conn
}

// normalize fills defaults and validates a spec against the lab.
func (s NodeSpec) normalize(bridges, index int) (NodeSpec, error) {
	if !safeName.MatchString(s.Name) || strings.Contains(s.Name, ".") {
		return s, fmt.Errorf("node %q: name must match %s without dots", s.Name, safeName)
	}
	if s.Firmware != BIOS && s.Firmware != UEFI {
		return s, fmt.Errorf("node %s: unknown firmware %v", s.Name, s.Firmware)
	}
	if s.MemoryMB == 0 {
		s.MemoryMB = 512
	}
	if s.CPUs == 0 {
		s.CPUs = 1
	}
	if s.MemoryMB < 64 || s.CPUs < 1 {
		return s, fmt.Errorf("node %s: memory %d MB / %d CPUs too small", s.Name, s.MemoryMB, s.CPUs)
	}
	if len(s.MACs) == 0 {
		s.MACs = []string{fmt.Sprintf("52:54:00:d7:%02x:00", index&0xff)}
	}
	if len(s.MACs) > bridges {
		return s, fmt.Errorf("node %s: %d NICs but the lab has %d bridges", s.Name, len(s.MACs), bridges)
	}
	macs := make([]string, len(s.MACs))
	for i, m := range s.MACs {
		hw, err := net.ParseMAC(m)
		if err != nil || len(hw) != 6 {
			return s, fmt.Errorf("node %s: NIC %d: bad MAC %q", s.Name, i, m)
		}
		if hw[0]&1 != 0 {
			return s, fmt.Errorf("node %s: NIC %d: MAC %s is multicast", s.Name, i, m)
		}
		macs[i] = hw.String()
	}
	s.MACs = macs
	if len(s.DiskSerials) > len(s.Disks) {
		return s, fmt.Errorf("node %s: %d disk serials for %d disks", s.Name, len(s.DiskSerials), len(s.Disks))
	}
	for i, ser := range s.DiskSerials {
		if ser != "" && !diskSerial.MatchString(ser) {
			return s, fmt.Errorf("node %s: disk %d: serial %q: want 1-20 of [A-Za-z0-9_.-]", s.Name, i, ser)
		}
	}
	if (s.Initrd != "" || s.Append != "") && s.Kernel == "" {
		return s, fmt.Errorf("node %s: Initrd/Append need Kernel", s.Name)
	}
	if s.Kernel != "" && !strings.Contains(s.Append, "console=") {
		s.Append = strings.TrimSpace(s.Append + " console=ttyS0")
	}
	// Under TCG on a loaded host the kernel's IO-APIC timer check can fail
	// ("IO-APIC + timer doesn't work!", a panic seen in CI-like runs);
	// no_timer_check skips it, as virtual machines usually do.
	if s.Kernel != "" && !strings.Contains(s.Append, "no_timer_check") {
		s.Append = strings.TrimSpace(s.Append + " no_timer_check")
	}
	return s, nil
}

// qemuArgs builds QEMU's arguments (without the binary) for a normalized
// spec; taps[i] is NIC i's tap device.
func qemuArgs(s NodeSpec, taps []string, p nodePaths, ovmfCode string) []string {
	a := []string{
		"-name", "guest=" + s.Name,
		"-machine", "pc",
		"-m", fmt.Sprint(s.MemoryMB),
		"-smp", fmt.Sprint(s.CPUs),
		"-nodefaults", "-nographic",
		"-chardev", fmt.Sprintf("socket,id=con0,path=%s,server=on,wait=off,logfile=%s", p.SocketPath, p.ConsolePath),
		"-serial", "chardev:con0",
		"-qmp", fmt.Sprintf("unix:%s,server=on,wait=off", p.QMPPath),
	}
	if s.Firmware == UEFI {
		a = append(a,
			"-drive", "if=pflash,format=raw,unit=0,readonly=on,file="+ovmfCode,
			"-drive", "if=pflash,format=raw,unit=1,file="+p.VarsPath)
	}
	pxe := s.Kernel == ""
	for i, mac := range s.MACs {
		a = append(a, "-netdev", fmt.Sprintf("tap,id=n%d,ifname=%s,script=no,downscript=no", i, taps[i]))
		dev := fmt.Sprintf("virtio-net-pci,netdev=n%d,mac=%s", i, mac)
		switch {
		case s.NICROM == "none" || (s.NICROM == "" && s.Firmware == UEFI):
			dev += ",romfile="
		case s.NICROM != "":
			dev += ",romfile=" + s.NICROM
		}
		if pxe && i == 0 {
			dev += ",bootindex=1"
		}
		a = append(a, "-device", dev)
	}
	for i, d := range s.Disks {
		format := "raw"
		if strings.HasSuffix(d, ".qcow2") {
			format = "qcow2"
		}
		a = append(a,
			"-drive", fmt.Sprintf("file=%s,if=none,id=d%d,format=%s,cache=unsafe", d, i, format))
		dev := fmt.Sprintf("virtio-blk-pci,drive=d%d,bootindex=%d", i, i+2)
		if i < len(s.DiskSerials) && s.DiskSerials[i] != "" {
			dev += ",serial=" + s.DiskSerials[i]
		}
		a = append(a, "-device", dev)
	}
	if s.Kernel != "" {
		a = append(a, "-kernel", s.Kernel, "-append", s.Append)
		if s.Initrd != "" {
			a = append(a, "-initrd", s.Initrd)
		}
	}
	if s.NoReboot {
		a = append(a, "-no-reboot")
	}
	return append(a, s.ExtraArgs...)
}

// diskSerial is what a virtio-blk serial may hold here (no QEMU option
// separators).
var diskSerial = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,20}$`)

// maxSocketPath is the limit of a unix socket path (sun_path).
const maxSocketPath = 107

// Boot creates the node's tap devices inside the namespace, attaches NIC i
// to bridge i and starts QEMU inside the namespace. The node is stopped by
// Close (or Node.Stop); its taps are removed after QEMU exits.
func (l *Lab) Boot(spec NodeSpec) (*Node, error) {
	s, p, taps, err := l.prepareNode(spec)
	if err != nil {
		return nil, err
	}
	args := qemuArgs(s, taps, p, l.opts.OVMFCode)
	cmd := l.Exec(context.Background(), l.opts.QEMU, args...)
	proc, err := l.Start(s.Name+".qemu", cmd)
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", s.Name, err)
	}
	n := &Node{Name: s.Name, Spec: s, MACs: s.MACs, Taps: taps, Started: proc.Started, Proc: proc, nodePaths: p}
	l.addNode(n)
	l.log.Info("lab node booting", "node", s.Name, "firmware", s.Firmware, "macs", s.MACs, "pid", proc.PID())
	return n, nil
}

// prepareNode registers the node's name, normalizes its spec, clears its
// console files, copies UEFI variables and creates its taps.
func (l *Lab) prepareNode(spec NodeSpec) (NodeSpec, nodePaths, []string, error) {
	if l.isClosed() {
		return spec, nodePaths{}, nil, fmt.Errorf("node %s: lab closed", spec.Name)
	}
	l.mu.Lock()
	if l.nodeNames == nil {
		l.nodeNames = map[string]bool{}
	}
	if l.nodeNames[spec.Name] {
		l.mu.Unlock()
		return spec, nodePaths{}, nil, fmt.Errorf("node %s: already booted in this lab", spec.Name)
	}
	l.nodeNames[spec.Name] = true
	index := len(l.nodeNames)
	l.mu.Unlock()
	s, err := spec.normalize(len(l.opts.Bridges), index)
	if err != nil {
		return s, nodePaths{}, nil, err
	}
	p := l.nodePaths(s.Name)
	if len(p.SocketPath) > maxSocketPath || len(p.QMPPath) > maxSocketPath {
		return s, p, nil, fmt.Errorf("node %s: socket path %s longer than %d bytes (use a shorter lab Dir)", s.Name, p.QMPPath, maxSocketPath)
	}
	for _, f := range []string{p.ConsolePath, p.SocketPath, p.QMPPath} {
		_ = os.Remove(f)
	}
	if s.Firmware == UEFI {
		p.VarsPath = filepath.Join(l.dir, s.Name+".vars.fd")
		if err := copyFile(l.opts.OVMFVars, p.VarsPath); err != nil {
			return s, p, nil, fmt.Errorf("node %s: OVMF vars: %w", s.Name, err)
		}
	}
	taps, err := l.createTaps(s)
	return s, p, taps, err
}

// addNode records a started node and closes its console connection at Close.
func (l *Lab) addNode(n *Node) {
	l.mu.Lock()
	l.nodes = append(l.nodes, n)
	l.mu.Unlock()
	l.push("console of "+n.Name, n.closeConsole)
}

func (l *Lab) createTaps(s NodeSpec) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var taps []string
	for i := range s.MACs {
		l.mu.Lock()
		tap := fmt.Sprintf("tap%d", l.nextTap)
		l.nextTap++
		l.mu.Unlock()
		if err := ip(ctx, "-n", l.ns, "tuntap", "add", "dev", tap, "mode", "tap"); err != nil {
			return nil, fmt.Errorf("node %s: NIC %d: %w", s.Name, i, err)
		}
		ns := l.ns
		l.push("tap "+tap, func() error {
			if !NamespaceExists(ns) {
				return nil
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return ip(ctx, "-n", ns, "link", "del", tap)
		})
		if err := ip(ctx, "-n", l.ns, "link", "set", tap, "master", l.opts.Bridges[i].Name, "up"); err != nil {
			return nil, fmt.Errorf("node %s: NIC %d: %w", s.Name, i, err)
		}
		taps = append(taps, tap)
	}
	return taps, nil
}
