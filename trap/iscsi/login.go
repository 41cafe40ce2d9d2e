package iscsi

import (
	"context"
	"fmt"
	"log/slog"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/plan"
)

// Files the login step writes (inside the initramfs: RAM only).
const (
	InitiatorFile = "/etc/iscsi/initiatorname.iscsi"
	IscsidConf    = "/etc/iscsi/iscsid.conf"
	NodesDir      = "/etc/iscsi/nodes"
	IscsidPID     = "/run/iscsid.pid"
	// LockDir must exist: iscsiadm locks its node database there and
	// fails ("Could not open /run/lock/iscsi") without it.
	LockDir = "/run/lock/iscsi"
)

// Login is the "iscsi login" step.
//
// Secrets: iscsistart takes CHAP secrets only as -w/-W arguments, which
// any process on the node can read in /proc/PID/cmdline. So the step uses
// iscsid + iscsiadm instead: it writes iscsid.conf (the session settings;
// with discovery CHAP also the discovery secrets, which iscsiadm's
// sendtargets discovery reads only there: mode 0600, RAM, gone at
// switch_root), the initiator name, and one node record per portal
// (NodesDir/TARGET/ADDR,PORT,TPGT/default, mode 0600, on the initramfs's
// RAM file system) holding the session settings and the CHAP secrets
// fetched by reference; starts iscsid; and per portal runs sendtargets
// discovery (records not stored; the portal must offer TARGET) and
// `iscsiadm -m node -T TARGET -p PORTAL --login`, which passes the record to iscsid
// over its local socket. No secret is on a command line, in a log or on a
// disk. The booted OS's iscsid takes the sessions over (it syncs existing
// sessions at start).
type Login struct {
	Config manifest.ISCSI
	Root   string // prefixes written paths (tests)
}

// Name implements plan.Step.
func (s *Login) Name() string { return "iscsi login" }

// String implements plan.Step.
func (s *Login) String() string {
	auth := "no auth"
	if s.Config.CHAP != nil {
		auth = "CHAP user " + s.Config.CHAP.User + " (secret " + s.Config.CHAP.Secret.Name + ")"
		if s.Config.MutualCHAP != nil {
			auth += ", mutual user " + s.Config.MutualCHAP.User + " (secret " + s.Config.MutualCHAP.Secret.Name + ")"
		}
	}
	if d := s.Config.DiscoveryCHAP; d != nil {
		auth += "; discovery CHAP user " + d.User + " (secret " + d.Secret.Name + ")"
		if m := s.Config.DiscoveryMutualCHAP; m != nil {
			auth += ", mutual user " + m.User + " (secret " + m.Secret.Name + ")"
		}
	}
	return fmt.Sprintf("%s as %s via %s; %s; iscsid + iscsiadm", s.Config.Target, s.Config.InitiatorName,
		strings.Join(s.Config.Portals, ","), auth)
}

// Settings returns the node settings: the Ocean defaults (or the
// single-path overrides), then the manifest's overrides.
func Settings(c *manifest.ISCSI) map[string]string {
	out := map[string]string{}
	for k, v := range manifest.ISCSISessionDefaults {
		out[k] = v
	}
	if !multipath(c) {
		for k, v := range manifest.ISCSISingleSessionOverrides {
			out[k] = v
		}
	}
	for k, v := range c.Settings {
		out[k] = v
	}
	return out
}

func multipath(c *manifest.ISCSI) bool { return c.Multipath || len(c.Portals) > 1 }

// IscsidConfText renders iscsid.conf: the settings, no secrets.
func IscsidConfText(c *manifest.ISCSI) string {
	var b strings.Builder
	b.WriteString("# Written by the DisklessTrap agent. Session CHAP secrets live in the node records only.\n")
	b.WriteString("node.startup = onboot\nnode.leading_login = No\n")
	writeSorted(&b, Settings(c))
	return b.String()
}

// DiscoveryAuthText renders the discovery.sendtargets.auth settings for
// the initramfs's iscsid.conf (iscsiadm's sendtargets discovery takes
// them from there); secret values from chap and mutual. Empty without
// discovery CHAP. Never written into /sysroot.
func DiscoveryAuthText(c *manifest.ISCSI, chap, mutual []byte) string {
	if c.DiscoveryCHAP == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString("# Discovery CHAP: the initramfs's copy only (RAM, gone at switch_root).\n")
	fmt.Fprintf(&b, "discovery.sendtargets.auth.authmethod = CHAP\ndiscovery.sendtargets.auth.username = %s\ndiscovery.sendtargets.auth.password = %s\n", c.DiscoveryCHAP.User, chap)
	if c.DiscoveryMutualCHAP != nil {
		fmt.Fprintf(&b, "discovery.sendtargets.auth.username_in = %s\ndiscovery.sendtargets.auth.password_in = %s\n", c.DiscoveryMutualCHAP.User, mutual)
	}
	return b.String()
}

