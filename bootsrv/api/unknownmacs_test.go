package api

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/bootsrv/state"
)

// TestRandomMACsBounded: 10,000 unknown MACs asking for an iPXE script and
// a manifest (anyone on the boot network can) leave at most MaxDiscovered
// discovered MACs, with their status and event rows, while bootsrv runs
// its pruner; the heap stays bounded. (Before pruning, every MAC stayed:
// 10,000 discovered, status and event rows, growing without end.)
func TestRandomMACsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping 20,000 requests")
	}
	e := newEnv(t)
	const macs, keep = 10_000, 500
	limits := state.PruneLimits{MaxDiscovered: keep, EventsPerNode: 20}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		e.store.RunPruner(ctx, limits, time.Hour, nil)
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	work := make(chan int)
	var failed sync.Once
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				mac := fmt.Sprintf("02:%02x:%02x:%02x:%02x:%02x", i>>24&0xff, i>>16&0xff, i>>8&0xff, i&0xff, rand.IntN(256))
				for _, p := range []string{"/ipxe?platform=pcbios&mac=" + mac, "/manifest?mac=" + mac} {
					resp, err := e.srv.Client().Get(e.srv.URL + p)
					if err != nil || resp.StatusCode != http.StatusOK {
						failed.Do(func() { t.Errorf("GET %s: %v %v", p, resp, err) })
					}
					if resp != nil {
						resp.Body.Close()
					}
				}
			}
		}()
	}
	for i := range macs {
		work <- i
	}
	close(work)
	took := time.Since(start)
	// Let the last early prune finish, then look.
	time.Sleep(200 * time.Millisecond)
	if _, err := e.store.Prune(limits); err != nil { // what the next tick does
		t.Fatal(err)
	}
	c, err := e.store.Count()
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	t.Logf("%d random MACs (%d requests) in %v: rows left discovered=%d status=%d events=%d; heap %.1f -> %.1f MiB",
		macs, 2*macs, took.Round(time.Millisecond), c.Discovered, c.Status, c.Events,
		float64(before.HeapAlloc)/(1<<20), float64(after.HeapAlloc)/(1<<20))
	if c.Discovered > keep {
		t.Errorf("%d discovered rows, want at most %d", c.Discovered, keep)
	}
	if c.Status > keep+int64(len(e.cluster.Load().Nodes())) {
		t.Errorf("%d status rows, want at most %d", c.Status, keep)
	}
	if c.Events > 2*keep {
		t.Errorf("%d event rows, want at most %d (two per kept MAC)", c.Events, 2*keep)
	}
	if grow := int64(after.HeapAlloc) - int64(before.HeapAlloc); grow > 32<<20 {
		t.Errorf("heap grew %d MiB", grow>>20)
	}
}
