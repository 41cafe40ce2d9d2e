package torrentbench

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/disklesstrap/disklesstrap/bootsrv/swarm"
	dtt "github.com/disklesstrap/disklesstrap/trap/torrent"
)

// Env is a benchmark environment: one image, a tracker and web server on
// 127.0.0.1, and the seeder, its upload capped at Cap bytes/s.
type Env struct {
	Dir   string
	Image string
	Size  int64
	Cap   int64
	Meta  []byte
	base  string

	tracker *swarm.Tracker
	seeder  *swarm.Seeder
	srv     *http.Server
	lim     *rate.Limiter // the server's egress cap, shared by seeder and HTTP
}

// NewEnv writes a random image of size bytes into dir and starts the
// server side.
//
// seederConns caps the seeder's peer connections (0: 100); plain turns
// the seeder's super-seeding off (swarm.SeederConfig.DisableSuperSeed).
func NewEnv(ctx context.Context, dir string, size, capBps int64, seederConns int, plain bool) (*Env, error) {
	e := &Env{Dir: dir, Size: size, Cap: capBps, Image: filepath.Join(dir, "image")}
	f, err := os.Create(e.Image)
	if err != nil {
		return nil, err
	}
	if _, err := io.CopyN(f, rand.Reader, size); err != nil {
		f.Close()
		return nil, fmt.Errorf("writing image: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e.base = "http://" + ln.Addr().String()
	e.lim = rate.NewLimiter(rate.Limit(capBps), int(max(1<<20, capBps/4)))
	e.tracker = swarm.NewTracker(func(ip netip.Addr) bool { return ip.IsLoopback() })
	e.tracker.Interval = 5 * time.Second
	mux := http.NewServeMux()
	mux.Handle("/announce", e.tracker)
	mux.Handle("/image", swarm.WebSeed{Path: e.Image, Limiter: e.lim})
	e.srv = &http.Server{Handler: mux}
	go e.srv.Serve(ln)

	mi, err := swarm.MakeTorrent(e.Image, "image", "", e.base+"/announce")
	if err != nil {
		e.Close()
		return nil, err
	}
	var buf bytes.Buffer
	if err := mi.Write(&buf); err != nil {
		e.Close()
		return nil, err
	}
	e.Meta = buf.Bytes()
	e.tracker.Register(mi.HashInfoBytes(), "image")
	e.seeder, err = swarm.NewSeeder(swarm.SeederConfig{
		Listen:           netip.MustParseAddrPort("127.0.0.1:0"),
		UploadLimiter:    e.lim,
		MaxConns:         cmp.Or(seederConns, 100),
		DisableSuperSeed: plain,
	})
	if err != nil {
		e.Close()
		return nil, err
	}
	if err := e.seeder.Add(ctx, mi, e.Image); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// Close stops everything.
func (e *Env) Close() {
	if e.seeder != nil {
		e.seeder.Close()
	}
	if e.srv != nil {
		e.srv.Close()
	}
}

// SwarmResult is one swarm run.
type SwarmResult struct {
	N              int
	Elapsed        time.Duration // until the last peer has the verified image
	First          time.Duration // until the first peer has it
	SeederUploaded int64         // during this run
	// CPU is the CPU time this process (every peer, the seeder, tracker
	// and web server) used during the run; CPU/Elapsed is the number of
	// cores kept busy. Near the machine's core count the run is CPU-bound.
	CPU time.Duration
}

// Swarm runs n peers at once (peer i on 127.0.0.(10+i)), every peer capped
// at Cap bytes/s both ways, and waits until all have the image verified
// piece by piece. Peers seed until all are done, then stop.
func (e *Env) Swarm(ctx context.Context, n int) (SwarmResult, error) {
	if n > 240 {
		return SwarmResult{}, fmt.Errorf("swarm of %d: at most 240 peers (127.0.0.10-249)", n)
	}
	before := e.seederUploaded()
	cpuBefore := processCPU()
	start := time.Now()
	results := make([]*dtt.Result, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first time.Duration
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = dtt.Download(ctx, dtt.Options{
				MetaInfo:      e.Meta,
				Dest:          filepath.Join(e.Dir, fmt.Sprintf("peer%03d", i), "image"),
				ListenAddr:    netip.AddrFrom4([4]byte{127, 0, byte(1 + i/240), byte(10 + i%240)}).String() + ":0",
				UploadLimit:   e.Cap,
				DownloadLimit: e.Cap,
			})
			mu.Lock()
			if first == 0 && errs[i] == nil {
				first = time.Since(start)
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	res := SwarmResult{N: n, Elapsed: time.Since(start), First: first, SeederUploaded: e.seederUploaded() - before,
		CPU: processCPU() - cpuBefore}
	var err error
	for i, r := range results {
		if errs[i] != nil && err == nil {
			err = fmt.Errorf("peer %d: %w", i, errs[i])
		}
		if r != nil {
			r.Stop()
			os.Remove(r.Path)
		}
	}
	return res, err
}

func (e *Env) seederUploaded() int64 {
	var n int64
	for _, s := range e.seeder.Stats() {
		n += s.Uploaded
	}
	return n
}

// HTTP downloads the image n times at once over plain HTTP from the server
// (egress capped at Cap bytes/s, shared with the seeder, which is idle
// here) and returns the time until all are done.
func (e *Env) HTTP(ctx context.Context, n int) (time.Duration, error) {
	start := time.Now()
	errs := make(chan error, n)
	for range n {
		go func() {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.base+"/image", nil)
			if err != nil {
				errs <- err
				return
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			got, err := io.Copy(io.Discard, resp.Body)
			if err == nil && got != e.Size {
				err = fmt.Errorf("got %d bytes, want %d", got, e.Size)
			}
			errs <- err
		}()
	}
	var first error
	for range n {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return time.Since(start), first
}
