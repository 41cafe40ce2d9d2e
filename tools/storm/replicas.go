package storm

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"time"
)

// Replicas. With Config.StateDB (a postgres:// URL) the storm runs
// Config.Replicas bootsrv processes on one shared database, as replicas of
// one segment behind one relay: replica i serves HTTP on HTTPPort+i and
// DHCP on DHCPPort+1000*i, has its own state dir and admin socket; the
// relay sends every DHCP packet to all of them (the first answer wins), and
// every node request and admin call goes to a replica chosen at random per
// attempt, so a retry after a killed replica reaches another one. The
// killer kills a random replica.

// replicaCount is how many bootsrv processes the storm runs.
func (c *Config) replicaCount() int {
	if c.StateDB == "" || c.Replicas < 1 {
		return 1
	}
	return c.Replicas
}

// supervisors makes the supervisor of every replica.
func (c *Config) supervisors(inv string) (sups []*Supervisor, bases, socks []string, dhcpPorts []int) {
	n := c.replicaCount()
	for i := range n {
		stateDir, sock, logf := filepath.Join(c.Dir, "state"), filepath.Join(c.Dir, "run", "admin.sock"), filepath.Join(c.Dir, "bootsrv.log")
		if n > 1 {
			stateDir = filepath.Join(c.Dir, "state", fmt.Sprint("r", i))
			sock = filepath.Join(c.Dir, "run", fmt.Sprintf("admin%d.sock", i))
			logf = filepath.Join(c.Dir, fmt.Sprintf("bootsrv%d.log", i))
		}
		base := fmt.Sprintf("http://%s:%d", ServerAddr, c.HTTPPort+i)
		dhcp := c.DHCPPort + 1000*i
		args := []string{"--config", inv, "--state", stateDir, "--data", filepath.Join(c.Dir, "data"),
			"--http", fmt.Sprintf("%s:%d", ServerAddr, c.HTTPPort+i), "--dhcp", fmt.Sprintf("%s:%d", ServerAddr, dhcp),
			"--tftp", "off", "--tls-listen", "off", "--admin-socket", sock, "--log-level", "warn"}
		if n > 1 {
			args = append(args, "--torrent-listen", "off") // one peer-wire port per host
		}
		if c.StateDB != "" {
			args = append(args, "--state-db", c.StateDB)
		}
		sups = append(sups, &Supervisor{Bin: c.Bootsrv, Args: args, Log: logf, Ready: base + "/boot.ipxe"})
		bases, socks, dhcpPorts = append(bases, base), append(socks, sock), append(dhcpPorts, dhcp)
	}
	return sups, bases, socks, dhcpPorts
}

// pickBase is the HTTP base URL of a random replica.
func (s *storm) pickBase() string { return s.bases[rand.IntN(len(s.bases))] }

// adminClient talks to the admin socket of a random replica per connection.
func adminClient(socks []string) *http.Client {
	var d net.Dialer
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", socks[rand.IntN(len(socks))])
		},
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     time.Second,
	}}
}
