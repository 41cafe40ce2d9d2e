package agent

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/disklesstrap/disklesstrap/boottiming"
)

// bootClock gives the kernel uptime of moments in the agent's life, for the
// boot marks its events carry (package boottiming).
type bootClock struct {
	kernelStart time.Time // now minus CLOCK_BOOTTIME, with a monotonic reading
	marks       map[string]string
}

func newBootClock() *bootClock {
	c := &bootClock{kernelStart: time.Now(), marks: map[string]string{}}
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts) == nil {
		c.kernelStart = c.kernelStart.Add(-time.Duration(ts.Nano()))
	}
	return c
}

// uptime renders t as kernel uptime.
func (c *bootClock) uptime(t time.Time) string { return boottiming.Format(t.Sub(c.kernelStart)) }

// mark records that boot mark key was reached now.
func (c *bootClock) mark(key string) { c.marks[key] = c.uptime(time.Now()) }

// withUptime returns data plus the current uptime (a new map).
func (c *bootClock) withUptime(data map[string]string) map[string]string {
	out := make(map[string]string, len(data)+1)
	for k, v := range data {
		out[k] = v
	}
	out[boottiming.KeyUptime] = c.uptime(time.Now())
	return out
}
