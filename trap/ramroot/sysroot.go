package ramroot

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/plan"
)

// NetworkEnv is where the sysroot step writes the boot interface's
// configuration for the image's init (KEY=value lines, shell and systemd
// EnvironmentFile compatible).
const NetworkEnv = "/etc/dt/network.env"

// NetworkdFile is the systemd-networkd unit written when the image has
// /etc/systemd.
const NetworkdFile = "/etc/systemd/network/10-dt-boot.network"

// Sysroot is the "sysroot" step: hostname, network.env (and a
// systemd-networkd .network when the image has /etc/systemd), the
// manifest's files and symlinks, units enabled/disabled as symlinks in
// the .wants folders of the targets their unit files name (EnableUnit),
// /.autorelabel removed.
// It reports manifest.PhaseSysroot when done.
type Sysroot struct {
	Node     string
	Hostname string
	Server   string
	Network  *manifest.Network
	Sysroot  manifest.Sysroot
	Root     string
}

// Name implements plan.Step.
func (s *Sysroot) Name() string { return "sysroot" }

// String implements plan.Step.
func (s *Sysroot) String() string {
	parts := []string{"hostname " + s.hostname()}
	if s.Network != nil {
		parts = append(parts, fmt.Sprintf("%s %s %s %s", NetworkEnv, s.Network.Interface, s.Network.MAC, s.Network.Address))
	}
	if n := len(s.Sysroot.Files); n > 0 {
		parts = append(parts, fmt.Sprintf("%d file(s)", n))
	}
	if n := len(s.Sysroot.Symlinks); n > 0 {
		parts = append(parts, fmt.Sprintf("%d symlink(s)", n))
	}
	if len(s.Sysroot.Enable) > 0 {
		parts = append(parts, "enable "+strings.Join(s.Sysroot.Enable, " "))
	}
	if len(s.Sysroot.Disable) > 0 {
		parts = append(parts, "disable "+strings.Join(s.Sysroot.Disable, " "))
	}
	parts = append(parts, "rm /.autorelabel")
	return "in " + NewRoot + ": " + strings.Join(parts, ", ")
}

func (s *Sysroot) hostname() string {
	if s.Hostname != "" {
		return s.Hostname
	}
	return s.Node
}

// Run implements plan.Step. Every write goes through a plan.Tree on
// /sysroot: the image's own symlinks (absolute ones above all) cannot
// take a write into the initramfs.
func (s *Sysroot) Run(ctx context.Context, env *plan.Env) error {
	t, err := OpenTree(env, s.Root+NewRoot)
	if err != nil {
		return err
	}
	defer t.Close()
	write := func(p string, data []byte, mode uint32) error {
		if err := t.MkdirAll(path.Dir(p)); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		if err := t.WriteFile(p, data, mode); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		return nil
	}
	if err := write("/etc/hostname", []byte(s.hostname()+"\n"), 0o644); err != nil {
		return err
	}
	envText, err := NetworkEnvText(s.Node, s.hostname(), s.Server, s.Network)
	if err != nil {
		return err
	}
	if err := write(NetworkEnv, []byte(envText), 0o644); err != nil {
		return err
	}
	if s.Network != nil && t.Exists("/etc/systemd") {
		if err := write(NetworkdFile, []byte(NetworkdText(s.Network)), 0o644); err != nil {
			return err
		}
	}
	for _, f := range s.Sysroot.Files {
		p, err := absPath(f.Path)
		if err != nil {
			return fmt.Errorf("file: %w", err)
		}
		mode, err := ParseMode(f.Mode)
		if err != nil {
			return fmt.Errorf("file %s: %w", p, err)
		}
		if err := write(p, []byte(f.Content), mode); err != nil {
			return err
		}
	}
	for _, l := range s.Sysroot.Symlinks {
		p, err := absPath(l.Path)
		if err != nil {
			return fmt.Errorf("symlink: %w", err)
		}
		if err := link(t, l.Target, p); err != nil {
			return err
		}
	}
	for _, u := range s.Sysroot.Enable {
		if err := enableUnit(t, u); err != nil {
			return err
		}
	}
	for _, u := range s.Sysroot.Disable {
		if err := disableUnit(t, u); err != nil {
			return err
		}
	}
	if err := t.Remove("/.autorelabel"); err != nil {
		return fmt.Errorf("remove /.autorelabel: %w", err)
	}
	reportPhase(env, manifest.PhaseSysroot, map[string]string{"step": s.Name()})
	return nil
}

// UnitDirs are the folders of an image where systemd unit files are
// looked up, in order.
var UnitDirs = []string{"/etc/systemd/system/", "/usr/lib/systemd/system/", "/lib/systemd/system/"}

// WantsDir holds the symlinks of the units enabled for multi-user.target,
// the target of a unit whose file names none.
const WantsDir = "/etc/systemd/system/multi-user.target.wants/"

// FindUnit returns the path of unit's file in the image at root (the path
// inside the image, without root), or "" when no UnitDirs folder has it.
func FindUnit(env *plan.Env, root, unit string) string {
	t, err := OpenTree(env, root)
	if err != nil {
		return ""
	}
	defer t.Close()
	return findUnit(t, unit)
}

func findUnit(t plan.Tree, unit string) string {
	for _, dir := range UnitDirs {
		if t.Exists(dir + unit) {
			return dir + unit
		}
	}
	return ""
}

// EnableUnit enables unit in the image at root the way `systemctl --root
// enable` would: a symlink to the unit file FindUnit finds in the .wants
// folder of each target its [Install] section names in WantedBy=
// (Debian's iscsid.service and multipathd.service: sysinit.target), or
// in WantsDir when it names none or cannot be read. A bad name or a
// missing unit file is an error; an existing link is replaced (re-running
// is safe). It writes through a plan.Tree (see Sysroot.Run).
func EnableUnit(env *plan.Env, root, unit string) error {
	t, err := OpenTree(env, root)
	if err != nil {
		return fmt.Errorf("enable %s: %w", unit, err)
	}
	defer t.Close()
	return enableUnit(t, unit)
}

