package lab

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// BMCSpec puts a node behind a simulated BMC: Debian's OpenIPMI ipmi_sim,
// in a lab host of its own on bridge Bridge with LAN address Addr, serving
// IPMI v2.0 (RMCP+) on UDP 623 for user User with password Password. The
// simulator starts QEMU itself (its startcmd) with an ipmi-bmc-extern +
// isa-ipmi-kcs device connected back to it, so chassis power off/on/cycle/
// reset really stop, start and reset the QEMU process, and the guest sees
// the BMC on its KCS interface (/dev/ipmi0).
type BMCSpec struct {
	Addr           netip.Prefix
	Bridge         int
	User, Password string
	// StartOff leaves the node powered off until a power on (ipmi_sim's
	// startnow false): a BMC without a running node is cheap.
	StartOff bool
	// SOL gives the BMC the node's serial console for Serial-over-LAN:
	// QEMU's ttyS0 becomes a TCP server the simulator connects to (still
	// logged to the console file, but SendConsole is not available).
	SOL bool
}

// BMC is a running simulated BMC.
type BMC struct {
	BMCSpec
	Host    *Host  // the BMC's own namespace (eth0 on the bridge)
	PIDFile string // QEMU's pidfile (-pidfile), rewritten at every power on
	Sim     *Proc  // ipmi_sim
}

// kcsPort is where ipmi_sim listens for QEMU's KCS connection, on the
// BMC host's address.
const kcsPort = 9002

var bmcCred = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,16}$`)

// QEMUPID is the PID of the node's QEMU process, 0 when powered off.
func (b *BMC) QEMUPID() int {
	data, err := os.ReadFile(b.PIDFile)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || !PIDAlive(pid) {
		return 0
	}
	return pid
}

// BootBMC starts a node behind a simulated BMC (see BMCSpec). The node's
// Proc is ipmi_sim; QEMU runs as its child inside the lab's namespace
// (Node.BMC.QEMUPID). The console log survives power cycles (logappend).
func (l *Lab) BootBMC(spec NodeSpec, bmc BMCSpec) (*Node, error) {
	if !bmcCred.MatchString(bmc.User) || !bmcCred.MatchString(bmc.Password) {
		return nil, fmt.Errorf("node %s: BMC user and password must match %s", spec.Name, bmcCred)
	}
	s, p, taps, err := l.prepareNode(spec)
	if err != nil {
		return nil, err
	}
	h, err := l.AddHost(bmc.Bridge, bmc.Addr)
	if err != nil {
		return nil, fmt.Errorf("node %s: BMC: %w", s.Name, err)
	}
	// QEMU reaches the simulator's KCS listener over a link-local address
	// of the BMC host that stays when the BMC's LAN address changes.
	a4 := bmc.Addr.Addr().As4()
	kcs := netip.AddrFrom4([4]byte{169, 254, a4[2], a4[3]})
	if err := l.linkLocal(h, bmc.Bridge, kcs); err != nil {
		return nil, fmt.Errorf("node %s: BMC: %w", s.Name, err)
	}
	dir := filepath.Join(l.dir, s.Name+".bmc")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	b := &BMC{BMCSpec: bmc, Host: h, PIDFile: filepath.Join(dir, "qemu.pid")}
	args := qemuArgs(s, taps, p, l.opts.OVMFCode)
	solPort := 9200 + int(a4[3])
	for i, a := range args {
		if strings.HasPrefix(a, "socket,id=con0,") {
			if bmc.SOL {
				a = fmt.Sprintf("socket,id=con0,host=169.254.0.1,port=%d,server=on,wait=off,logfile=%s", solPort, p.ConsolePath)
			}
			args[i] = a + ",logappend=on"
		}
	}
	args = append(args,
		"-chardev", fmt.Sprintf("socket,id=ipmi0,host=%s,port=%d,reconnect=2", kcs, kcsPort),
		"-device", "ipmi-bmc-extern,id=bmc0,chardev=ipmi0",
		"-device", "isa-ipmi-kcs,bmc=bmc0",
		"-pidfile", b.PIDFile)
	files := map[string]string{
		"qemu.sh":   qemuScript(l.ns, l.opts.QEMU, args),
		"lan.conf":  lanConf(s.Name, bmc, kcs, solPort, filepath.Join(dir, "qemu.sh"), filepath.Join(dir, "lanctl.sh")),
		"sim.emu":   simEmu,
		"lanctl.sh": lanControlScript,
	}
	for name, content := range files {
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), mode); err != nil {
			return nil, err
		}
	}
	// Runs after ipmi_sim is stopped (cleanups run in reverse): QEMU is
	// its child in another namespace and would outlive it.
	l.push("QEMU of "+s.Name, func() error { return killPIDFile(b.PIDFile) })
	cmd := h.Command(context.Background(), "ipmi_sim", "-c", filepath.Join(dir, "lan.conf"),
		"-f", filepath.Join(dir, "sim.emu"), "-n", "-s", filepath.Join(dir, "state"))
	stdin, err := cmd.StdinPipe() // ipmi_sim ends when its stdin closes
	if err != nil {
		return nil, err
	}
	proc, err := l.Start(s.Name+".bmc", cmd)
	if err != nil {
		return nil, fmt.Errorf("node %s: BMC (package openipmi; run make lab-deps): %w", s.Name, err)
	}
	l.push("stdin of "+s.Name+" BMC", stdin.Close)
	b.Sim = proc
	n := &Node{Name: s.Name, Spec: s, MACs: s.MACs, Taps: taps, Started: proc.Started, Proc: proc, nodePaths: p, BMC: b}
	l.addNode(n)
	l.log.Info("lab node booting behind a BMC", "node", s.Name, "bmc", bmc.Addr, "pid", proc.PID())
	return n, nil
}

func qemuScript(ns, qemu string, args []string) string {
	var b strings.Builder
	b.WriteString("#!/bin/sh\n# Started by ipmi_sim at power on: QEMU inside the lab namespace.\nexec ip netns exec ")
	b.WriteString(shellQuote(ns) + " " + shellQuote(qemu))
	for _, a := range args {
		b.WriteString(" " + shellQuote(a))
	}
	b.WriteString("\n")
	return b.String()
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func lanConf(name string, bmc BMCSpec, kcs netip.Addr, solPort int, startcmd, lanctl string) string {
	guid := sha256.Sum256([]byte(name))
	sol := ""
	if bmc.SOL {
		sol = fmt.Sprintf("sol \"tcp:169.254.0.1:%d\" 115200\n", solPort)
	}
	return fmt.Sprintf(`name "bmc-%s"
