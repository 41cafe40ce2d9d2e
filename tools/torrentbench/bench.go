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
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/disklesstrap/disklesstrap/bootsrv/swarm"
	dtt "github.com/disklesstrap/disklesstrap/trap/torrent"
)

// Env is a benchmark environment: one image, a tracker and web server on
// 127.0.0.1, and the seeder, its upload capped at Cap bytes/s.
type Env struct {
	Dir string
	// PeerDir holds the peers' downloads: tmpfs where the machine has one
	// (/dev/shm), as a node's /run/image is; else Dir.
	PeerDir string
	Image   string
	Size    int64
	Cap     int64
	Meta    []byte
	base    string

	tracker *swarm.Tracker
	seeder  *swarm.Seeder
	srv     *http.Server
	lim     *rate.Limiter // the server's egress cap, shared by seeder and HTTP
	httpOut atomic.Int64  // bytes the HTTP server wrote on its connections
}

// NewEnv writes a random image of size bytes into dir and starts the
// server side.
//
// seederConns caps the seeder's peer connections (0: 100); plain turns
// the seeder's super-seeding off (swarm.SeederConfig.DisableSuperSeed).
func NewEnv(ctx context.Context, dir string, size, capBps int64, seederConns int, plain bool) (*Env, error) {
	e := &Env{Dir: dir, PeerDir: dir, Size: size, Cap: capBps, Image: filepath.Join(dir, "image")}
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
	if d, err := os.MkdirTemp("/dev/shm", "torrentbench"); err == nil {
		e.PeerDir = d
	}
	e.base = "http://" + ln.Addr().String()
	e.lim = rate.NewLimiter(rate.Limit(capBps), int(max(1<<20, capBps/4)))
	e.tracker = swarm.NewTracker(func(ip netip.Addr) bool { return ip.IsLoopback() })
	e.tracker.Interval = 5 * time.Second
	mux := http.NewServeMux()
	mux.Handle("/announce", e.tracker)
	mux.Handle("/image", swarm.WebSeed{Path: e.Image, Limiter: e.lim})
	e.srv = &http.Server{Handler: mux}
	go e.srv.Serve(countingListener{Listener: ln, n: &e.httpOut})

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
	if e.PeerDir != e.Dir {
		os.RemoveAll(e.PeerDir)
	}
}

// SwarmResult is one swarm run (or one HTTP run: First and
// SeederUploaded are zero there).
type SwarmResult struct {
	N              int
	Elapsed        time.Duration // until the last peer has the verified image
	First          time.Duration // until the first peer has it
	SeederUploaded int64         // payload bytes, during this run
	// HTTPSent is what the HTTP server (web seed, tracker) wrote on its
	// connections during the run, headers included.
	HTTPSent int64
	// Received is the image bytes every peer got, summed (peers and web
	// seed for the swarm, response bodies for HTTP).
	Received int64
	// CPU is the CPU time this process (every peer, the seeder, tracker
	// and web server) used during the run; CPU/Elapsed is the number of
	// cores kept busy. Near the machine's core count the run is CPU-bound.
	CPU time.Duration
	// MachineBusy is the share of the whole machine's CPU time that was
	// busy during the run (this process and everything else), 0..1.
	MachineBusy float64
}

// ServerSent is every byte the server side sent: seeder payload plus HTTP.
func (r SwarmResult) ServerSent() int64 { return r.SeederUploaded + r.HTTPSent }

// CPUPerGiB is this process's CPU seconds per GiB received by the peers:
// cores kept busy per GiB/s moved (both ends of every transfer, the
// seeder and the tracker included). 0 without data.
func (r SwarmResult) CPUPerGiB() float64 {
	if r.Received <= 0 {
		return 0
	}
	return r.CPU.Seconds() / (float64(r.Received) / (1 << 30))
}

// measure fills the timing, CPU and server-side fields of a run of f; f's
// cleanup (stopping peers, removing their files) runs after the figures
// are taken.
func (e *Env) measure(n int, f func(start time.Time) (received int64, first time.Duration, cleanup func(), err error)) (SwarmResult, error) {
	seedBefore, httpBefore := e.seederUploaded(), e.httpOut.Load()
	cpuBefore, machBefore := processCPU(), machineCPU()
	start := time.Now()
	received, first, cleanup, err := f(start)
	r := SwarmResult{
		N: n, Elapsed: time.Since(start), First: first, Received: received,
		CPU:         processCPU() - cpuBefore,
		MachineBusy: busyFraction(machBefore, machineCPU()),
	}
	// A sender counts a write once it returns, which can be after the
	// receiver has read the bytes: let the counters settle.
	seed, web := e.seederUploaded(), e.httpOut.Load()
	for range 20 {
		time.Sleep(50 * time.Millisecond)
		s2, h2 := e.seederUploaded(), e.httpOut.Load()
		if s2 == seed && h2 == web {
			break
		}
		seed, web = s2, h2
	}
	r.SeederUploaded, r.HTTPSent = seed-seedBefore, web-httpBefore
	cleanup()
	return r, err
}

// Swarm runs n peers at once (peer i on 127.0.0.(10+i)), every peer capped
// at Cap bytes/s both ways, and waits until all have the image verified
// piece by piece. Peers seed until all are done, then stop.
func (e *Env) Swarm(ctx context.Context, n int) (SwarmResult, error) {
	if n > 240 {
		return SwarmResult{}, fmt.Errorf("swarm of %d: at most 240 peers (127.0.0.10-249)", n)
	}
	return e.measure(n, func(start time.Time) (int64, time.Duration, func(), error) {
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
					Dest:          filepath.Join(e.PeerDir, fmt.Sprintf("peer%03d", i), "image"),
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
		var err error
		var received int64
		for i, r := range results {
			if errs[i] != nil && err == nil {
				err = fmt.Errorf("peer %d: %w", i, errs[i])
			}
			if r != nil {
				received += r.FromPeers + r.FromWeb
			}
		}
		return received, first, func() {
			for _, r := range results {
				if r != nil {
					r.Stop()
					os.Remove(r.Path)
				}
			}
		}, err
	})
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
// here) and returns the run: time until all are done, bytes the server
// wrote and the clients read.
func (e *Env) HTTP(ctx context.Context, n int) (SwarmResult, error) {
	return e.measure(n, func(start time.Time) (int64, time.Duration, func(), error) {
		type done struct {
			got int64
			at  time.Duration
			err error
		}
		ch := make(chan done, n)
		for range n {
			go func() {
				got, err := e.httpGet(ctx)
				ch <- done{got, time.Since(start), err}
			}()
		}
		var first error
		var received int64
		var firstAt time.Duration
		for range n {
			d := <-ch
			received += d.got
			if d.err != nil && first == nil {
				first = d.err
			}
			if d.err == nil && firstAt == 0 {
				firstAt = d.at
			}
		}
		return received, firstAt, func() {}, first
	})
}

func (e *Env) httpGet(ctx context.Context) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.base+"/image", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /image: %s", resp.Status)
	}
	got, err := io.Copy(io.Discard, resp.Body)
	if err == nil && got != e.Size {
		err = fmt.Errorf("got %d bytes, want %d", got, e.Size)
	}
	return got, err
}

// countingListener counts the bytes written on every accepted connection.
type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{Conn: c, n: l.n}, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.n.Add(int64(n))
	return n, err
}
