package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/disklesstrap/disklesstrap/internal/pgtest"
	"github.com/disklesstrap/disklesstrap/tools/storm"
)

// replicaRun is one storm of the replicas suite.
type replicaRun struct {
	system   string
	replicas int  // 0: SQLite
	kill     bool // replicas SIGKILLed at random
	nodes    int
}

// printReplicas runs the storm without kills against one SQLite bootsrv,
// one PostgreSQL replica and two, side by side in one run (nodes/s, ratio
// to SQLite), then the big storm (replicaNodes nodes) against two
// replicas killed at random. PostgreSQL is started here (fsync on).
func (b *bench) printReplicas(ctx context.Context) error {
	srv, err := pgtest.Start(os.TempDir(), false)
	if err != nil {
		return err
	}
	defer srv.Stop()
	runs := []replicaRun{
		{"bootsrv, SQLite", 0, false, b.stormNodes},
		{"1 replica, PostgreSQL", 1, false, b.stormNodes},
		{"2 replicas, PostgreSQL", 2, false, b.stormNodes},
		{"2 replicas, PostgreSQL, killed", 2, true, b.replicaNodes},
	}
	t := &table{title: fmt.Sprintf("Replicas: storm nodes/s (relayed DORA + script + manifest + key + events, 1 boot per node); the last row: %d nodes, a random replica SIGKILLed about every %s", b.replicaNodes, b.stormKill),
		header: []string{"System", "nodes", "done", "kills", "time", "nodes/s", "ratio", "lost"}}
	var ref float64
	var errs []error
	for i, r := range runs {
		cfg := storm.Config{Bootsrv: b.bootsrvBin, Dir: filepath.Join(b.dir, fmt.Sprint("replicas", i)), Nodes: r.nodes,
			Boots: 1, KillEvery: -1, Timeout: 5 * time.Minute, Log: slog.New(slog.DiscardHandler)}
		if r.kill {
			cfg.KillEvery = b.stormKill
		}
		if r.replicas > 0 {
			if cfg.StateDB, err = srv.CreateDB(fmt.Sprint("bench", i)); err != nil {
				return err
			}
			cfg.Replicas = r.replicas
		}
		res, err := storm.Run(ctx, cfg)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.system, err))
		}
		if res == nil {
			continue
		}
		rate := float64(res.Completed) / res.Took.Seconds()
		if i == 0 {
			ref = rate
		}
		t.add(r.system, strconv.Itoa(res.Nodes), strconv.Itoa(res.Completed), strconv.Itoa(res.Kills),
			res.Took.Round(time.Millisecond).String(), fmt.Sprintf("%.0f", rate), ratio(rate, ref), strconv.Itoa(len(res.Problems)))
		for _, p := range res.Problems {
			fmt.Println("  PROBLEM:", r.system, p)
		}
		if len(res.Problems) > 0 || res.Completed != res.Nodes {
			errs = append(errs, fmt.Errorf("%s: %d problems, %d of %d nodes completed", r.system, len(res.Problems), res.Completed, res.Nodes))
		}
		if ctx.Err() != nil {
			break
		}
	}
	t.write(os.Stdout)
	if len(errs) > 0 {
		return fmt.Errorf("%v", errs)
	}
	return nil
}
