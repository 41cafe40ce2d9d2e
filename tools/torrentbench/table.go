package torrentbench

import (
	"fmt"
	"io"
	"runtime"
	"text/tabwriter"
	"time"
)

// machineBound is the machine-wide CPU share from which a run counts as
// limited by the machine rather than by the caps.
const machineBound = 0.9

// Row is one line of the table: a run and the group it belongs to.
type Row struct {
	Group string // transport, image and cap; T(1) is this group's N=1 run
	Image int64  // bytes
	// Ideal is T(N) at the caps with no other limit: the image at a
	// node's cap for the swarm, N images at the server's cap for HTTP.
	Ideal time.Duration
	SwarmResult
}

// WriteTable prints the runs: T(N)/T(1) against the same group's N=1,
// what the server sent in images (measured), the CPU this process and the
// whole machine kept busy, and this process's CPU per GiB moved. A note
// follows for every run the machine's CPU limited.
func WriteTable(w io.Writer, header string, rows []Row) {
	if len(rows) == 0 {
		return
	}
	t1 := map[string]float64{}
	for _, r := range rows {
		if r.N == 1 {
			t1[r.Group] = r.Elapsed.Seconds()
		}
	}
	cpus := runtime.NumCPU()
	fmt.Fprintln(w)
	fmt.Fprintln(w, header)
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "run\tN\tideal s\tT(N) s\tT(N)/T(1)\tfirst done s\tserver sent (images)\tprocess cores (of %d)\tmachine cores busy (of %d)\tCPU s/GiB moved\t\n", cpus, cpus)
	for _, r := range rows {
		ratio := "-"
		if t := t1[r.Group]; t > 0 {
			ratio = fmt.Sprintf("%.2f", r.Elapsed.Seconds()/t)
		}
		first := "-"
		if r.First > 0 {
			first = fmt.Sprintf("%.1f", r.First.Seconds())
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%s\t%s\t%.2f\t%.2f\t%.2f\t%.2f\t\n", r.Group, r.N, r.Ideal.Seconds(), r.Elapsed.Seconds(), ratio, first,
			float64(r.ServerSent())/float64(r.Image), r.CPU.Seconds()/r.Elapsed.Seconds(), r.MachineBusy*float64(cpus), r.CPUPerGiB())
	}
	tw.Flush()
	fmt.Fprintf(w, "CPU s/GiB moved = this process's CPU seconds per GiB the peers received (= cores per GiB/s; every peer, the seeder and the server are this process)\n")
	for _, r := range rows {
		if r.MachineBusy < machineBound || r.Elapsed.Seconds() <= 1.1*r.Ideal.Seconds() {
			continue // not saturated, or at the caps' ideal time anyway
		}
		own := r.CPU.Seconds() / r.Elapsed.Seconds()
		who := "this run"
		if others := r.MachineBusy*float64(cpus) - own; others > own {
			who = fmt.Sprintf("other processes (%.2f cores)", others)
		}
		fmt.Fprintf(w, "%s N=%d: CPU-bound: the machine was %.0f%% busy (this process %.2f cores, most of it %s); T(N) here measures the machine, not the swarm\n",
			r.Group, r.N, 100*r.MachineBusy, own, who)
	}
}
