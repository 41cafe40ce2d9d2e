package torrentbench

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"
)

var (
	flagSize  = flag.Int64("torrentbench.size", 0, "image size in MiB (default 128, 16 with -short)")
	flagCap   = flag.Int64("torrentbench.cap", 8, "per-node bandwidth cap in MiB/s, both ways, seeder and HTTP server included")
	flagN     = flag.String("torrentbench.n", "", "comma-separated swarm sizes (default 1,8,16,32; 1,4,8 with -short)")
	flagConns = flag.Int("torrentbench.seederconns", 0, "cap on the seeder's peer connections (0: 100)")
	flagHTTP  = flag.Int("torrentbench.http", 4, "concurrent plain-HTTP downloads for the baseline (0: skip)")
	flagPlain = flag.Bool("torrentbench.nosuperseed", false, "seeder announces every piece to every peer (no super-seeding)")
)

type row struct {
	name    string
	n       int
	elapsed time.Duration
	first   time.Duration
	seeder  int64
	cpu     time.Duration
}

var (
	rowsMu sync.Mutex
	rows   []row
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	printTable()
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
	capBps := *flagCap << 20
	ctx := context.Background()
	env, err := NewEnv(ctx, b.TempDir(), size<<20, capBps, *flagConns, *flagPlain)
	if err != nil {
		b.Fatalf("benchmark environment: %v", err)
	}
	defer env.Close()
	rowsMu.Lock()
	imageSize = env.Size
	header = fmt.Sprintf("image %d MiB, every node and the server capped at %d MiB/s both ways; ideal T(1) = %.1f s",
		size, *flagCap, float64(size)/float64(*flagCap))
	rowsMu.Unlock()
	for _, n := range sizes() {
		b.Run(fmt.Sprintf("torrent/N=%d", n), func(b *testing.B) {
			for range b.N {
				ctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
				r, err := env.Swarm(ctx, n)
				cancel()
				if err != nil {
					b.Fatalf("swarm of %d: %v", n, err)
				}
				b.ReportMetric(r.Elapsed.Seconds(), "s/dist")
				b.ReportMetric(float64(r.SeederUploaded)/float64(env.Size), "seeder-copies")
				b.ReportMetric(r.CPU.Seconds()/r.Elapsed.Seconds(), "cores")
				record(row{"torrent", n, r.Elapsed, r.First, r.SeederUploaded, r.CPU})
			}
		})
	}
	if n := *flagHTTP; n > 0 {
		b.Run(fmt.Sprintf("http/N=%d", n), func(b *testing.B) {
			for range b.N {
				d, err := env.HTTP(ctx, n)
				if err != nil {
					b.Fatalf("http x%d: %v", n, err)
				}
				b.ReportMetric(d.Seconds(), "s/dist")
				record(row{"http", n, d, 0, int64(n) * env.Size, 0})
			}
		})
	}
}

var (
	header    string
	imageSize int64
)

func record(r row) {
	rowsMu.Lock()
	defer rowsMu.Unlock()
	// b.Run runs a sub-benchmark more than once when it calibrates; keep the last.
	for i := range rows {
		if rows[i].name == r.name && rows[i].n == r.n {
			rows[i] = r
			return
		}
	}
	rows = append(rows, r)
}

func printTable() {
	rowsMu.Lock()
	defer rowsMu.Unlock()
	if len(rows) == 0 {
		return
	}
	var t1 time.Duration
	for _, r := range rows {
		if r.name == "torrent" && r.n == 1 {
			t1 = r.elapsed
		}
	}
	fmt.Println()
	fmt.Println(header)
	w := tabwriter.NewWriter(os.Stdout, 0, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "transport\tN\tT(N) s\tT(N)/T(1)\tfirst done s\tserver sent (images)\tCPU cores used (of %d)\t\n", runtime.NumCPU())
	for _, r := range rows {
		ratio := "-"
		if t1 > 0 {
			ratio = fmt.Sprintf("%.2f", r.elapsed.Seconds()/t1.Seconds())
		}
		first := "-"
		if r.first > 0 {
			first = fmt.Sprintf("%.1f", r.first.Seconds())
		}
		cores := "-"
		if r.cpu > 0 {
			cores = fmt.Sprintf("%.2f", r.cpu.Seconds()/r.elapsed.Seconds())
		}
		fmt.Fprintf(w, "%s\t%d\t%.1f\t%s\t%s\t%s\t%s\t\n", r.name, r.n, r.elapsed.Seconds(), ratio, first, seederCopies(r), cores)
	}
	w.Flush()
}

func seederCopies(r row) string {
	if imageSize == 0 {
		return fmt.Sprintf("%d B", r.seeder)
	}
	return fmt.Sprintf("%.2f", float64(r.seeder)/float64(imageSize))
}
