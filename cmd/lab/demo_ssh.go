package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/disklesstrap/disklesstrap/tools/labcluster"
)

// pinHostKeys writes the trapped nodes' host keys (trapctl hostkeys) to
// DIR/known_hosts, for the ssh commands the demo prints.
func pinHostKeys(ctx context.Context, c *labcluster.Cluster) (string, error) {
	text, err := c.Trapctl(ctx, "hostkeys")
	if err != nil {
		return "", fmt.Errorf("trapctl hostkeys: %w", err)
	}
	if strings.TrimSpace(text) == "" {
		return "", fmt.Errorf("trapctl hostkeys: no host keys")
	}
	kh := filepath.Join(c.Dir, "known_hosts")
	if err := os.WriteFile(kh, []byte(text), 0o644); err != nil {
		return "", err
	}
	return kh, nil
}

// pinnedSSH is the ssh command line into a trapped node that checks its
// host key against knownHosts.
func pinnedSSH(c *labcluster.Cluster, name, knownHosts string) string {
	return strings.Join([]string{"ip", "netns", "exec", c.Lab.Namespace(), "ssh", "-i", c.Key,
		"-o", "IdentitiesOnly=yes", "-o", "UserKnownHostsFile=" + knownHosts, "-o", "StrictHostKeyChecking=yes",
		"root@" + c.NodeIP(name)}, " ")
}
