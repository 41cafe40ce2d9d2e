package main

import (
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/noderange"
)

var powerOpts struct {
	parallel int
	timeout  time.Duration
}

func powerFlags(fs *flag.FlagSet) {
	fs.IntVar(&powerOpts.parallel, "parallel", 16, "at most this many BMCs at once")
	fs.DurationVar(&powerOpts.timeout, "timeout", 20*time.Second, "per-node timeout")
}

var powerCmd = &command{
	name: "power", args: "status|on|off|cycle|reset|boot RANGE", summary: "power nodes through their BMCs (IPMI)",
	help: "bootsrv talks IPMI v2.0 (RMCP+) to each node's bmc_address as bmc_user with the password stored\n" +
		"under the secret name bmc_password. boot: on when off, else reset. Results are folded by node\n" +
		"range: cn[001-003]: on.\n" +
		"Exit status 1 when any node failed; the others are still done.",
	minArgs: 2, maxArgs: 2,
	flags: powerFlags,
	run: func(e *env, args []string) error {
		res, err := runPower(e, args[0], args[1])
		if err != nil {
			return err
		}
		if e.output == "json" {
			if err := writeJSON(e.stdout, res); err != nil {
				return err
			}
		} else if err := printPower(e.stdout, res); err != nil {
			return err
		}
		return powerFailures(res)
	},
}

func runPower(e *env, action, rangeExpr string) ([]api.PowerResult, error) {
	switch action {
	case "status", "on", "off", "cycle", "reset", "boot":
	default:
		return nil, usagef("power: action %q: want status, on, off, cycle, reset or boot", action)
	}
	if powerOpts.parallel < 1 {
		return nil, usagef("--parallel: want at least 1, got %d", powerOpts.parallel)
	}
	return e.client().Power(e.ctx, api.PowerRequest{Range: rangeExpr, Action: action,
		Parallel: powerOpts.parallel, TimeoutMS: int(powerOpts.timeout.Milliseconds())})
}

// printPower folds nodes with the same outcome into one range per line,
// successes first: "cn[001-003]: on", then "cn004: error: BMC …".
func printPower(w io.Writer, res []api.PowerResult) error {
	for _, line := range foldPower(res) {
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}

func foldPower(res []api.PowerResult) []string {
	groups := map[string][]string{}
	for _, r := range res {
		key := r.State
		if r.Error != "" {
			key = "error: " + r.Error
		}
		groups[key] = append(groups[key], r.Node)
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		ei, ej := strings.HasPrefix(keys[i], "error: "), strings.HasPrefix(keys[j], "error: ")
		if ei != ej {
			return !ei
		}
		return noderange.Less(groups[keys[i]][0], groups[keys[j]][0])
	})
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = noderange.Compact(groups[k]) + ": " + k
	}
	return out
}

// powerFailures is an error naming the nodes that failed, nil when none.
func powerFailures(res []api.PowerResult) error {
	var failed []string
	for _, r := range res {
		if r.Error != "" {
			failed = append(failed, r.Node)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return fmt.Errorf("power: %d of %d node(s) failed: %s", len(failed), len(res), noderange.Compact(failed))
}
