// Package cmdline parses the kernel command line (/proc/cmdline) the way
// the kernel does: whitespace-separated words, double quotes group words
// (and are removed), key=value pairs with the value optionally quoted,
// bare words as flags. Everything after a lone "--" goes to init and is
// kept apart in InitArgs.
//
// Accessors read the keys bootsrv's iPXE script writes (manifest.Cmdline*):
// the boot interface (BOOTIF=01-aa-bb-cc-dd-ee-ff), the server URL, the
// node name and the mode.
package cmdline

import (
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/disklesstrap/disklesstrap/manifest"
)

// Cmdline is a parsed kernel command line. The zero value is empty and
// usable.
type Cmdline struct {
	// Keys lists the keys in order of first appearance.
	Keys []string
	// Values maps a key to its last value ("" for a bare flag).
	Values map[string]string
	// InitArgs are the words after a lone "--".
	InitArgs []string
}

// Read reads and parses a command-line file such as /proc/cmdline.
func Read(path string) (*Cmdline, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read kernel command line %s: %w", path, err)
	}
	return Parse(string(b)), nil
}

// Parse splits s into keys and values. It never fails: an unterminated
// quote runs to the end of the line, as in the kernel.
func Parse(s string) *Cmdline {
	c := &Cmdline{Values: map[string]string{}}
	words := split(s)
	for i, w := range words {
		if w == "--" {
			c.InitArgs = append([]string{}, words[i+1:]...)
			break
		}
		key, val, _ := strings.Cut(w, "=")
		if key == "" {
			continue
		}
		if _, seen := c.Values[key]; !seen {
			c.Keys = append(c.Keys, key)
		}
		c.Values[key] = val
	}
	return c
}

// split breaks s into words at unquoted whitespace, removing the double
// quotes.
func split(s string) []string {
	var (
		words   []string
		cur     strings.Builder
		inQuote bool
		inWord  bool
	)
	for _, r := range s {
		switch {
		case r == '"':
			inQuote = !inQuote
			inWord = true
		case !inQuote && (r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == 0):
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// Get returns the value of key and whether it was present.
func (c *Cmdline) Get(key string) (string, bool) {
	if c == nil || c.Values == nil {
		return "", false
	}
	v, ok := c.Values[key]
	return v, ok
}

// Value returns the value of key, "" when absent.
func (c *Cmdline) Value(key string) string {
	v, _ := c.Get(key)
	return v
}

// Has reports whether key is present (as a flag or with a value).
func (c *Cmdline) Has(key string) bool {
	_, ok := c.Get(key)
	return ok
}

// Server is the bootsrv base URL (dt.server) without a trailing slash.
func (c *Cmdline) Server() string {
	return strings.TrimRight(c.Value(manifest.CmdlineServer), "/")
}

// Node is the node name (dt.node); empty for unknown nodes.
func (c *Cmdline) Node() string { return c.Value(manifest.CmdlineNode) }

// Mode is the mode bootsrv rendered into the script (dt.mode); the
// manifest's mode wins over it.
func (c *Cmdline) Mode() string { return c.Value(manifest.CmdlineMode) }

// Debug reports whether dt.debug is set to a true value (or is a bare flag).
func (c *Cmdline) Debug() bool {
	v, ok := c.Get(manifest.CmdlineDebug)
	if !ok {
		return false
	}
	switch strings.ToLower(v) {
	case "", "1", "y", "yes", "true", "on":
		return true
	}
	return false
}

// BootIF returns the boot interface's MAC from BOOTIF=. It returns
// (nil, nil) when BOOTIF is absent.
func (c *Cmdline) BootIF() (net.HardwareAddr, error) {
	v, ok := c.Get(manifest.CmdlineBootIF)
	if !ok {
		return nil, nil
	}
	return ParseBootIF(v)
}

// ParseBootIF parses the pxelinux/iPXE form "01-aa-bb-cc-dd-ee-ff": an
// ARP hardware type (01 = Ethernet) and the MAC, dash separated. A bare
// MAC ("aa:bb:cc:dd:ee:ff" or "aa-bb-...") is accepted too.
func ParseBootIF(s string) (net.HardwareAddr, error) {
	s = strings.TrimSpace(s)
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == ':' })
	if len(parts) == 7 {
		if parts[0] != "01" {
			return nil, fmt.Errorf("BOOTIF %q: hardware type %s is not Ethernet (01)", s, parts[0])
		}
		parts = parts[1:]
	}
	if len(parts) != 6 {
		return nil, fmt.Errorf("BOOTIF %q: want 01-xx-xx-xx-xx-xx-xx", s)
	}
	for _, p := range parts {
		if len(p) != 2 {
			return nil, fmt.Errorf("BOOTIF %q: octet %q is not two hex digits", s, p)
		}
	}
	mac, err := net.ParseMAC(strings.Join(parts, ":"))
	if err != nil {
		return nil, fmt.Errorf("BOOTIF %q: %w", s, err)
	}
	return mac, nil
}
