package iscsilab

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// configure adds the other portals, the target, LUN 1, the ACL and the
// CHAP accounts (session and discovery).
func (tg *Target) configure(ctx context.Context) error {
	o := tg.opts
	tid := strconv.Itoa(tg.tid)
	for _, p := range o.Portals[1:] {
		if err := tg.AddPortal(ctx, p); err != nil {
			return err
		}
	}
	steps := [][]string{
		{"--op", "new", "--mode", "target", "--tid", tid, "--targetname", o.IQN},
		{"--op", "new", "--mode", "logicalunit", "--tid", tid, "--lun", "1", "--backing-store", o.Backing, "--bstype", "rdwr"},
		{"--op", "update", "--mode", "logicalunit", "--tid", tid, "--lun", "1",
			"--params", "scsi_sn=" + o.Serial + ",scsi_id=" + o.Serial + ",vendor_id=DT,product_id=lab-disk"},
	}
	if o.ReadOnly {
		steps = append(steps, []string{"--op", "update", "--mode", "logicalunit", "--tid", tid, "--lun", "1", "--params", "readonly=1"})
	}
	for _, ini := range o.Initiators {
		steps = append(steps, []string{"--op", "bind", "--mode", "target", "--tid", tid, "--initiator-name", ini})
	}
	if a := o.CHAP; a.User != "" {
		steps = append(steps,
			[]string{"--op", "new", "--mode", "account", "--user", a.User, "--password", a.Password},
			[]string{"--op", "bind", "--mode", "account", "--tid", tid, "--user", a.User})
	}
	if a := o.MutualCHAP; a.User != "" {
		steps = append(steps,
			[]string{"--op", "new", "--mode", "account", "--user", a.User, "--password", a.Password},
			[]string{"--op", "bind", "--mode", "account", "--tid", tid, "--user", a.User, "--outgoing"})
	}
	if a := o.DiscoveryCHAP; a.User != "" {
		steps = append(steps,
			[]string{"--op", "new", "--mode", "account", "--user", a.User, "--password", a.Password},
			[]string{"--op", "bind", "--mode", "account", "--user", a.User}) // no --tid: discovery
	}
	if a := o.DiscoveryMutualCHAP; a.User != "" {
		steps = append(steps,
			[]string{"--op", "new", "--mode", "account", "--user", a.User, "--password", a.Password},
			[]string{"--op", "bind", "--mode", "account", "--user", a.User, "--outgoing"})
	}
	for _, s := range steps {
		if _, err := tg.adm(ctx, s...); err != nil {
			return fmt.Errorf("iscsilab: target %s: %w", o.IQN, err)
		}
	}
	return nil
}

// AddPortal makes tgtd listen on p too.
func (tg *Target) AddPortal(ctx context.Context, p netip.AddrPort) error {
	if _, err := tg.adm(ctx, "--op", "new", "--mode", "portal", "--param", "portal="+p.String()); err != nil {
		return fmt.Errorf("iscsilab: portal %s: %w", p, err)
	}
	return nil
}

// DeletePortal stops listening on p (new logins on that path fail;
// established sessions stay until the connection drops).
func (tg *Target) DeletePortal(ctx context.Context, p netip.AddrPort) error {
	if _, err := tg.adm(ctx, "--op", "delete", "--mode", "portal", "--param", "portal="+p.String()); err != nil {
		return fmt.Errorf("iscsilab: portal %s: %w", p, err)
	}
	return nil
}

// Show returns `tgtadm --op show --mode target`.
func (tg *Target) Show(ctx context.Context) (string, error) {
	return tg.adm(ctx, "--op", "show", "--mode", "target")
}

// Portals returns the portal addresses as configured.
func (tg *Target) Portals() []netip.AddrPort {
	return append([]netip.AddrPort(nil), tg.opts.Portals...)
}

// IQN is the target name.
func (tg *Target) IQN() string { return tg.opts.IQN }

// Serial is the LUN's SCSI serial number.
func (tg *Target) Serial() string { return tg.opts.Serial }

// PID is tgtd's process ID (0 after Stop).
func (tg *Target) PID() int {
	if tg.proc == nil {
		return 0
	}
	return tg.proc.PID()
}

// ControlPort is tgtd's management port (tgtadm -C).
func (tg *Target) ControlPort() int { return tg.ctl }

// Stop shuts tgtd down cleanly and waits for it to exit, falling back to
// the lab's SIGTERM/SIGKILL. It is idempotent. tgt 1.0.85 refuses
// `--op delete --mode system` ("invalid request") while a target exists
// and ignores SIGTERM then, so Stop first takes the system offline, then
// force-deletes the target (even with sessions), then deletes the system:
// tgtd exits about a second later.
func (tg *Target) Stop(ctx context.Context) error {
	if tg.close || tg.proc == nil {
		return nil
	}
	tg.close = true
	if !tg.proc.Alive() {
		return nil
	}
	var admErr error
	for _, args := range [][]string{
		{"--op", "update", "--mode", "sys", "--name", "State", "--value", "offline"},
		{"--op", "delete", "--force", "--mode", "target", "--tid", strconv.Itoa(tg.tid)},
		{"--op", "delete", "--mode", "system"},
	} {
		if _, err := tg.adm(ctx, args...); err != nil && admErr == nil {
			admErr = err
		}
	}
	select {
	case <-tg.proc.Done():
		return nil
	case <-time.After(5 * time.Second):
	}
	if err := tg.proc.Stop(); err != nil {
		return fmt.Errorf("iscsilab: stop tgtd pid %d: %w (tgtadm: %v)", tg.proc.PID(), err, admErr)
	}
	return fmt.Errorf("iscsilab: tgtd pid %d did not exit after offline + delete target + delete system (%v); killed", tg.proc.PID(), admErr)
}

// ParseShow extracts, from `tgtadm --op show --mode target` output, the
// target names with their LUN numbers and, per LUN, its backing store.
func ParseShow(out string) (map[string]map[int]string, error) {
	res := map[string]map[int]string{}
	var target string
	lun := -1
	for i, line := range strings.Split(out, "\n") {
		t := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "Target "):
			_, name, ok := strings.Cut(t, ": ")
			if !ok || name == "" {
				return nil, fmt.Errorf("tgtadm show line %d: malformed target line %q", i+1, line)
			}
			target = name
			res[target] = map[int]string{}
			lun = -1
		case strings.HasPrefix(t, "LUN: "):
			if target == "" {
				return nil, fmt.Errorf("tgtadm show line %d: LUN outside a target", i+1)
			}
			n, err := strconv.Atoi(strings.TrimPrefix(t, "LUN: "))
			if err != nil || n < 0 {
				return nil, fmt.Errorf("tgtadm show line %d: LUN %q", i+1, t)
			}
			lun = n
			res[target][lun] = ""
		case strings.HasPrefix(t, "Backing store path: ") && lun >= 0:
			res[target][lun] = strings.TrimPrefix(t, "Backing store path: ")
		}
	}
	return res, nil
}