// NodeRecordText renders a node record for one portal; secret values come
// from chap and mutual (nil: none).
func NodeRecordText(c *manifest.ISCSI, portal string, tpgt int, chap, mutual []byte) string {
	ap, _ := manifest.ParsePortal(portal)
	var b strings.Builder
	fmt.Fprintf(&b, "# BEGIN RECORD\nnode.name = %s\nnode.tpgt = %d\nnode.startup = onboot\nnode.leading_login = No\n", c.Target, tpgt)
	fmt.Fprintf(&b, "iface.iscsi_ifacename = default\niface.transport_name = tcp\nnode.discovery_type = static\n")
	fmt.Fprintf(&b, "node.conn[0].address = %s\nnode.conn[0].port = %d\n", ap.Addr(), ap.Port())
	writeSorted(&b, Settings(c))
	if c.CHAP != nil {
		fmt.Fprintf(&b, "node.session.auth.authmethod = CHAP\nnode.session.auth.username = %s\nnode.session.auth.password = %s\n", c.CHAP.User, chap)
		if c.MutualCHAP != nil {
			fmt.Fprintf(&b, "node.session.auth.username_in = %s\nnode.session.auth.password_in = %s\n", c.MutualCHAP.User, mutual)
		}
	} else {
		b.WriteString("node.session.auth.authmethod = None\n")
	}
	b.WriteString("# END RECORD\n")
	return b.String()
}

func writeSorted(b *strings.Builder, m map[string]string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(b, "%s = %s\n", k, m[k])
	}
}

// RecordPath is the node record's path for a portal.
func RecordPath(target, portal string, tpgt int) string {
	ap, _ := manifest.ParsePortal(portal)
	return path.Join(NodesDir, target, fmt.Sprintf("%s,%d,%d", ap.Addr(), ap.Port(), tpgt), "default")
}

// Run implements plan.Step.
func (s *Login) Run(ctx context.Context, env *plan.Env) error {
	c := &s.Config
	if err := c.Validate(); err != nil {
		return err
	}
	st := storage(env)
	write := func(p string, data []byte, mode uint32) error {
		if err := env.Sys.MkdirAll(path.Dir(s.Root + p)); err != nil {
			return err
		}
		if err := env.Sys.WriteFile(s.Root+p, data, mode); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		return nil
	}
	if err := env.Sys.MkdirAll(s.Root + LockDir); err != nil {
		return fmt.Errorf("iscsiadm lock folder: %w", err)
	}
	if err := write(InitiatorFile, []byte("InitiatorName="+c.InitiatorName+"\n"), 0o644); err != nil {
		return err
	}
	var chap, mutual, dchap, dmutual []byte
	defer func() { zero(chap); zero(mutual); zero(dchap); zero(dmutual) }()
	// fetch gets an account's secret (nil account: none).
	fetch := func(a *manifest.CHAP, what string) ([]byte, error) {
		if a == nil {
			return nil, nil
		}
		v, err := secret(ctx, st, env, a.Secret.Name)
		if err != nil {
			return nil, fmt.Errorf("iscsi %s secret %s: %w", what, a.Secret.Name, err)
		}
		return v, nil
	}
	var err error
	if dchap, err = fetch(c.DiscoveryCHAP, "discovery CHAP"); err != nil {
		return err
	}
	if dmutual, err = fetch(c.DiscoveryMutualCHAP, "discovery mutual CHAP"); err != nil {
		return err
	}
	// The initramfs's iscsid.conf (RAM, 0600, gone at switch_root) carries
	// the discovery secrets; /sysroot's (the "iscsi sysroot" step) none.
	conf := []byte(IscsidConfText(c) + DiscoveryAuthText(c, dchap, dmutual))
	err = write(IscsidConf, conf, 0o600)
	zero(conf)
	if err != nil {
		return err
	}
	if chap, err = fetch(c.CHAP, "CHAP"); err != nil {
		return err
	}
	if mutual, err = fetch(c.MutualCHAP, "mutual CHAP"); err != nil {
		return err
	}
	tpgt := tpgtOf(c)
	for _, p := range c.Portals {
		rec := []byte(NodeRecordText(c, p, tpgt, chap, mutual))
		err := write(RecordPath(c.Target, p, tpgt), rec, 0o600)
		zero(rec)
		if err != nil {
			return err
		}
	}
	if err := ensureRootUser(st, env.Sys, s.Root); err != nil {
		return err
	}
	sl, hasSyslog := st.(syslogSource)
	if hasSyslog {
		// The listener outlives this step: the agent's logger, not the
		// step's (a `trap` command's output ends with the command).
		if err := sl.StartSyslog(slog.Default()); err != nil {
			env.Logger().Warn("iscsid's messages will not show", "err", err)
		}
	}
	if !iscsidRunning(st, s.Root) {
		if _, err := env.Run.Run(ctx, "iscsid"); err != nil {
			return fmt.Errorf("start iscsid: %w", err)
		}
	}
	var failed []string
	for _, p := range c.Portals {
		if err := discover(ctx, env.Run, c, p); err != nil {
			failed = append(failed, err.Error())
			continue
		}
		mark := 0
		if hasSyslog {
			_, mark = sl.SyslogSince(0)
		}
		out, err := env.Run.Run(ctx, "iscsiadm", "-m", "node", "-T", c.Target, "-p", p, "--login")
		if err != nil && !strings.Contains(string(out), "already present") {
			// One path down is not fatal with multipath: the map queues
			// and the checker reinstates the path later.
			var lines []string
			if hasSyslog {
				lines = iscsidReason(ctx, sl, mark)
			}
			failed = append(failed, loginFailure(c, p, err, lines))
		}
	}
	if len(failed) == len(c.Portals) || len(failed) > 0 && !multipath(c) {
		return fmt.Errorf("iscsi login to %s failed: %s", c.Target, strings.Join(failed, "; "))
	}
	for _, f := range failed {
		env.Logger().Warn("iscsi login failed on one portal", "target", c.Target, "err", f)
	}
	return nil
}

