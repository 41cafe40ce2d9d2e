package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strings"
	"time"
)

// consolePoll is how often WaitConsole rereads the console log.
const consolePoll = 100 * time.Millisecond

// ConsoleText returns everything the node wrote to its serial console so
// far, raw (with firmware escape sequences).
func (n *Node) ConsoleText() string {
	b, _ := os.ReadFile(n.ConsolePath)
	return string(b)
}

// ConsoleOffset is the console log's current length: pass it to
// WaitConsoleFrom to match only output that comes after this point.
func (n *Node) ConsoleOffset() int {
	st, err := os.Stat(n.ConsolePath)
	if err != nil {
		return 0
	}
	return int(st.Size())
}

// WaitConsole waits until the console shows substr (escape sequences and
// carriage returns removed before matching).
func (n *Node) WaitConsole(ctx context.Context, substr string, timeout time.Duration) error {
	_, err := n.WaitConsoleFrom(ctx, 0, regexp.MustCompile(regexp.QuoteMeta(substr)), timeout)
	return err
}

// WaitConsoleRegexp waits until the console matches re and returns the
// match and its submatches.
func (n *Node) WaitConsoleRegexp(ctx context.Context, re *regexp.Regexp, timeout time.Duration) ([]string, error) {
	return n.WaitConsoleFrom(ctx, 0, re, timeout)
}

// WaitConsoleFrom waits until the console output after byte offset
// matches re. It fails early when QEMU exits; errors carry the last 30
// console lines.
func (n *Node) WaitConsoleFrom(ctx context.Context, offset int, re *regexp.Regexp, timeout time.Duration) ([]string, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	start := time.Now()
	tick := time.NewTicker(consolePoll)
	defer tick.Stop()
	for {
		exited := !n.Alive()
		text := n.ConsoleText()
		if offset > 0 && offset <= len(text) {
			text = text[offset:]
		} else if offset > len(text) {
			text = ""
		}
		if m := re.FindStringSubmatch(CleanConsole(text)); m != nil {
			return m, nil
		}
		if exited {
			return nil, fmt.Errorf("node %s: waiting for %q: qemu exited after %s (%v)\nqemu log:\n%s\n%s",
				n.Name, re, time.Since(start).Round(time.Millisecond), n.Proc.Wait(),
				tail(n.QEMULog(), 10), n.consoleTail())
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("node %s: waiting for %q: %w after %s\n%s",
				n.Name, re, ctx.Err(), time.Since(start).Round(time.Millisecond), n.consoleTail())
		case <-tick.C:
		}
	}
}

func (n *Node) consoleTail() string {
	return fmt.Sprintf("last console lines of %s:\n%s", n.Name, tail(CleanConsole(n.ConsoleText()), 30))
}

// ConsoleTail returns the last lines of the cleaned console output.
func (n *Node) ConsoleTail(lines int) string {
	return tail(CleanConsole(n.ConsoleText()), lines)
}

func tail(s string, lines int) string {
	s = strings.TrimRight(s, "\n")
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// ansiRE matches terminal escape sequences firmware writes to the serial
// console (CSI sequences, charset selections, single-character escapes).
var ansiRE = regexp.MustCompile(`\x1b(\[[0-?]*[ -/]*[@-~]|[()][0-9A-Za-z]|[@-Z\\-_a-z0-9=>])`)

// CleanConsole removes escape sequences, carriage returns and NUL bytes
// from console output.
func CleanConsole(s string) string {
	s = ansiRE.ReplaceAllString(s, "")
	return strings.NewReplacer("\r", "", "\x00", "").Replace(s)
}

// SendConsole writes text to the node's serial console (for example
// "exit\n"). The first call connects to QEMU's console socket and keeps
// the connection, draining QEMU's output (the log file still gets it).
func (n *Node) SendConsole(text string) error {
	n.connMu.Lock()
	defer n.connMu.Unlock()
	if n.conn == nil {
		c, err := n.dialConsole()
		if err != nil {
			return err
		}
		n.conn = c
		go io.Copy(io.Discard, c) //nolint:errcheck // drained so QEMU never blocks
	}
	if err := n.conn.SetWriteDeadline(time.Now().Add(10 * time.Second)); err != nil {
		return fmt.Errorf("node %s console: %w", n.Name, err)
	}
	if _, err := io.WriteString(n.conn, text); err != nil {
		return fmt.Errorf("node %s console write: %w", n.Name, err)
	}
	return nil
}

func (n *Node) dialConsole() (net.Conn, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("unix", n.SocketPath)
		if err == nil {
			return c, nil
		}
		if !n.Alive() {
			return nil, fmt.Errorf("node %s console: qemu not running: %w", n.Name, err)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("node %s console %s: %w", n.Name, n.SocketPath, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (n *Node) closeConsole() error {
	n.connMu.Lock()
	defer n.connMu.Unlock()
	if n.conn == nil {
		return nil
	}
	err := n.conn.Close()
	n.conn = nil
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
