package main

import (
	"context"
	"fmt"
	"os/exec"
	"sort"
	"time"

	"github.com/disklesstrap/disklesstrap/tools/storm"
)

// modeRow is one line of the mode-switch table.
type modeRow struct {
	op    string
	nodes int
	took  time.Duration // median wall time of trapctl
}

// trapctl runs the CLI once and returns its wall time.
func (b *bench) trapctl(ctx context.Context, args ...string) (time.Duration, error) {
	args = append([]string{"--server", b.base, "-o", "json"}, args...)
	t0 := time.Now()
	out, err := exec.CommandContext(ctx, b.trapctlBin, args...).CombinedOutput()
	took := time.Since(t0)
	if err != nil {
		return 0, fmt.Errorf("trapctl %v: %v: %.300s", args, err, out)
	}
	return took, nil
}

// benchMode times trapctl mode set and status over 1,000 nodes and over
// the whole cluster, the median of 5 runs each.
func (b *bench) benchMode(ctx context.Context) ([]modeRow, error) {
	dir := b.dir + "/mode"
	srv, err := b.startBootsrv(ctx, dir, b.nodes, "off", "")
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	var rows []modeRow
	sizes := []int{min(1000, b.nodes), b.nodes}
	if sizes[0] == sizes[1] {
		sizes = sizes[:1]
	}
	modes := []string{"local", "trap"}
	for _, n := range sizes {
		rng := storm.NodeRange(1, n)
		for _, op := range []struct {
			name string
			args func(k int) []string
		}{
			{"trapctl mode set", func(k int) []string { return []string{"mode", "set", rng, modes[k%2]} }},
			{"trapctl status", func(int) []string { return []string{"status", rng} }},
		} {
			var times []time.Duration
			for k := range 5 {
				d, err := b.trapctl(ctx, op.args(k)...)
				if err != nil {
					return rows, err
				}
				times = append(times, d)
			}
			sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
			rows = append(rows, modeRow{op.name, n, times[len(times)/2]})
			b.logf("mode: %s over %d nodes: median %s (all %v)", op.name, n, times[len(times)/2].Round(time.Microsecond), times)
		}
	}
	return rows, nil
}
