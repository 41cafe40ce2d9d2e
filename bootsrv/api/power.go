package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/bootsrv/inventory"
	"github.com/disklesstrap/disklesstrap/bootsrv/power"
	"github.com/disklesstrap/disklesstrap/bootsrv/secrets"
)

// maxPowerTimeout bounds a request's per-node timeout.
const maxPowerTimeout = 5 * time.Minute

// powerStatus serves GET /api/v1/power?range=R[&parallel=N][&timeout_ms=MS].
func (a *API) powerStatus(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	req := api.PowerRequest{Range: q.Get("range"), Action: string(power.Status)}
	for key, dst := range map[string]*int{"parallel": &req.Parallel, "timeout_ms": &req.TimeoutMS} {
		if s := q.Get(key); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				return errorf(http.StatusBadRequest, "query parameter %s: want a number, got %q", key, s)
			}
			*dst = n
		}
	}
	return a.runPower(w, r, req)
}

// powerChange serves POST /api/v1/power (api.PowerRequest): on, off,
// cycle or reset; an audit record names the action and range.
func (a *API) powerChange(w http.ResponseWriter, r *http.Request) error {
	var req api.PowerRequest
	if err := decodeJSON(w, r, maxEditBody, &req); err != nil {
		return err
	}
	auditf(r, "power %s on %s", req.Action, req.Range)
	if req.Action == string(power.Status) {
		return errorf(http.StatusBadRequest, "field action: status is GET /api/v1/power")
	}
	return a.runPower(w, r, req)
}

func (a *API) runPower(w http.ResponseWriter, r *http.Request, req api.PowerRequest) error {
	action, err := power.ParseAction(req.Action)
	if err != nil {
		return errorf(http.StatusBadRequest, "field action: %v", err)
	}
	if strings.TrimSpace(req.Range) == "" {
		return errorf(http.StatusBadRequest, "field range is empty")
	}
	if req.Parallel < 0 || req.Parallel > power.MaxParallel {
		return errorf(http.StatusBadRequest, "field parallel: want 0-%d, got %d", power.MaxParallel, req.Parallel)
	}
	timeout := time.Duration(req.TimeoutMS) * time.Millisecond
	if req.TimeoutMS < 0 || timeout > maxPowerTimeout {
		return errorf(http.StatusBadRequest, "field timeout_ms: want 0-%d, got %d", maxPowerTimeout.Milliseconds(), req.TimeoutMS)
	}
	c, err := a.cluster()
	if err != nil {
		return err
	}
	nodes, err := resolveRange(c, req.Range, "field range")
	if err != nil {
		return err
	}
	targets := make([]power.Target, len(nodes))
	for i, n := range nodes {
		targets[i] = a.powerTarget(n)
	}
	bmc := a.cfg.Power
	if bmc == nil {
		bmc = power.IPMI{}
	}
	// A run takes up to one per-node timeout per batch of BMCs: give the
	// answer that long (plus a minute) instead of the usual write timeout.
	par, per := req.Parallel, timeout
	if par == 0 {
		par = power.DefaultParallel
	}
	if per == 0 {
		per = power.DefaultTimeout
	}
	batches := (len(targets) + par - 1) / par
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Duration(batches)*per + time.Minute))
	// The run outlives a client that hangs up: a power change half sent
	// to a fleet is finished, not abandoned.
	results := power.Run(context.WithoutCancel(r.Context()), bmc, targets, action, power.Options{Parallel: req.Parallel, Timeout: timeout})
	out := make([]api.PowerResult, len(results))
	failed := 0
	for i, res := range results {
		out[i] = api.PowerResult{Node: res.Node, BMC: res.BMC, State: res.State}
		if res.Err != nil {
			out[i].Error = res.Err.Error()
			failed++
		}
	}
	a.log.Info("power", "action", action, "range", req.Range, "nodes", len(out), "failed", failed)
	return writeJSON(w, http.StatusOK, out)
}

// powerTarget reads n's BMC attributes and its password from the secret
// store (node scope, then all nodes).
func (a *API) powerTarget(n *inventory.Node) power.Target {
	t := power.Target{Node: n.Name}
	addr, user, pass := deref(n.Attrs.BMCAddress), deref(n.Attrs.BMCUser), deref(n.Attrs.BMCPassword)
	if addr == "" || user == "" || pass == "" {
		return t // power.ErrNoBMC
	}
	ap, err := inventory.ParseBMCAddress(addr)
	if err != nil {
		t.Problem = err.Error()
		return t
	}
	t.Addr, t.User = ap, user
	if a.cfg.Secrets == nil {
		t.Problem = "bootsrv has no secret store for bmc_password"
		return t
	}
	v, err := a.cfg.Secrets.Lookup(n.Name, pass)
	switch {
	case errors.Is(err, secrets.ErrNotFound):
		t.Problem = fmt.Sprintf("bmc_password: secret %q is not stored (trapctl secret set %s)", pass, pass)
	case err != nil:
		t.Problem = fmt.Sprintf("bmc_password: %v", err)
	default:
		t.Password = v
	}
	return t
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
