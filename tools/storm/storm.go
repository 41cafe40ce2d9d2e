package storm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// Config describes one storm.
type Config struct {
	Bootsrv string // bootsrv binary
	Dir     string // work directory: cluster.yaml, state/, data/, bootsrv.log
	Nodes   int    // simulated nodes, all running at once
	// Events is how many events each node posts per boot (default 3).
	Events int
	// Boots is how many times each node boots in a row (default 1).
	Boots int
	// KillEvery is the mean time between SIGKILLs of bootsrv (default
	// 1 s); each kill is followed at once by a restart. Zero kills: -1.
	KillEvery time.Duration
	// Timeout bounds the whole storm (default 5 min).
	Timeout time.Duration
	// HTTPPort and DHCPPort of bootsrv on 127.0.0.1 (defaults 8080, 67).
	HTTPPort, DHCPPort int
	// StateDB, a postgres:// URL, runs bootsrv on that shared database
	// and Replicas (default 1) of them side by side (replicas.go).
	StateDB  string
	Replicas int
	Log      *slog.Logger
}

// Result is what a storm did and what the checks found.
type Result struct {
	Nodes, Completed int
	Kills, Starts    int
	ModeSets         int               // acknowledged mode switches
	EventsAcked      int               // acknowledged events
	Retries          map[string]int    // failed attempts by step
	LastErrors       map[string]string // the last failure of each step
	Took             time.Duration     // first request to last node done
	Problems         []string          // verification failures (empty: passed; capped list)
	// LostEvents and LostModes count the acknowledgements the checks found
	// broken: acknowledged events missing (API or SQLite), nodes whose last
	// acknowledged mode switch is not in force. Problems lists only the
	// first of them.
	LostEvents, LostModes int
}

