package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/disklesstrap/disklesstrap/tools/storm"
)

// bench is one benchmark run.
type bench struct {
	bootsrvBin, trapctlBin, profsrvBin string
	dir                                string // work directory
	profile                            string // folder for CPU profiles, "" = none
	pprof                              string // profsrv's pprof address
	base                               string // bootsrv's HTTP base URL
	nodes                              int
	httpSecs                           int
	dhcp                               dhcpOpts
	stormNodes                         int
	stormKill                          time.Duration
	replicaNodes                       int // replicas suite: nodes of the big storm (replicas.go)
	verbose                            bool
}

func (b *bench) logf(format string, args ...any) {
	if b.verbose {
		fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	}
}

// startBootsrv starts bootsrv (profsrv when profiling) on a fresh state
// with an inventory of nodes nodes; dhcp is "off" or its address, cpu the
// CPU to pin it to ("" = none).
// startBootsrv starts bootsrv over a nodes-node inventory in dir, with its
// admin socket at adminSocket(dir); extra are more bootsrv flags.
func (b *bench) startBootsrv(ctx context.Context, dir string, nodes int, dhcp, cpu string, extra ...string) (*proc, error) {
	for _, d := range []string{"state", "data/boot", "data/tftp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	inv := filepath.Join(dir, "cluster.yaml")
	if err := storm.WriteInventory(inv, nodes); err != nil {
		return nil, err
	}
	bin := b.bootsrvBin
	var prof []string
	if b.profile != "" {
		bin, prof = b.profsrvBin, []string{"--pprof", b.pprof}
	}
	args := append([]string{bin}, prof...)
	args = append(args, "--config", inv, "--state", filepath.Join(dir, "state"), "--data", filepath.Join(dir, "data"),
		"--http", strings.TrimPrefix(b.base, "http://"), "--dhcp", dhcp, "--tftp", "off", "--tls-listen", "off",
		"--admin-socket", adminSocket(dir), "--log-level", "warn")
	args = append(args, extra...)
	logPath := filepath.Join(dir, "bootsrv.log")
	p, err := start("bootsrv", logPath, cpu, args...)
	if err != nil {
		return nil, err
	}
	if err := waitHTTP(ctx, p, b.base+"/boot.ipxe", logPath); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	b := &bench{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&b.bootsrvBin, "bootsrv", "bin/bootsrv", "bootsrv binary")
	fs.StringVar(&b.trapctlBin, "trapctl", "bin/trapctl", "trapctl binary")
	fs.StringVar(&b.profsrvBin, "profsrv", "bin/profsrv", "bootsrv with pprof (tools/bench/profsrv), used with -profile")
	fs.StringVar(&b.dir, "dir", "", "work directory (default: a new temporary one, removed afterwards)")
	fs.StringVar(&b.profile, "profile", "", "save CPU profiles of bootsrv under load to this folder")
	suites := fs.String("suites", "dhcp,http,mode,storm,replicas", "benchmarks to run")
	fs.IntVar(&b.nodes, "nodes", 10000, "inventory size for the HTTP and mode benchmarks")
	fs.IntVar(&b.httpSecs, "http-seconds", 10, "wrk -d")
	fs.IntVar(&b.dhcp.Seconds, "dhcp-seconds", 10, "perfdhcp -p of each 500-step")
	fs.IntVar(&b.dhcp.Start, "dhcp-start", 2000, "first rate of the coarse DHCP search")
	fs.IntVar(&b.dhcp.Step, "dhcp-step", 500, "DHCP rate step")
	fs.Float64Var(&b.dhcp.MaxLoss, "dhcp-max-loss", 0.025, "highest share of lost exchanges that passes")
	fs.IntVar(&b.dhcp.Clients, "dhcp-clients", 60000, "perfdhcp -R for the dynamic-pool runs")
	fs.IntVar(&b.dhcp.Reserved, "dhcp-reservations", 10000, "static reservations (and perfdhcp -R) for the reservation runs")
	fs.StringVar(&b.dhcp.Cases, "dhcp-cases", "pool,reservations,veth", "DHCP cases to run: pool, reservations (relayed on loopback), veth (broadcast over a veth pair)")
	fs.IntVar(&b.stormNodes, "storm-nodes", 2000, "simulated nodes in the storm")
	fs.DurationVar(&b.stormKill, "storm-kill", time.Second, "mean time between SIGKILLs of bootsrv in the storm")
	fs.IntVar(&b.replicaNodes, "replica-nodes", 10000, "simulated nodes in the replicas suite's storm against two killed PostgreSQL replicas")
	fs.BoolVar(&b.verbose, "v", true, "log every step to stderr")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if !storm.InNetns() {
		if os.Geteuid() != 0 {
			return errors.New("needs root (a network namespace, port 67)")
		}
		for _, tool := range []string{"ip", "taskset", "perfdhcp", "kea-dhcp4", "nginx", "wrk"} {
			if _, err := exec.LookPath(tool); err != nil {
				return fmt.Errorf("%s not found (Debian: kea-admin kea-dhcp4-server nginx wrk util-linux iproute2)", tool)
			}
		}
		for _, p := range []*string{&b.bootsrvBin, &b.trapctlBin, &b.profsrvBin} {
			if a, err := filepath.Abs(*p); err == nil {
				*p = a
			}
		}
		args := []string{"-bootsrv", b.bootsrvBin, "-trapctl", b.trapctlBin, "-profsrv", b.profsrvBin}
		if b.profile != "" {
			if err := os.MkdirAll(b.profile, 0o755); err != nil {
				return err
			}
			abs, _ := filepath.Abs(b.profile)
			args = append(args, "-profile", abs)
		}
		self, err := os.Executable()
		if err != nil {
			return err
		}
		argv := append([]string{self}, append(args, os.Args[1:]...)...)
		return storm.RunInNetns(ctx, "bench", argv, nil, os.Stdout, os.Stderr)
	}
	if b.dir == "" {
		d, err := os.MkdirTemp("", "dtbench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		b.dir = d
	}
	b.base = "http://127.0.0.1:8080"
	b.pprof = "127.0.0.1:6060"
	fmt.Printf("bootsrv benchmarks (%s, %d CPUs, load average %s)\n", time.Now().Format(time.RFC3339), numCPU(), loadavg())
	var errs []error
	for _, s := range strings.Split(*suites, ",") {
		var err error
		switch strings.TrimSpace(s) {
		case "dhcp":
			err = b.printDHCP(ctx)
		case "http":
			err = b.printHTTP(ctx)
		case "mode":
			err = b.printMode(ctx)
		case "storm":
			err = b.printStorm(ctx)
		case "replicas":
			err = b.printReplicas(ctx)
		case "":
		default:
			err = fmt.Errorf("unknown suite %q (want dhcp, http, mode, storm, replicas)", s)
		}
		if err != nil {
			fmt.Printf("\n%s: FAILED: %v\n", s, err)
			errs = append(errs, fmt.Errorf("%s: %w", s, err))
		}
		if ctx.Err() != nil {
			break
		}
	}
	if b.profile != "" {
		fmt.Printf("\nCPU profiles in %s: go tool pprof -top %s %s/cpu-*.prof\n", b.profile, b.profsrvBin, b.profile)
	}
	return errors.Join(errs...)
}

func (b *bench) printDHCP(ctx context.Context) error {
	rows, err := b.benchDHCP(ctx)
	t := &table{title: fmt.Sprintf("DHCP: DORA exchanges/s (relayed on loopback, or broadcast over a veth pair between two namespaces) at <= %.1f %% loss with perfdhcp sending what was asked (rate steps of %d, %d s each; server on CPU 0, perfdhcp on CPU 1); ratio = measured / Kea's measured; limit = the first failing step",
		100*b.dhcp.MaxLoss, b.dhcp.Step, b.dhcp.Seconds), header: []string{"System", "rate", "measured", "ratio", "limit"}}
	for i, r := range rows {
		ref := rows[i-i%2].measured // Kea's row of the pair
		rate := strconv.Itoa(r.rate)
		if r.rate == 0 {
			rate = fmt.Sprintf("< %d", b.dhcp.Step)
		}
		t.add(r.system, rate, fmt.Sprintf("%.0f", r.measured), ratio(r.measured, ref), r.limit)
	}
	t.write(os.Stdout)
	return err
}

func (b *bench) printHTTP(ctx context.Context) error {
	rows, err := b.benchHTTP(ctx)
	t := &table{title: fmt.Sprintf("HTTP: req/s, wrk -t2 -c64 -d%ds on CPU %s, random nodes of %d; server (bootsrv, nginx with 1 worker) on CPU %s; CPU = busy share of its CPU, saturated >= %.0f %%",
		b.httpSecs, wrkCPU, b.nodes, serverCPU, 100*saturatedShare),
		header: []string{"System", "rate", "errors", "server CPU", "CPU/request", "wrk CPU", "saturated", "ratio"}}
	for _, r := range rows {
		cmp := "1.00x"
		if r.ref >= 0 {
			cmp = ratio(r.res.ReqPerSec, rows[r.ref].res.ReqPerSec)
		}
		if r.err != nil || (r.ref >= 0 && rows[r.ref].err != nil) {
			cmp = "FAILED (errors)"
		}
		t.add(r.system, fmt.Sprintf("%.0f", r.res.ReqPerSec), strconv.Itoa(r.res.Non2xx+r.res.Errors),
			fmt.Sprintf("%.0f %%", 100*r.server), perRequest(r.server, r.res.ReqPerSec), fmt.Sprintf("%.0f %%", 100*r.load),
			saturated(r.server, r.load), cmp)
	}
	t.write(os.Stdout)
	return err
}

// perRequest is the server's CPU time per answered request: what bounds
// its rate once its CPU saturates, comparable even when it did not.
func perRequest(share, rate float64) string {
	if rate <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f µs", 1e6*share/rate)
}

func (b *bench) printMode(ctx context.Context) error {
	rows, err := b.benchMode(ctx)
	t := &table{title: fmt.Sprintf("Mode switch: trapctl wall time, %d-node inventory (median of 5; admin socket as root, or a token over TLS)", b.nodes),
		header: []string{"Operation", "nodes", "time", "per node"}}
	for _, r := range rows {
		t.add(r.op, strconv.Itoa(r.nodes), r.took.Round(time.Millisecond).String(),
			(r.took / time.Duration(r.nodes)).Round(10*time.Nanosecond).String())
	}
	t.write(os.Stdout)
	return err
}

func (b *bench) printStorm(ctx context.Context) error {
	log := slog.New(slog.DiscardHandler)
	res, err := storm.Run(ctx, storm.Config{Bootsrv: b.bootsrvBin, Dir: filepath.Join(b.dir, "storm"), Nodes: b.stormNodes,
		Boots: 2, KillEvery: b.stormKill, Timeout: 5 * time.Minute, Log: log})
	t := &table{title: "Storm: relayed DORA + script + manifest + events per boot, 2 boots per node, bootsrv SIGKILLed and restarted",
		header: []string{"nodes", "done", "kills", "time", "events acked", "mode switches", "lost events", "lost modes"}}
	if res != nil {
		t.add(strconv.Itoa(res.Nodes), strconv.Itoa(res.Completed), strconv.Itoa(res.Kills), res.Took.Round(time.Millisecond).String(),
			strconv.Itoa(res.EventsAcked), strconv.Itoa(res.ModeSets), strconv.Itoa(res.LostEvents), strconv.Itoa(res.LostModes))
		t.write(os.Stdout)
		fmt.Printf("retries by step: %v\n", res.Retries)
		for _, p := range res.Problems {
			fmt.Println("  PROBLEM:", p)
		}
		if err == nil && (len(res.Problems) > 0 || res.Completed != res.Nodes) {
			err = fmt.Errorf("storm: %d problems, %d of %d nodes completed", len(res.Problems), res.Completed, res.Nodes)
		}
	}
	return err
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
