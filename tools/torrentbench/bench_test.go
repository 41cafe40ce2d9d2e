package torrentbench

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	flagSize   = flag.Int64("torrentbench.size", 0, "image size in MiB (default 128, 16 with -short)")
	flagCap    = flag.Int64("torrentbench.cap", 8, "per-node bandwidth cap in MiB/s, both ways, seeder and HTTP server included")
	flagN      = flag.String("torrentbench.n", "", "comma-separated swarm sizes (default 1,8,16,32; 1,4,8 with -short)")
	flagConns  = flag.Int("torrentbench.seederconns", 0, "cap on the seeder's peer connections (0: 100)")
	flagHTTP   = flag.Bool("torrentbench.http", true, "plain-HTTP baseline at the same N values")
	flagHTTPSz = flag.Int64("torrentbench.httpsize", 0, "image size in MiB for the HTTP baseline (default a quarter of the torrent image: its T(N) grows as N)")
	flagLowCap = flag.Int64("torrentbench.lowcap", 2, "second swarm run at this cap in MiB/s, N=1 and the largest N, image scaled to the same ideal T(1) (0: skip)")
	flagPlain  = flag.Bool("torrentbench.nosuperseed", false, "seeder announces every piece to every peer (no super-seeding)")
)

var (
	rowsMu sync.Mutex
	rows   []Row
	header string
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	rowsMu.Lock()
	WriteTable(os.Stdout, header, rows)
	rowsMu.Unlock()
	os.Exit(code)
}

func sizes() []int {
	s := *flagN
	if s == "" {
		s = "1,8,16,32"
		if testing.Short() {
			s = "1,4,8"
		}
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out
}

// BenchmarkSwarm measures T(N) for the swarm and plain HTTP. Run with
// -benchtime 1x: one iteration is a full distribution.
func BenchmarkSwarm(b *testing.B) {
	size := *flagSize
	if size == 0 {
		size = 128
		if testing.Short() {
			size = 16
		}
	}
	ns := sizes()
	rowsMu.Lock()
	header = fmt.Sprintf("every node and the server capped at the row's cap both ways; torrent image %d MiB at %d MiB/s: ideal T(1) = %.1f s",
		size, *flagCap, float64(size)/float64(*flagCap))
	rowsMu.Unlock()
	torrentRuns(b, "torrent", size<<20, *flagCap<<20, ns)
	if *flagHTTP {
		hs := *flagHTTPSz
		if hs == 0 {
			hs = max(1, size/4)
		}
		httpRuns(b, hs<<20, *flagCap<<20, ns)
	}
	if low := *flagLowCap; low > 0 && low != *flagCap && len(ns) > 0 {
		// Same ideal T(1): the image shrinks with the cap.
		lowSize := max(1<<20, (size<<20)*low / *flagCap)
		torrentRuns(b, "torrent", lowSize, low<<20, []int{1, slices.Max(ns)})
	}
}

func env(b *testing.B, size, capBps int64) *Env {
	b.Helper()
	e, err := NewEnv(context.Background(), b.TempDir(), size, capBps, *flagConns, *flagPlain)
	if err != nil {
		b.Fatalf("benchmark environment: %v", err)
	}
	b.Cleanup(e.Close)
	return e
}

func torrentRuns(b *testing.B, name string, size, capBps int64, ns []int) {
	e := env(b, size, capBps)
	group := fmt.Sprintf("%s %d MiB @%d MiB/s", name, size>>20, capBps>>20)
	for _, n := range ns {
		b.Run(fmt.Sprintf("%s/cap=%d/N=%d", name, capBps>>20, n), func(b *testing.B) {
			for range b.N {
				ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
				r, err := e.Swarm(ctx, n)
				cancel()
				if err != nil {
					b.Fatalf("swarm of %d: %v", n, err)
				}
				report(b, group, size, ideal(size, capBps, 1), r)
			}
		})
	}
}

func httpRuns(b *testing.B, size, capBps int64, ns []int) {
	e := env(b, size, capBps)
	group := fmt.Sprintf("http %d MiB @%d MiB/s", size>>20, capBps>>20)
	for _, n := range ns {
		b.Run(fmt.Sprintf("http/cap=%d/N=%d", capBps>>20, n), func(b *testing.B) {
			for range b.N {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
				r, err := e.HTTP(ctx, n)
				cancel()
				if err != nil {
					b.Fatalf("http x%d: %v", n, err)
				}
				report(b, group, size, ideal(size, capBps, n), r)
			}
		})
	}
}

func report(b *testing.B, group string, size int64, ideal time.Duration, r SwarmResult) {
	b.ReportMetric(r.Elapsed.Seconds(), "s/dist")
	b.ReportMetric(float64(r.ServerSent())/float64(size), "server-copies")
	b.ReportMetric(r.CPU.Seconds()/r.Elapsed.Seconds(), "cores")
	b.ReportMetric(r.CPUPerGiB(), "cpu-s/GiB")
	record(Row{group, size, ideal, r})
}

func record(r Row) {
	rowsMu.Lock()
	defer rowsMu.Unlock()
	// b.Run runs a sub-benchmark more than once when it calibrates; keep the last.
	for i := range rows {
		if rows[i].Group == r.Group && rows[i].N == r.N {
			rows[i] = r
			return
		}
	}
	rows = append(rows, r)
}

// ideal is the time to send copies images of size bytes at capBps.
func ideal(size, capBps int64, copies int) time.Duration {
	return time.Duration(float64(size) * float64(copies) / float64(capBps) * float64(time.Second))
}
