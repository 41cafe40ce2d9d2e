// Package iscsilab runs the lab's iSCSI target: one tgtd inside the lab's
// network namespace exporting a backing file as LUN 1 of one target on
// several portals (one per lab bridge, for multipath), with CHAP and mutual
// CHAP accounts and an initiator-name ACL.
//
// tgt quirks it handles (see /work/shared/FACTS.md): tgtd ignores SIGTERM
// while targets exist, and refuses to delete the system while a target
// exists, so Stop goes offline, force-deletes the target, then deletes
// the system; tgtd's management socket and lock live in the host's /var/run and
// are shared across namespaces, so each Target uses its own control port;
// LUN 0 is tgt's controller LUN, the disk is LUN 1.
//
// The account passwords appear on tgtadm's command line on the lab host:
// they are test secrets of a throwaway lab, never production ones.
package iscsilab

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/tools/lab"
)

// Port is the iSCSI port every portal listens on.
const Port = 3260

// Account is a CHAP user name and secret.
type Account struct {
	User     string
	Password string
}

// Options describe the target.
type Options struct {
	// IQN is the target name, e.g. "iqn.2026-11.lab.dt:testos".
	IQN string
	// Backing is the file exported as LUN 1.
	Backing string
	// Portals are the addresses tgtd listens on; default: port 3260 on
	// every lab bridge address (two bridges = two paths).
	Portals []netip.AddrPort
	// Initiators are the initiator names allowed to log in (ACL). At
	// least one is required: the lab never exports to ALL.
	Initiators []string
	// CHAP is the account the initiator logs in with (IncomingUser).
	// Empty User: no CHAP.
	CHAP Account
	// MutualCHAP is the account the target answers with (OutgoingUser):
	// the initiator checks it. Empty User: no mutual CHAP.
	MutualCHAP Account
	// DiscoveryCHAP and DiscoveryMutualCHAP are the same for sendtargets
	// discovery sessions (tgt's incomingdiscoveryuser /
	// outgoingdiscoveryuser: accounts bound without a target). Their user
	// names must differ from the session accounts'.
	DiscoveryCHAP       Account
	DiscoveryMutualCHAP Account
	// Serial is the LUN's SCSI serial number (scsi_sn) and, prefixed,
	// its SCSI ID; default "dt" + the IQN's last part. It makes the LUN's
	// identity (and so the multipath WWID) the same on every portal.
	Serial string
	// ReadOnly exports the LUN read-only.
	ReadOnly bool
}

// Target is a running tgtd with one target.
type Target struct {
	lab   *lab.Lab
	proc  *lab.Proc
	opts  Options
	ctl   int // tgtd control port
	tid   int
	close bool
}

func (o *Options) validate(l *lab.Lab) error {
	if o.IQN == "" || !strings.HasPrefix(o.IQN, "iqn.") {
		return fmt.Errorf("iscsilab: target name %q: want iqn.YYYY-MM.domain:name", o.IQN)
	}
	st, err := os.Stat(o.Backing)
	if err != nil {
		return fmt.Errorf("iscsilab: backing file: %w", err)
	}
	if !st.Mode().IsRegular() || st.Size() == 0 {
		return fmt.Errorf("iscsilab: backing file %s: want a non-empty regular file", o.Backing)
	}
	if len(o.Initiators) == 0 {
		return fmt.Errorf("iscsilab: target %s: no initiator names for the ACL", o.IQN)
	}
	if len(o.Portals) == 0 {
		for i := range l.Bridges() {
			o.Portals = append(o.Portals, netip.AddrPortFrom(l.BridgeAddr(i), Port))
		}
	}
	for _, a := range []Account{o.CHAP, o.MutualCHAP, o.DiscoveryCHAP, o.DiscoveryMutualCHAP} {
		if a.User != "" && (len(a.Password) < 12 || len(a.Password) > 16) {
			// RFC 7143 asks for 12+; tgt and open-iscsi cap CHAP secrets at 16 bytes in practice.
			return fmt.Errorf("iscsilab: CHAP account %s: secret must be 12..16 characters", a.User)
		}
	}
	if o.MutualCHAP.User != "" && o.CHAP.User == "" {
		return fmt.Errorf("iscsilab: mutual CHAP needs CHAP")
	}
	if o.DiscoveryMutualCHAP.User != "" && o.DiscoveryCHAP.User == "" {
		return fmt.Errorf("iscsilab: discovery mutual CHAP needs discovery CHAP")
	}
	if o.Serial == "" {
		name := o.IQN[strings.LastIndex(o.IQN, ":")+1:]
		o.Serial = "dt" + strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, strings.ToLower(name))
	}
	return nil
}

// Start starts tgtd in l's namespace and configures the target. With t
// non-nil, Stop is registered with t.Cleanup (it runs before the lab's own
// cleanup, which SIGKILLs a tgtd that is still there).
func Start(ctx context.Context, t testing.TB, l *lab.Lab, opts Options) (*Target, error) {
	if err := opts.validate(l); err != nil {
		return nil, err
	}
	tg := &Target{lab: l, opts: opts, tid: 1}
	var lastErr error
	for attempt := 0; attempt < 8; attempt++ {
		tg.ctl = 1000 + (os.Getpid()+attempt*7919)%30000
		if err := tg.startDaemon(ctx); err != nil {
			lastErr = err
			continue
		}
		lastErr = nil
		break
	}
	if lastErr != nil {
		return nil, lastErr
	}
	if t != nil {
		t.Cleanup(func() {
			if err := tg.Stop(context.Background()); err != nil {
				t.Errorf("iscsilab: %v", err)
			}
		})
	}
	if err := tg.configure(ctx); err != nil {
		return nil, errors.Join(err, tg.Stop(context.Background()))
	}
	return tg, nil
}

func (tg *Target) startDaemon(ctx context.Context) error {
	// tgtd -f stays in the foreground; the first portal comes from the
	// command line (without it tgtd listens on every address), the others
	// are added through tgtadm.
	args := []string{"-f", "-C", strconv.Itoa(tg.ctl), "--iscsi", "portal=" + tg.opts.Portals[0].String()}
	cmd := tg.lab.Exec(context.WithoutCancel(ctx), "tgtd", args...)
	p, err := tg.lab.Start(fmt.Sprintf("tgtd-%d", tg.ctl), cmd)
	if err != nil {
		return err
	}
	tg.proc = p
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := tg.adm(ctx, "--op", "show", "--mode", "sys"); err == nil {
			return nil
		}
		if !p.Alive() || time.Now().After(deadline) {
			_ = p.Stop()
			return fmt.Errorf("iscsilab: tgtd (control port %d) did not come up: %s", tg.ctl, strings.TrimSpace(p.Log()))
		}
		select {
		case <-ctx.Done():
			_ = p.Stop()
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// adm runs tgtadm against this tgtd.
func (tg *Target) adm(ctx context.Context, args ...string) (string, error) {
	full := []string{"-C", strconv.Itoa(tg.ctl)}
	if m := argValue(args, "--mode"); m != "system" && m != "sys" {
		// System operations take no driver: `--lld iscsi --mode system` is "invalid request".
		full = append(full, "--lld", "iscsi")
	}
	full = append(full, args...)
	out, err := exec.CommandContext(ctx, "tgtadm", full...).CombinedOutput()
	if err != nil {
		// Never echo the arguments: they may hold a CHAP secret.
		return string(out), fmt.Errorf("tgtadm %s %s: %w: %s", argValue(args, "--op"), argValue(args, "--mode"), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

func argValue(args []string, key string) string {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == key {
			return args[i+1]
		}
	}
	return ""
}