func (c *Config) defaults() error {
	if c.Nodes < 1 || c.Nodes > MaxNodes {
		return fmt.Errorf("storm: %d nodes, want 1..%d", c.Nodes, MaxNodes)
	}
	if c.Bootsrv == "" || c.Dir == "" {
		return errors.New("storm: Bootsrv and Dir are required")
	}
	if c.Events <= 0 {
		c.Events = 3
	}
	if c.Boots <= 0 {
		c.Boots = 1
	}
	if c.KillEvery == 0 {
		c.KillEvery = time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Minute
	}
	if c.HTTPPort == 0 {
		c.HTTPPort = 8080
	}
	if c.DHCPPort == 0 {
		c.DHCPPort = 67
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Run runs the storm and the checks. The error is for a storm that could
// not run or did not finish; check failures are in Result.Problems.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	for _, d := range []string{"state", "data/boot", "data/tftp"} {
		if err := os.MkdirAll(filepath.Join(cfg.Dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("storm dir: %w", err)
		}
	}
	inv := filepath.Join(cfg.Dir, "cluster.yaml")
	if err := WriteInventory(inv, cfg.Nodes); err != nil {
		return nil, err
	}
	// Admin calls go through bootsrv's admin socket: authentication on,
	// as on a real cluster (a SIGKILLed bootsrv leaves the socket file;
	// the restarted one replaces it).
	sups, bases, socks, dhcpPorts := cfg.supervisors(inv)
	sup := sups[0]
	for _, sp := range sups {
		defer sp.Close()
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	for _, sp := range sups {
		if err := sp.Start(ctx); err != nil {
			return nil, err
		}
	}
	relay, err := NewRelay(RelayAddr, ServerAddr, dhcpPorts...)
	if err != nil {
		return nil, err
	}
	defer relay.Close()

	s := &storm{cfg: cfg, bases: bases, relay: relay, acked: make([][]string, cfg.Nodes+1),
		retries: map[string]int{}, lastErr: map[string]string{}, http: newHTTPClient(cfg.Nodes),
		adminHC: adminClient(socks)}
	res := &Result{Nodes: cfg.Nodes}
	start := time.Now()

	stormCtx, stopStorm := context.WithCancel(ctx)
	var bg sync.WaitGroup
	var kills atomic.Int64
	var killErr error
	if cfg.KillEvery > 0 {
		bg.Add(1)
		go func() {
			defer bg.Done()
			killErr = s.killer(stormCtx, sups, &kills)
		}()
	}
	bg.Add(1)
	go func() { defer bg.Done(); s.admin(stormCtx) }()

	var wg sync.WaitGroup
	var completed atomic.Int64
	errs := make(chan error, cfg.Nodes)
	for i := 1; i <= cfg.Nodes; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if err := s.node(ctx, i); err != nil {
				errs <- fmt.Errorf("node %s: %w", NodeName(i), err)
				return
			}
			completed.Add(1)
		}(i)
	}
	wg.Wait()
	res.Took = time.Since(start)
	stopStorm()
	bg.Wait()
	close(errs)
	res.Completed = int(completed.Load())
	res.Kills = int(kills.Load())
	res.ModeSets = len(s.modeLog)
	res.Retries, res.LastErrors = s.retries, s.lastErr
	for _, a := range s.acked {
		res.EventsAcked += len(a)
	}
	if killErr != nil {
		return res, fmt.Errorf("storm: restart after kill: %w", killErr)
	}
	for err := range errs {
		res.Problems = append(res.Problems, err.Error())
	}
	if ctx.Err() != nil {
		return res, fmt.Errorf("storm: did not finish in %s: %d of %d nodes done", cfg.Timeout, res.Completed, cfg.Nodes)
	}
	// One more kill, so that the checks read what survived a SIGKILL.
	if err := sup.Kill(); err != nil {
		return res, err
	}
	if err := sup.Start(ctx); err != nil {
		return res, err
	}
	res.Problems = append(res.Problems, s.verifyAPI(ctx)...)
	for _, sp := range sups {
		if err := sp.Stop(5 * time.Second); err != nil {
			return res, err
		}
		res.Starts += sp.Starts()
	}
	if cfg.StateDB != "" {
		return res, nil // the shared database was read through the API (verifyAPI)
	}
	problems, err := s.verifyDB(filepath.Join(cfg.Dir, "state", "state.db"))
	if err != nil {
		return res, err
	}
	res.Problems = append(res.Problems, problems...)
	res.LostEvents, res.LostModes = len(s.lostEvents), len(s.lostModes)
	return res, nil
}

// killer SIGKILLs bootsrv at random intervals around KillEvery, and when
// a quarter, half and three quarters of all boots are done (so a storm
// that a fast server finishes early is still cut three times), and
// restarts it at once, until ctx ends.
func (s *storm) killer(ctx context.Context, sups []*Supervisor, kills *atomic.Int64) error {
	total := int64(s.cfg.Nodes * s.cfg.Boots)
	milestones := []int64{total / 4, total / 2, total * 3 / 4}
	poll := time.NewTicker(2 * time.Millisecond)
	defer poll.Stop()
	for {
		timer := time.NewTimer(s.cfg.KillEvery/2 + rand.N(s.cfg.KillEvery))
	wait:
		for {
			select {
			case <-ctx.Done():
				timer.Stop()
				return nil
			case <-timer.C:
				break wait
			case <-poll.C:
				if len(milestones) > 0 && milestones[0] > 0 && s.booted.Load() >= milestones[0] {
					milestones = milestones[1:]
					timer.Stop()
					break wait
				}
			}
		}
		sup := sups[rand.IntN(len(sups))]
		if err := sup.Kill(); err != nil {
			return err
		}
		kills.Add(1)
		s.cfg.Log.Info("storm: killed bootsrv", "kills", kills.Load())
		// A fresh context: a restart must not be cut short by the end of
		// the storm, or the checks would find no server.
		startCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := sup.Start(startCtx)
		cancel()
		if err != nil {
			return err
		}
	}
}

func newHTTPClient(conns int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = conns
	tr.MaxIdleConnsPerHost = conns
	tr.DisableCompression = true
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}
