package lab

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// Host is another machine on a lab bridge without a VM: a network
// namespace of its own whose eth0 is a veth port of the bridge, e.g. a
// compute node's user or an attacker on the boot network. Close (of the
// lab) removes it, killing what still runs inside.
type Host struct {
	NS   string       // its network namespace
	Addr netip.Prefix // eth0's address
}

// AddHost creates a host on bridge i with address addr (inside the
// bridge's subnet, not a node's).
func (l *Lab) AddHost(i int, addr netip.Prefix) (*Host, error) {
	if i < 0 || i >= len(l.opts.Bridges) {
		return nil, fmt.Errorf("lab host: no bridge %d", i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var name string
	for range 100 {
		n := fmt.Sprintf("%s%d-%d", nsPrefix, os.Getpid(), nsCounter.Add(1))
		if _, err := os.Stat(filepath.Join(netnsDir, n)); err != nil {
			name = n
			break
		}
	}
	if name == "" {
		return nil, fmt.Errorf("lab host: no free dtlab name")
	}
	if err := ip(ctx, "netns", "add", name); err != nil {
		return nil, fmt.Errorf("lab host %s: %w", name, err)
	}
	l.push("host namespace "+name, func() error { return removeNamespace(name) })
	port := fmt.Sprintf("dth%d", nsCounter.Load()%10000)
	for _, c := range [][]string{
		{"-n", l.ns, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", name},
		{"-n", l.ns, "link", "set", port, "master", l.opts.Bridges[i].Name, "up"},
		{"-n", name, "link", "set", "lo", "up"},
		{"-n", name, "addr", "add", addr.String(), "dev", "eth0"},
		{"-n", name, "link", "set", "eth0", "up"},
	} {
		if err := ip(ctx, c...); err != nil {
			return nil, fmt.Errorf("lab host %s: %w", name, err)
		}
	}
	return &Host{NS: name, Addr: addr}, nil
}

// Command is exec.CommandContext for a program run inside the host.
func (h *Host) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", h.NS, name}, args...)...)
}
