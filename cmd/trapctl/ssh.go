package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/disklesstrap/disklesstrap/noderange"
)

// sshOpts are the flags of `trapctl ssh`.
var sshOpts struct {
	identity string
	user     string
	fanout   int
	timeout  time.Duration
	insecure bool
}

// sshProgram is the OpenSSH client trapctl fans out with (a var for tests).
var sshProgram = "ssh"

var sshCmd = &command{
	name: "ssh", args: "RANGE [flags] -- COMMAND...",
	summary: "run a command on trapped nodes over SSH, output grouped by node range",
	help: `Runs COMMAND on every node of RANGE with the OpenSSH client, at most
--fanout at a time, and prints each distinct output once under the range of
nodes that gave it (like clush -b). Host keys are pinned: trapctl writes the
keys the nodes reported to bootsrv into a temporary known_hosts and ssh runs
with StrictHostKeyChecking=yes; a node without a reported key is skipped
unless --insecure. Exit status 1 when any node failed.`,
	minArgs: 2, maxArgs: -1,
	flags: sshFlags,
	run:   runSSH,
}

// sshFlags adds the ssh fan-out flags (also used by the push commands).
func sshFlags(fs *flag.FlagSet) {
	fs.StringVar(&sshOpts.identity, "i", "", "identity (private key) file for ssh")
	fs.StringVar(&sshOpts.user, "l", "root", "remote user")
	fs.IntVar(&sshOpts.fanout, "fanout", 32, "how many nodes at a time")
	fs.DurationVar(&sshOpts.timeout, "timeout", 2*time.Minute, "per-node time limit")
	fs.BoolVar(&sshOpts.insecure, "insecure", false, "do not check host keys (nodes that never reported one)")
}

// sshResult is one node's outcome.
type sshResult struct {
	Node    string `json:"node"`
	Address string `json:"address,omitempty"`
	Exit    int    `json:"exit"`
	Output  string `json:"output"`
	Error   string `json:"error,omitempty"`
}

func runSSH(e *env, args []string) error {
	rangeExpr, command := args[0], strings.Join(args[1:], " ")
	results, err := fanOut(e, rangeExpr, command, nil)
	if err != nil {
		return err
	}
	return reportResults(e, results)
}

// fanOut runs command on every node of rangeExpr over ssh with pinned host
// keys, at most sshOpts.fanout at a time; every node's ssh reads stdin (nil:
// no input). stdin never appears on a command line or in the results.
func fanOut(e *env, rangeExpr, command string, stdin []byte) ([]sshResult, error) {
	if sshOpts.fanout < 1 {
		return nil, usagef("--fanout: want a positive number, got %d", sshOpts.fanout)
	}
	targets, err := sshTargets(e, rangeExpr)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "trapctl-ssh-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	knownHosts := filepath.Join(tmp, "known_hosts")
	keys, err := e.client().HostKeys(e.ctx, rangeExpr)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(knownHosts, []byte(keys), 0o600); err != nil {
		return nil, err
	}
	hasKey := map[string]bool{}
	for _, line := range strings.Split(keys, "\n") {
		if hosts, _, ok := strings.Cut(line, " "); ok {
			name, _, _ := strings.Cut(hosts, ",")
			hasKey[name] = true
		}
	}

	results := make([]sshResult, len(targets))
	sem := make(chan struct{}, sshOpts.fanout)
	var wg sync.WaitGroup
	for i, t := range targets {
		results[i] = sshResult{Node: t.node, Address: t.addr}
		switch {
		case t.addr == "":
			results[i].Exit, results[i].Error = -1, "no address known (never booted?)"
			continue
		case !hasKey[t.node] && !sshOpts.insecure:
			results[i].Exit, results[i].Error = -1, "no host key reported (not trapped?); --insecure skips the check"
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = runOneInput(e.ctx, t, knownHosts, command, stdin)
		}()
	}
	wg.Wait()
	return results, nil
}

