package main

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/noderange"
)

// rebootPoll is how often mode set --wait reads the nodes' status.
var rebootPoll = 2 * time.Second

// targetPhases are the phases that show a node came up in mode m: the
// agent's last event in that mode (or the booted OS's). Local boot sends
// none.
func targetPhases(m manifest.Mode) []string {
	switch m {
	case manifest.ModeTrap, manifest.ModeService:
		return []string{manifest.PhaseTrapped, manifest.PhaseHostKey}
	case manifest.ModeDiscovery:
		return []string{manifest.PhaseDiscovered}
	case manifest.ModeInstall:
		return []string{manifest.PhaseInstallDone}
	case manifest.ModeLocal:
		return nil
	}
	return []string{manifest.PhaseSwitchRoot, manifest.PhaseOSBooted}
}

// modeSetAndReboot is mode set --reboot [--wait D]: switch, boot through
// the BMCs, then optionally follow the nodes' status until each reports a
// phase of the new mode after the boot.
func modeSetAndReboot(e *env, rangeExpr string, mode manifest.Mode) error {
	want := targetPhases(mode)
	if modeSetWait > 0 && want == nil {
		return usagef("--wait: mode %s reports no phase to wait for", mode)
	}
	// What the nodes said last before the reboot: a node has made it
	// when it has said something since, and that is a target phase.
	before, err := e.client().Status(e.ctx, rangeExpr)
	if err != nil {
		return err
	}
	res, err := e.client().SetMode(e.ctx, api.ModeSet{Range: rangeExpr, Mode: mode, Once: modeSetOnce})
	if err != nil {
		return err
	}
	if _, err := printf(e.stdout, "mode %s set on %d node(s)%s\n", mode, res.Count, map[bool]string{true: " (next boot only)"}[modeSetOnce]); err != nil {
		return err
	}
	results, err := e.client().Power(e.ctx, api.PowerRequest{Range: rangeExpr, Action: "boot",
		Parallel: powerOpts.parallel, TimeoutMS: int(powerOpts.timeout.Milliseconds())})
	if err != nil {
		return err
	}
	if err := printPower(e.stdout, results); err != nil {
		return err
	}
	powerErr := powerFailures(results)
	if modeSetWait == 0 {
		return powerErr
	}
	var booted []string
	for _, r := range results {
		if r.Error == "" {
			booted = append(booted, r.Node)
		}
	}
	waitErr := waitPhases(e, booted, before, want)
	return errors.Join(powerErr, waitErr)
}

// waitPhases polls the status of nodes until each has a new last event in
// one of the want phases, or modeSetWait passes. It prints each node's
// phase changes and, at the end, the nodes that did not make it.
func waitPhases(e *env, nodes []string, before []api.Status, want []string) error {
	if len(nodes) == 0 {
		return nil
	}
	seen := map[string]time.Time{}
	for _, s := range before {
		seen[s.Node] = s.LastSeen
	}
	start := e.now()
	deadline := start.Add(modeSetWait)
	expr := noderange.Compact(nodes)
	last := map[string]string{}
	done := map[string]bool{}
	for {
		rows, err := e.client().Status(e.ctx, expr)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if done[r.Node] || !r.LastSeen.After(seen[r.Node]) {
				continue
			}
			if r.Phase != last[r.Node] {
				last[r.Node] = r.Phase
				if _, err := printf(e.stdout, "%s: %s (%s)\n", r.Node, r.Phase, e.now().Sub(start).Round(time.Second)); err != nil {
					return err
				}
			}
			for _, p := range want {
				if r.Phase == p {
					done[r.Node] = true
				}
			}
		}
		if len(done) == len(nodes) {
			_, err := printf(e.stdout, "all %d node(s) up in %s after %s\n", len(nodes), strings.Join(want, "/"), e.now().Sub(start).Round(time.Second))
			return err
		}
		if !e.now().Before(deadline) {
			break
		}
		select {
		case <-e.ctx.Done():
			return e.ctx.Err()
		case <-time.After(rebootPoll):
		}
	}
	var missing []string
	for _, n := range nodes {
		if !done[n] {
			missing = append(missing, n)
		}
	}
	sort.Slice(missing, func(i, j int) bool { return noderange.Less(missing[i], missing[j]) })
	for _, n := range missing {
		phase := last[n]
		if phase == "" {
			phase = "no event since the reboot"
		}
		if _, err := printf(e.stdout, "not up: %s (last: %s)\n", n, phase); err != nil {
			return err
		}
	}
	return fmt.Errorf("mode set --wait: %d of %d node(s) not in %s after %s: %s",
		len(missing), len(nodes), strings.Join(want, "/"), modeSetWait, noderange.Compact(missing))
}