set_working_mc 0x20
startlan 1
  addr 0.0.0.0 623
  priv_limit admin
  allowed_auths_callback none md2 md5 straight
  allowed_auths_user none md2 md5 straight
  allowed_auths_operator none md2 md5 straight
  allowed_auths_admin none md2 md5 straight
  guid %x
  lan_config_program "%s eth0"
endlan
serial kcs %s %d codec VM
startcmd "%s"
startnow %t
poweroff_wait 5
kill_wait 5
user 2 true "%s" "%s" admin 10 none md2 md5 straight
%s`, name, guid[:16], lanctl, kcs, kcsPort, startcmd, !bmc.StartOff, bmc.User, bmc.Password, sol)
}

const simEmu = `mc_setbmc 0x20
mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr
sel_enable 0x20 1000 0x0a
mc_enable 0x20
`

// lanControlScript is ipmi_sim's lan_config_program: it reads and applies
// the LAN parameters of the BMC's own namespace (eth0), so an address set
// over KCS or the LAN really moves the BMC.
const lanControlScript = `#!/bin/sh
# ipmi_sim lan_config_program: DEVICE get PARM... | DEVICE set|check PARM VALUE...
# (OpenIPMI's ipmi_sim_lancontrol protocol; get prints PARM:VALUE lines).
echo "$(date +%T) $*" >> "$(dirname "$0")/lanctl.log"
dev=$1; op=$2; shift 2
case $op in
get)
  for p in "$@"; do
    case $p in
    ip_addr) echo "ip_addr:$(ip -4 -o addr show dev "$dev" scope global | awk '{split($4,a,"/"); print a[1]; exit}')";;
    mac_addr) echo "mac_addr:$(cat /sys/class/net/"$dev"/address)";;
    subnet_mask) echo "subnet_mask:255.255.255.0";;
    default_gw_ip_addr) echo "default_gw_ip_addr:$(ip -4 route show default | awk '{print $3; exit}')";;
    default_gw_mac_addr|backup_gw_mac_addr) echo "$p:00:00:00:00:00:00";;
    backup_gw_ip_addr) echo "$p:0.0.0.0";;
    ip_addr_src) echo "ip_addr_src:static";;
    esac
  done;;
set)
  addr= gw=
  while [ $# -ge 2 ]; do
    case $1 in
    ip_addr) addr=$2;;
    default_gw_ip_addr) gw=$2;;
    esac
    shift 2
  done
  if [ -n "$addr" ] && [ "$addr" != 0.0.0.0 ]; then ip addr flush dev "$dev" scope global && ip addr add "$addr/24" dev "$dev"; fi
  if [ -n "$gw" ] && [ "$gw" != 0.0.0.0 ]; then ip route replace default via "$gw" dev "$dev" 2>/dev/null; fi;;
esac
exit 0
`

// linkLocal gives the BMC host addr/16 (scope link) and the lab's first
// bridge 169.254.0.1/16 (once per bridge).
func (l *Lab) linkLocal(h *Host, bridge int, addr netip.Addr) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ip(ctx, "-n", h.NS, "addr", "add", addr.String()+"/16", "scope", "link", "dev", "eth0"); err != nil {
		return err
	}
	out, _ := exec.CommandContext(ctx, "ip", "-n", l.ns, "-4", "addr", "show", "dev", l.opts.Bridges[bridge].Name).Output()
	if strings.Contains(string(out), "169.254.0.1/16") {
		return nil
	}
	return ip(ctx, "-n", l.ns, "addr", "add", "169.254.0.1/16", "scope", "link", "dev", l.opts.Bridges[bridge].Name)
}

func killPIDFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 1 || !PIDAlive(pid) {
		return nil
	}
	if cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); !strings.Contains(string(cmd), "qemu") {
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for end := time.Now().Add(StopGrace); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if !PIDAlive(pid) {
			return nil
		}
	}
	return syscall.Kill(pid, syscall.SIGKILL)
}
