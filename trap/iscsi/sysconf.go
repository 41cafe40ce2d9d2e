package iscsi

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/plan"
	"github.com/disklesstrap/disklesstrap/trap/ramroot"
)

// MultipathConf is the booted OS's multipath configuration file.
const MultipathConf = "/etc/multipath.conf"

// Units the "iscsi sysroot" step enables when the image has them.
const (
	IscsidUnit     = "iscsid.service"
	MultipathdUnit = "multipathd.service"
)

// SysrootConfig is the "iscsi sysroot" step: it writes the booted OS's
// iSCSI and multipath configuration into /sysroot (the Ocean recipe's
// "Configure needed services": initiatorname.iscsi, iscsid.conf,
// multipath.conf) and enables iscsid (and multipathd) when the image has
// their unit files. Hostname and /.autorelabel are ramroot's sysroot step.
//
// The sessions logged in by the "iscsi login" step stay up across
// switch_root. No node record and no CHAP secret goes into /sysroot: at
// start-up the booted OS's iscsid syncs every running session
// (iscsid.c sync_session), building its record from iscsid.conf's
// defaults and the session's sysfs attributes, CHAP included
// (iscsi_sysfs_get_auth_conf reads username, username_in, password and
// password_in from /sys/class/iscsi_session/sessionN, root-only
// attributes the kernel got from the login). So iscsid.conf carries the
// same session settings the login used, and the user names only.
type SysrootConfig struct {
	Config manifest.ISCSI
	Root   string // prefixes written paths (tests)
}

// Name implements plan.Step.
func (s *SysrootConfig) Name() string { return "iscsi sysroot" }

// String implements plan.Step.
func (s *SysrootConfig) String() string {
	c := &s.Config
	auth := "no auth"
	if c.CHAP != nil {
		auth = "CHAP user " + c.CHAP.User
		if c.MutualCHAP != nil {
			auth += ", mutual user " + c.MutualCHAP.User
		}
	}
	units := IscsidUnit
	files := fmt.Sprintf("in %s: %s %s, %s (%d settings, %s, no secrets)", ramroot.NewRoot, InitiatorFile, c.InitiatorName,
		IscsidConf, len(Settings(c)), auth)
	if multipath(c) {
		files += ", " + MultipathConf
		units += " " + MultipathdUnit
	}
	return files + "; enable " + units + " if in the image"
}

// SysrootIscsidConfText renders the booted OS's iscsid.conf: start-up
// lines, the session settings the login used (Settings), and the CHAP
// user names; never a password.
func SysrootIscsidConfText(c *manifest.ISCSI) string {
	var b strings.Builder
	b.WriteString("# Written by the DisklessTrap agent before switch_root.\n")
	b.WriteString("# The root disk's iSCSI sessions were logged in by the initramfs and stay up:\n")
	b.WriteString("# iscsid adopts them at start and reads their CHAP credentials from the kernel\n")
	b.WriteString("# (sysfs session attributes), so no password is written here (docs/threat-model.md).\n")
	b.WriteString("iscsid.startup = /bin/systemctl start iscsid.socket iscsiuio.socket\n")
	b.WriteString("node.startup = automatic\nnode.leading_login = No\n")
	writeSorted(&b, Settings(c))
	if c.CHAP != nil {
		fmt.Fprintf(&b, "node.session.auth.authmethod = CHAP\nnode.session.auth.username = %s\n", c.CHAP.User)
		if c.MutualCHAP != nil {
			fmt.Fprintf(&b, "node.session.auth.username_in = %s\n", c.MutualCHAP.User)
		}
	}
	return b.String()
}

// MultipathConfText renders multipath.conf: the Ocean recipe's defaults,
// zram blacklisted.
func MultipathConfText() string {
	return `# Written by the DisklessTrap agent before switch_root.
# The root map was built in the initramfs (queue_if_no_path); multipathd adopts it.
defaults {
	polling_interval 10
	failback immediate
	no_path_retry queue
	user_friendly_names yes
	find_multipaths yes
}
blacklist {
	devnode "^zram.*"
}
`
}

// Run implements plan.Step.
func (s *SysrootConfig) Run(ctx context.Context, env *plan.Env) error {
	c := &s.Config
	if err := c.Validate(); err != nil {
		return err
	}
	root := s.Root + ramroot.NewRoot
	t, err := ramroot.OpenTree(env, root) // confined: the image's symlinks cannot lead out
	if err != nil {
		return err
	}
	defer t.Close()
	write := func(p, text string, mode uint32) error {
		if err := t.MkdirAll(path.Dir(p)); err != nil {
			return fmt.Errorf("write %s%s: %w", ramroot.NewRoot, p, err)
		}
		if err := t.WriteFile(p, []byte(text), mode); err != nil {
			return fmt.Errorf("write %s%s: %w", ramroot.NewRoot, p, err)
		}
		return nil
	}
	if err := write(InitiatorFile, "InitiatorName="+c.InitiatorName+"\n", 0o644); err != nil {
		return err
	}
	if err := write(IscsidConf, SysrootIscsidConfText(c), 0o600); err != nil {
		return err
	}
	units := []string{IscsidUnit}
	if multipath(c) {
		if err := write(MultipathConf, MultipathConfText(), 0o644); err != nil {
			return err
		}
		units = append(units, MultipathdUnit)
	}
	log := env.Logger()
	for _, u := range units {
		if ramroot.FindUnit(env, root, u) == "" {
			what := "the running sessions stay up unmanaged"
			if u == MultipathdUnit {
				what = "the multipath map stays up unmanaged"
			}
			log.Warn(fmt.Sprintf("no %s in the image: %s", u, what), "root", ramroot.NewRoot)
			continue
		}
		if err := ramroot.EnableUnit(env, root, u); err != nil {
			return fmt.Errorf("in %s: %w", ramroot.NewRoot, err)
		}
	}
	return nil
}
