package agent

import (
	"context"
	"fmt"
	"net/netip"
	"net/url"
	"time"

	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/bootclient"
	"github.com/disklesstrap/disklesstrap/trap/netup"
)

// Discovery that names nodes (docs/discovery.md): while an unknown
// machine sits in the discovery trap, the agent waits on bootsrv for a
// name (GET /manifest?mac=M&wait=S answers as soon as an admin, or a DMI
// serial listed in the inventory, named it). Then it takes the name
// without a reboot: its reserved address replaces the lease, it signs as
// the new name (bootsrv handed it the discovery boot's key), reports its
// SSH host key again under that name, and leaves the trap into the mode
// of its new manifest.

// namedWait is how long one manifest request waits on bootsrv.
const namedWait = 25 * time.Second

// namedMinPoll is the shortest interval between two of those requests.
var namedMinPoll = 3 * time.Second

// awaitName polls until the machine is named or ctx ends (the trap left).
func (a *agent) awaitName(ctx context.Context) {
	if a.cfg.ManifestFile != "" || a.server() == "" || a.mac == nil {
		return
	}
	u := a.server() + "/manifest?mac=" + url.QueryEscape(a.mac.String()) + fmt.Sprintf("&wait=%d", int(namedWait/time.Second))
	f := &bootclient.Fetcher{Attempts: 1, Timeout: namedWait + 15*time.Second, Log: a.log}
	for ctx.Err() == nil {
		asked := time.Now()
		m, err := f.Get(ctx, u)
		if err != nil {
			a.log.Debug("waiting for a name", "err", err)
			if bootclient.Sleep(ctx, 5*time.Second) != nil {
				return
			}
			continue
		}
		if m.Mode == manifest.ModeDiscovery {
			// A bootsrv that does not wait answers at once: ask every few
			// seconds then, not in a tight loop.
			if early := namedMinPoll - time.Since(asked); early > 0 && bootclient.Sleep(ctx, early) != nil {
				return
			}
			continue
		}
		if err := a.takeName(ctx, m); err != nil {
			a.printf("bootsrv named this node %s, but taking the name failed: %v", m.Node, err)
			a.report(manifest.PhaseError, fmt.Sprintf("taking the name %s: %v", m.Node, err), nil)
			if bootclient.Sleep(ctx, 10*time.Second) != nil {
				return
			}
			continue
		}
		a.requestLeave("named " + m.Node + " by discovery")
		return
	}
}

// takeName moves the agent to the name and address of m.
func (a *agent) takeName(ctx context.Context, m *manifest.Manifest) error {
	if m.Network == nil || m.Network.Address == "" {
		return fmt.Errorf("its manifest has no reserved address for the boot interface")
	}
	addr, err := netip.ParsePrefix(m.Network.Address)
	if err != nil {
		return fmt.Errorf("reserved address %q: %w", m.Network.Address, err)
	}
	var gw netip.Addr
	if m.Network.Gateway != "" {
		if gw, err = netip.ParseAddr(m.Network.Gateway); err != nil {
			return fmt.Errorf("gateway %q: %w", m.Network.Gateway, err)
		}
	}
	// What the discovery name still has to say goes out from the lease.
	fctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	_ = a.reporter.Flush(fctx)
	cancel()
	a.mu.Lock()
	res := a.net
	a.mu.Unlock()
	if a.cfg.Net != nil && res != nil {
		if err := netup.Readdress(a.cfg.Net, res.Interface, res.Lease.Addr, addr, gw); err != nil {
			return err
		}
		moved := *res
		moved.Lease.Addr, moved.Lease.Gateway = addr, gw
		a.mu.Lock()
		a.net = &moved
		a.mu.Unlock()
	}
	a.mu.Lock()
	if a.signer != nil {
		a.signer = a.signer.As(m.Node)
		a.reporter.SetSigner(a.signer)
	}
	a.cfg.Node = m.Node
	a.named = true
	srv := a.ssh
	a.mu.Unlock()
	a.reporter.SetTarget(a.server(), m.Node, macString(a.mac))
	a.printf("bootsrv named this node %s: address %s, going on in mode %s", m.Node, addr, m.Mode)
	ifname := ""
	if res != nil {
		ifname = res.Interface
	}
	a.report(manifest.PhaseNetUp, "named by discovery", map[string]string{"interface": ifname, "address": addr.String()})
	if srv != nil {
		a.report(manifest.PhaseHostKey, "", map[string]string{"key": srv.AuthorizedKey(), "fingerprint": srv.Fingerprint()})
	}
	return nil
}

// takeNamed reports (once) that discovery named the machine since the
// last call: the main loop then treats the new manifest as a fresh boot's.
func (a *agent) takeNamed() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := a.named
	a.named = false
	return n
}
