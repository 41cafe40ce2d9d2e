package torrentbench

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestWriteTable: T(N)/T(1) divides by the same group's N=1 (HTTP by its
// own), server sent is the measured bytes in images, and a run on a
// saturated machine that missed its ideal time is called CPU-bound.
func TestWriteTable(t *testing.T) {
	const img = 1 << 30
	sec := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
	rows := []Row{
		{"torrent", img, sec(10), SwarmResult{N: 1, Elapsed: sec(10), SeederUploaded: img, Received: img, CPU: sec(1), MachineBusy: 0.2}},
		{"torrent", img, sec(10), SwarmResult{N: 32, Elapsed: sec(30), SeederUploaded: img, HTTPSent: img / 2, Received: 32 * img, CPU: sec(64), MachineBusy: 1}},
		{"http", img, sec(2), SwarmResult{N: 1, Elapsed: sec(2), HTTPSent: img + 300, Received: img}},
		{"http", img, sec(8), SwarmResult{N: 4, Elapsed: sec(8), HTTPSent: 4*img + 1200, Received: 4 * img, MachineBusy: 1}},
	}
	var b bytes.Buffer
	WriteTable(&b, "header", rows)
	out := b.String()
	lines := strings.Split(out, "\n")
	find := func(prefix string, n string) []string {
		for _, l := range lines {
			f := strings.Fields(l)
			if len(f) > 2 && f[0] == prefix && f[1] == n {
				return f
			}
		}
		t.Fatalf("no row %s N=%s in\n%s", prefix, n, out)
		return nil
	}
	tests := []struct {
		group, n string
		col      int // field index: 0 run, 1 N, 2 ideal, 3 T(N), 4 ratio, 5 first, 6 server sent, 7 process cores, 8 machine, 9 CPU s/GiB
		want     string
	}{
		{"torrent", "32", 4, "3.00"},
		{"torrent", "32", 6, "1.50"},
		{"torrent", "32", 9, "2.00"},
		{"http", "4", 4, "4.00"}, // against HTTP's own T(1), not the torrent's
		{"http", "4", 6, "4.00"},
		{"http", "1", 6, "1.00"},
	}
	for _, tc := range tests {
		t.Run(tc.group+"/"+tc.n, func(t *testing.T) {
			if got := find(tc.group, tc.n)[tc.col]; got != tc.want {
				t.Errorf("column %d = %s, want %s", tc.col, got, tc.want)
			}
		})
	}
	if !strings.Contains(out, "torrent N=32: CPU-bound") {
		t.Errorf("saturated slow run not called CPU-bound:\n%s", out)
	}
	if strings.Contains(out, "http N=4: CPU-bound") {
		t.Errorf("run at its ideal time called CPU-bound:\n%s", out)
	}
	if want := fmt.Sprintf("(of %d)", runtime.NumCPU()); !strings.Contains(out, want) {
		t.Errorf("header lacks %q", want)
	}
}
