package torrentbench

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
	"time"
)

// processCPU is the user plus system CPU time this process has used so
// far (0 where getrusage fails).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuSample is the machine's aggregate CPU time from /proc/stat, in
// clock ticks: busy (everything but idle and iowait) and total.
type cpuSample struct{ busy, total uint64 }

// machineCPU reads /proc/stat's "cpu" line (zero where it cannot).
func machineCPU() cpuSample {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuSample{}
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 6 || string(f[0]) != "cpu" {
		return cpuSample{}
	}
	var s cpuSample
	for i, v := range f[1:] {
		n, err := strconv.ParseUint(string(v), 10, 64)
		if err != nil {
			return cpuSample{}
		}
		// guest and guest_nice (fields 9, 10) are already in user and nice.
		if i >= 8 {
			break
		}
		s.total += n
		if i != 3 && i != 4 { // idle, iowait
			s.busy += n
		}
	}
	return s
}

// busyFraction is the share of the machine's CPU time that was busy
// between a and b (0..1; 0 without data).
func busyFraction(a, b cpuSample) float64 {
	if b.total <= a.total {
		return 0
	}
	return float64(b.busy-a.busy) / float64(b.total-a.total)
}
