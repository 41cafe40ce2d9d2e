package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"

	"github.com/disklesstrap/disklesstrap/tools/storm"
)

// modeRow is one line of the mode-switch table.
type modeRow struct {
	op    string
	nodes int
	took  time.Duration // median wall time of trapctl
}

// adminSocket is the admin socket of the bootsrv benchmarked in dir.
func adminSocket(dir string) string { return filepath.Join(dir, "run", "admin.sock") }

// trapctl runs the CLI once with the credential args (--server or
// --credentials) and returns its wall time.
func (b *bench) trapctl(ctx context.Context, cred []string, args ...string) (time.Duration, error) {
	args = append(append(cred, "-o", "json"), args...)
	t0 := time.Now()
	out, err := exec.CommandContext(ctx, b.trapctlBin, args...).CombinedOutput()
	took := time.Since(t0)
	if err != nil {
		return 0, fmt.Errorf("trapctl %v: %v: %.300s", args, err, out)
	}
	return took, nil
}

// benchMode times trapctl mode set and status over 1,000 nodes and over
// the whole cluster, the median of 5 runs each, as root on the admin
// socket and with a token over TLS (what authentication costs: a token is
// a TLS handshake, a SQLite read and a SHA-256 per request; the socket a
// getsockopt per connection).
func (b *bench) benchMode(ctx context.Context) ([]modeRow, error) {
	dir := b.dir + "/mode"
	srv, err := b.startBootsrv(ctx, dir, b.nodes, "off", "", "--tls-listen", tlsAddr)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	sock := []string{"--server", "unix://" + adminSocket(dir)}
	creds := filepath.Join(dir, "bench.credentials.json")
	os.Remove(creds)
	if _, err := b.trapctl(ctx, sock, "admin", "token", "create", fmt.Sprintf("bench-%d", time.Now().UnixNano()),
		"--out", creds, "--url", "https://"+tlsAddr); err != nil {
		return nil, err
	}
	token := []string{"--credentials", creds}
	var rows []modeRow
	sizes := []int{min(1000, b.nodes), b.nodes}
	if sizes[0] == sizes[1] {
		sizes = sizes[:1]
	}
	modes := []string{"local", "trap"}
	for _, n := range sizes {
		rng := storm.NodeRange(1, n)
		for _, op := range []struct {
			name string
			cred []string
			args func(k int) []string
		}{
			{"trapctl mode set (socket)", sock, func(k int) []string { return []string{"mode", "set", rng, modes[k%2]} }},
			{"trapctl mode set (token, TLS)", token, func(k int) []string { return []string{"mode", "set", rng, modes[k%2]} }},
			{"trapctl status (socket)", sock, func(int) []string { return []string{"status", rng} }},
			{"trapctl status (token, TLS)", token, func(int) []string { return []string{"status", rng} }},
		} {
			var times []time.Duration
			for k := range 5 {
				d, err := b.trapctl(ctx, op.cred, op.args(k)...)
				if err != nil {
					return rows, err
				}
				times = append(times, d)
			}
			sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
			rows = append(rows, modeRow{op.name, n, times[len(times)/2]})
			b.logf("mode: %s over %d nodes: median %s (all %v)", op.name, n, times[len(times)/2].Round(time.Microsecond), times)
		}
	}
	return rows, nil
}

// tlsAddr is the mode benchmark's TLS listener.
const tlsAddr = "127.0.0.1:8443"