func enableUnit(t plan.Tree, unit string) error {
	if !unitRE.MatchString(unit) {
		return fmt.Errorf("enable %q: not a unit name", unit)
	}
	target := findUnit(t, unit)
	if target == "" {
		return fmt.Errorf("enable %s: no unit file in the image (looked in /etc, /usr/lib and /lib systemd/system)", unit)
	}
	for _, dir := range wantsDirs(t, target) {
		if err := link(t, target, dir+unit); err != nil {
			return fmt.Errorf("enable %s: %w", unit, err)
		}
	}
	return nil
}

// disableUnit removes unit's links from the .wants folders EnableUnit
// would use, and from WantsDir; missing links are fine.
func disableUnit(t plan.Tree, unit string) error {
	if !unitRE.MatchString(unit) {
		return fmt.Errorf("disable %q: not a unit name", unit)
	}
	dirs := []string{WantsDir}
	if target := findUnit(t, unit); target != "" {
		dirs = append(dirs, wantsDirs(t, target)...)
	}
	for _, dir := range dirs {
		if err := t.Remove(dir + unit); err != nil {
			return fmt.Errorf("disable %s: %w", unit, err)
		}
	}
	return nil
}

// wantsDirs are the .wants folders of the targets named by WantedBy= in
// the [Install] section of the unit file at file (WantsDir when none).
func wantsDirs(t plan.Tree, file string) []string {
	data, err := t.ReadFile(file)
	if err != nil {
		return []string{WantsDir}
	}
	var dirs []string
	seen := map[string]bool{}
	for _, t := range WantedBy(string(data)) {
		if d := "/etc/systemd/system/" + t + ".wants/"; !seen[d] {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	if len(dirs) == 0 {
		return []string{WantsDir}
	}
	return dirs
}

// WantedBy returns the targets a unit file's [Install] section lists in
// WantedBy= lines (space-separated, in order; an empty assignment resets
// the list as in systemd), skipping names that are not unit names.
func WantedBy(unitFile string) []string {
	var out []string
	section := ""
	for _, line := range strings.Split(unitFile, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			section = line
			continue
		}
		if section != "[Install]" {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(key) != "WantedBy" {
			continue
		}
		if strings.TrimSpace(value) == "" {
			out = nil
			continue
		}
		for _, t := range strings.Fields(value) {
			if unitRE.MatchString(t) {
				out = append(out, t)
			}
		}
	}
	return out
}

var unitRE = regexp.MustCompile(`^[A-Za-z0-9:_.@\\-]+\.(service|socket|timer|target|path|mount)$`)

// link makes p (inside the tree) a symlink to target, replacing what was there.
func link(t plan.Tree, target, p string) error {
	if err := t.MkdirAll(path.Dir(p)); err != nil {
		return fmt.Errorf("symlink %s: %w", p, err)
	}
	if err := t.Remove(p); err != nil {
		return fmt.Errorf("symlink %s: %w", p, err)
	}
	if err := t.Symlink(target, p); err != nil {
		return fmt.Errorf("symlink %s -> %s: %w", p, target, err)
	}
	return nil
}

func absPath(p string) (string, error) {
	if !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("path %q: want an absolute path", p)
	}
	c := path.Clean(p)
	if c == "/" {
		return "", fmt.Errorf("path %q: names the root", p)
	}
	return c, nil
}

// NetworkEnvText renders network.env: NODE, HOSTNAME, SERVER, INTERFACE
// (the inventory's name, e.g. net0: find the kernel link by MAC), MAC,
// ADDRESS (CIDR), GATEWAY. Values with shell-special characters are single
// quoted; a quote or newline in a value is an error.
func NetworkEnvText(node, hostname, server string, n *manifest.Network) (string, error) {
	kv := [][2]string{{"NODE", node}, {"HOSTNAME", hostname}, {"SERVER", server}}
	if n != nil {
		kv = append(kv, [2]string{"INTERFACE", n.Interface}, [2]string{"MAC", n.MAC},
			[2]string{"ADDRESS", n.Address}, [2]string{"GATEWAY", n.Gateway})
	}
	var b strings.Builder
	for _, p := range kv {
		v := p[1]
		if strings.ContainsAny(v, "'\n\r\x00") {
			return "", fmt.Errorf("network.env %s=%q: quote or newline in value", p[0], v)
		}
		if !safeRE.MatchString(v) {
			v = "'" + v + "'"
		}
		fmt.Fprintf(&b, "%s=%s\n", p[0], v)
	}
	return b.String(), nil
}

var safeRE = regexp.MustCompile(`^[A-Za-z0-9_./:@%+=,-]*$`)

// NetworkdText renders the systemd-networkd unit for the boot interface.
func NetworkdText(n *manifest.Network) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by the DisklessTrap agent.\n[Match]\nMACAddress=%s\n\n[Network]\n", n.MAC)
	if n.Address == "" {
		b.WriteString("DHCP=ipv4\n")
	} else {
		fmt.Fprintf(&b, "Address=%s\n", n.Address)
	}
	if n.Gateway != "" {
		fmt.Fprintf(&b, "Gateway=%s\n", n.Gateway)
	}
	return b.String()
}

func reportPhase(env *plan.Env, phase string, data map[string]string) {
	if env.Report == nil {
		return
	}
	node := ""
	if env.Manifest != nil {
		node = env.Manifest.Node
	}
	env.Report(manifest.Event{Node: node, Phase: phase, Data: data})
}
