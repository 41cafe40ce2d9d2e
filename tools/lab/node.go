package lab

import (
	"fmt"
	"io"
	"os"
	"time"
)

// Node returns a booted node by name.
func (l *Lab) Node(name string) *Node {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, n := range l.nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// PID is the QEMU process ID.
func (n *Node) PID() int { return n.Proc.PID() }

// Alive reports whether QEMU is still running.
func (n *Node) Alive() bool { return n.Proc.Alive() }

// Elapsed is the time since QEMU was started.
func (n *Node) Elapsed() time.Duration { return time.Since(n.Started) }

// Stop closes the console connection and stops QEMU (SIGTERM, then
// SIGKILL) and waits for it; a node behind a BMC loses its BMC too.
func (n *Node) Stop() error {
	cerr := n.closeConsole()
	if err := n.Proc.Stop(); err != nil {
		return err
	}
	if n.BMC != nil {
		if err := killPIDFile(n.BMC.PIDFile); err != nil {
			return err
		}
	}
	return cerr
}

// QEMULog returns QEMU's own stdout and stderr.
func (n *Node) QEMULog() string { return n.Proc.Log() }

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	return out.Close()
}