// PasswdFile is where iscsid looks up its peer: it answers iscsiadm only
// when the peer's uid is named "root" (peeruser_unix; without the entry
// it drops the request and iscsiadm dies of SIGPIPE).
const PasswdFile = "/etc/passwd"

const rootPasswd = "root:x:0:0:root:/root:/bin/sh\n"

// ensureRootUser adds a root entry to PasswdFile when there is none (the
// initramfs has no /etc/passwd).
func ensureRootUser(st Storage, sys plan.Sys, root string) error {
	b, _ := st.ReadFile(root + PasswdFile)
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "root:") {
			return nil
		}
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		b = append(b, '\n')
	}
	if err := sys.WriteFile(root+PasswdFile, append(b, rootPasswd...), 0o644); err != nil {
		return fmt.Errorf("write %s (iscsid needs a root user): %w", PasswdFile, err)
	}
	return nil
}

// iscsidRunning reports whether the process in IscsidPID is iscsid.
func iscsidRunning(st Storage, root string) bool {
	pid, err := st.ReadFile(root + IscsidPID)
	if err != nil {
		return false
	}
	comm, err := st.ReadFile("/proc/" + strings.TrimSpace(string(pid)) + "/comm")
	return err == nil && strings.TrimSpace(string(comm)) == "iscsid"
}

func tpgtOf(c *manifest.ISCSI) int {
	if c.TPGT > 0 {
		return c.TPGT
	}
	return 1
}

func zero(b []byte) {
	for i := range b {
		b[i] = 0
	}
}

// discoveryAuthFailed reports whether iscsiadm's discovery output says
// the login was refused for authentication.
func discoveryAuthFailed(out string) bool {
	l := strings.ToLower(out)
	return strings.Contains(l, "authenticat") || strings.Contains(l, "authoriz") || strings.Contains(l, "(24 - ")
}

func itoa(n int) string { return strconv.Itoa(n) }

// discover runs sendtargets discovery on portal without storing records
// (the step wrote its own, with the settings and secrets; discovery CHAP
// comes from iscsid.conf) and checks that the portal offers the target.
func discover(ctx context.Context, run plan.Runner, c *manifest.ISCSI, portal string) error {
	target := c.Target
	out, err := run.Run(ctx, "iscsiadm", "-m", "discovery", "-t", "sendtargets", "-p", portal, "-o", "nonpersistent")
	if err != nil {
		text := strings.TrimSpace(string(out))
		detail := err.Error() // the runner's error names the command and holds its output
		if !strings.Contains(detail, text) {
			detail += ": " + text
		}
		a, m := c.DiscoveryCHAP, c.DiscoveryMutualCHAP
		switch {
		case !discoveryAuthFailed(text):
			return fmt.Errorf("%s: sendtargets discovery: %s", portal, detail)
		case a == nil:
			return fmt.Errorf("%s: sendtargets discovery: the portal asks for authentication and the node has no discovery CHAP (discovery_chap_user, discovery_chap_secret): %s", portal, detail)
		case strings.Contains(text, "initiator failed authorization"):
			return fmt.Errorf("%s: sendtargets discovery: authentication failed: the portal refused discovery CHAP user %s (secret %s): %s", portal, a.User, a.Secret.Name, detail)
		case m != nil:
			return fmt.Errorf("%s: sendtargets discovery: authentication failed: check discovery CHAP user %s (secret %s) and the portal's mutual CHAP user %s (secret %s): %s", portal, a.User, a.Secret.Name, m.User, m.Secret.Name, detail)
		default:
			return fmt.Errorf("%s: sendtargets discovery: authentication failed: check discovery CHAP user %s (secret %s): %s", portal, a.User, a.Secret.Name, detail)
		}
	}
	var offered []string
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) == 2 && strings.Contains(f[0], ",") {
			if f[1] == target {
				return nil
			}
			offered = append(offered, f[1])
		}
	}
	if len(offered) == 0 {
		offered = []string{"nothing"}
	}
	return fmt.Errorf("%s: sendtargets discovery does not offer %s to this initiator (offered: %s; check the target's ACL)", portal, target, strings.Join(offered, ", "))
}