// reportResults prints results (grouped, or JSON) and fails when any node
// failed.
func reportResults(e *env, results []sshResult) error {
	if e.output == "json" {
		if err := writeJSON(e.stdout, results); err != nil {
			return err
		}
	} else {
		printGrouped(e, results)
	}
	var failed []string
	for _, r := range results {
		if r.Exit != 0 {
			failed = append(failed, r.Node)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d nodes failed: %s", len(failed), len(results), noderange.Compact(failed))
	}
	return nil
}

type sshTarget struct{ node, addr string }

// sshTargets resolves RANGE to nodes and addresses: the node's inventory
// address (its first interface with one), never one a node
// reported; only a node with no address in the inventory (a dynamic
// lease) is reached at the address it reported, which bootsrv checked
// against its lease when the report arrived.
func sshTargets(e *env, rangeExpr string) ([]sshTarget, error) {
	st, err := e.client().Status(e.ctx, rangeExpr)
	if err != nil {
		return nil, err
	}
	nodes, err := e.client().Nodes(e.ctx, rangeExpr, false)
	if err != nil && !strings.Contains(err.Error(), "no such node") {
		return nil, err
	}
	invIP := map[string]string{}
	for _, n := range nodes {
		for _, i := range n.Interfaces {
			if i.IP != "" && invIP[n.Name] == "" {
				invIP[n.Name] = i.IP
			}
		}
	}
	var out []sshTarget
	for _, s := range st {
		addr := invIP[s.Node]
		if addr == "" {
			addr, _, _ = strings.Cut(s.Address, "/")
		}
		out = append(out, sshTarget{s.Node, addr})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("range %q: no nodes", rangeExpr)
	}
	return out, nil
}

func runOne(ctx context.Context, t sshTarget, knownHosts, command string) sshResult {
	return runOneInput(ctx, t, knownHosts, command, nil)
}

// runOneInput runs command on one node; stdin (nil: none) is its input.
func runOneInput(ctx context.Context, t sshTarget, knownHosts, command string, stdin []byte) sshResult {
	ctx, cancel := context.WithTimeout(ctx, sshOpts.timeout)
	defer cancel()
	args := []string{"-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
		"-o", "UserKnownHostsFile=" + knownHosts, "-o", "GlobalKnownHostsFile=/dev/null"}
	if sshOpts.insecure {
		args = append(args, "-o", "StrictHostKeyChecking=no")
	} else {
		args = append(args, "-o", "StrictHostKeyChecking=yes")
	}
	if sshOpts.identity != "" {
		args = append(args, "-i", sshOpts.identity, "-o", "IdentitiesOnly=yes")
	}
	args = append(args, "-l", sshOpts.user, "--", t.addr, command)
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, sshProgram, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	err := cmd.Run()
	r := sshResult{Node: t.node, Address: t.addr, Output: out.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.Exit = ee.ExitCode()
		if r.Exit == 255 {
			r.Error = "ssh failed (connection or authentication)"
		}
		if ctx.Err() != nil {
			r.Error = fmt.Sprintf("timed out after %v", sshOpts.timeout)
		}
	default:
		r.Exit, r.Error = -1, err.Error()
	}
	return r
}

// printGrouped prints each distinct (output, status) once under the
// compacted range of nodes that produced it.
func printGrouped(e *env, results []sshResult) {
	type key struct {
		out, status string
	}
	groups := map[key][]string{}
	for _, r := range results {
		status := ""
		if r.Exit != 0 {
			status = fmt.Sprintf("exit %d", r.Exit)
			if r.Error != "" {
				status += ": " + r.Error
			}
		}
		k := key{r.Output, status}
		groups[k] = append(groups[k], r.Node)
	}
	keys := make([]key, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return noderange.Less(groups[keys[i]][0], groups[keys[j]][0])
	})
	for _, k := range keys {
		head := fmt.Sprintf("%s (%d)", noderange.Compact(groups[k]), len(groups[k]))
		if k.status != "" {
			head += " " + k.status
		}
		rule := strings.Repeat("-", len(head))
		printf(e.stdout, "%s\n%s\n%s\n", rule, head, rule)
		if k.out != "" {
			fmt.Fprint(e.stdout, k.out)
			if !strings.HasSuffix(k.out, "\n") {
				fmt.Fprintln(e.stdout)
			}
		}
	}
}
