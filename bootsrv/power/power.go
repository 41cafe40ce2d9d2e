// Package power switches nodes on and off through their BMCs: it runs one
// power action on many nodes with bounded parallelism and a per-node
// timeout (Run) over a narrow BMC seam, whose real implementation (IPMI)
// speaks IPMI v2.0 LAN (RMCP+) with github.com/bougou/go-ipmi. BMC
// passwords come in a Target and never appear in a Result or an error.
package power

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"
)

// Action is one power operation.
type Action string

// The power actions (xCAT rpower's words).
const (
	Status Action = "status" // read only
	On     Action = "on"
	Off    Action = "off"   // hard power off
	Cycle  Action = "cycle" // off, then on
	Reset  Action = "reset" // hard reset, power stays on
	// Boot powers an off node on and resets a running one (xCAT's
	// "rpower boot"): what a mode switch ends with.
	Boot Action = "boot"
)

// ParseAction accepts status, on, off, cycle or reset.
func ParseAction(s string) (Action, error) {
	switch a := Action(s); a {
	case Status, On, Off, Cycle, Reset, Boot:
		return a, nil
	}
	return "", fmt.Errorf("power action %q: want status, on, off, cycle, reset or boot", s)
}

// Target is one node's BMC and its credentials.
type Target struct {
	Node     string
	Addr     netip.AddrPort // zero: the node has no BMC configured
	User     string
	Password []byte
	// Problem, when set, fails the node without contacting its BMC (e.g.
	// its password secret is missing); it must not hold a secret.
	Problem string
}

// Result is one node's outcome: State is "on" or "off" for status (and
// after on/off), the action's name after cycle and reset; boot gives "on"
// (was off) or "reset".
type Result struct {
	Node  string
	BMC   string // ADDR:PORT, "" when none is configured
	State string
	Err   error
}

// BMC is the seam to a node's BMC.
type BMC interface {
	// Do runs action on t's BMC and returns the resulting state word.
	Do(ctx context.Context, t Target, a Action) (string, error)
}

// Options bound a Run.
type Options struct {
	Parallel int           // at most this many BMCs at once (default 16)
	Timeout  time.Duration // per node (default 20s)
}

// Defaults for Options.
const (
	DefaultParallel = 16
	DefaultTimeout  = 20 * time.Second
	MaxParallel     = 256
)

// ErrNoBMC is a node without bmc_address (or user or password).
var ErrNoBMC = errors.New("no BMC configured (bmc_address, bmc_user, bmc_password)")

// Run does action on every target through bmc and returns the results in
// target order. One node's failure or timeout does not stop the others.
func Run(ctx context.Context, bmc BMC, targets []Target, a Action, o Options) []Result {
	if o.Parallel <= 0 {
		o.Parallel = DefaultParallel
	}
	o.Parallel = min(o.Parallel, MaxParallel)
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	out := make([]Result, len(targets))
	sem := make(chan struct{}, o.Parallel)
	var wg sync.WaitGroup
	for i, t := range targets {
		out[i] = Result{Node: t.Node}
		if t.Addr.IsValid() {
			out[i].BMC = t.Addr.String()
		}
		switch {
		case t.Problem != "":
			out[i].Err = errors.New(t.Problem)
			continue
		case !t.Addr.IsValid() || t.User == "":
			out[i].Err = ErrNoBMC
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				out[i].Err = ctx.Err()
				return
			}
			defer func() { <-sem }()
			nctx, cancel := context.WithTimeout(ctx, o.Timeout)
			defer cancel()
			state, err := doBounded(nctx, bmc, t, a)
			if err != nil {
				out[i].Err = fmt.Errorf("BMC %s: %w", t.Addr, err)
				return
			}
			out[i].State = state
		}()
	}
	wg.Wait()
	return out
}

// doBounded returns when bmc.Do does or ctx ends, whichever is first (a
// BMC library that ignores its context cannot hold a node past its
// timeout).
func doBounded(ctx context.Context, bmc BMC, t Target, a Action) (string, error) {
	type res struct {
		state string
		err   error
	}
	ch := make(chan res, 1)
	go func() {
		s, err := bmc.Do(ctx, t, a)
		ch <- res{s, err}
	}()
	select {
	case r := <-ch:
		return r.state, r.err
	case <-ctx.Done():
		return "", fmt.Errorf("%s: %w", a, ctx.Err())
	}
}
