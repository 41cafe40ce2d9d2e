package boottiming

import (
	"strconv"
	"time"
)

// Data keys of the agent's boot marks: kernel uptime in seconds ("12.345")
// when the mark was reached. KeyUptime is on every event that carries
// timing (agent-start: /init started; manifest: fetched; trapped: SSH
// listening); the others are on agent-start, reported once the network is
// up.
const (
	KeyUptime  = "uptime"       // this event's own moment
	KeyModules = "uptime.mods"  // boot kernel modules loaded (NIC modules first)
	KeyLink    = "uptime.link"  // boot interface found and up
	KeyLease   = "uptime.lease" // DHCP lease applied
)

// phaseIPXE is bootsrv/api.PhaseIPXE: the event bootsrv records when it
// serves a node's iPXE script (this package imports neither side).
const phaseIPXE = "ipxe"

// Format renders an uptime for event data, in seconds with milliseconds.
func Format(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}

// parse reads a Format value; ok is false when absent or malformed.
func parse(data map[string]string, key string) (time.Duration, bool) {
	v, ok := data[key]
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 {
		return 0, false
	}
	return time.Duration(f * float64(time.Second)), true
}
