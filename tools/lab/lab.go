// Package lab is the QEMU test lab: an isolated network namespace with one
// or more bridges (198.18.0.0/15 only), IPv6 router advertisements on every
// bridge so iPXE does not stall in IPv6 autoconfiguration, long-running
// helper processes (bootsrv, tgtd, ...) started inside the namespace, and
// QEMU nodes (BIOS or UEFI, PXE or direct kernel boot) with a logged,
// bidirectional serial console.
//
// Every resource a Lab creates is recorded and removed in reverse order by
// Close, also after a failure halfway through setup. New registers Close
// with t.Cleanup when given a testing.TB; long-running users (the demo) call
// Close themselves. Reap removes namespaces left behind by dead processes.
package lab

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Bridge is one lab bridge inside the namespace, with the host side's
// address and prefix (for example 198.18.0.1/24).
type Bridge struct {
	Name string
	Addr netip.Prefix
}

// DefaultBridge is the lab's first network.
var DefaultBridge = Bridge{Name: "br0", Addr: netip.MustParsePrefix("198.18.0.1/24")}

// SecondBridge is the second network for multipath setups.
var SecondBridge = Bridge{Name: "br1", Addr: netip.MustParsePrefix("198.19.0.1/24")}

// Options configure a Lab. The zero value is a lab with DefaultBridge in a
// fresh temporary directory.
type Options struct {
	// Dir holds logs, consoles and firmware variable copies. Empty means a
	// temporary directory that Close removes (kept when the test failed).
	Dir string
	// Bridges in order; node NICs attach to them in the same order.
	// Empty means []Bridge{DefaultBridge}.
	Bridges []Bridge
	// NoRouterAdverts disables the IPv6 router advertisement sender.
	NoRouterAdverts bool
	// RAInterval is the period between router advertisements (default 1 s).
	RAInterval time.Duration
	// QEMU is the emulator binary (default qemu-system-x86_64).
	QEMU string
	// OVMFCode and OVMFVars override the UEFI firmware images.
	OVMFCode, OVMFVars string
	// Logger receives lab events (default: slog.Default()).
	Logger *slog.Logger
}

// Lab is one running lab. Its methods are safe for concurrent use.
type Lab struct {
	opts    Options
	log     *slog.Logger
	t       testing.TB
	ns      string
	dir     string
	tempDir bool
	created time.Time

	mu        sync.Mutex
	cleanups  []cleanup
	procs     []*Proc
	nodes     []*Node
	nodeNames map[string]bool
	closed    bool
	nextTap   int
	closeErr  error
}

type cleanup struct {
	what string
	fn   func() error
}

// New creates a lab: namespace, loopback, bridges with addresses and IPv6
// link-local, router advertisements. With t non-nil, Close is registered
// with t.Cleanup. On error everything created so far is removed.
func New(t testing.TB, opts Options) (*Lab, error) {
	if t != nil {
		t.Helper()
	}
	if len(opts.Bridges) == 0 {
		opts.Bridges = []Bridge{DefaultBridge}
	}
	if opts.RAInterval <= 0 {
		opts.RAInterval = time.Second
	}
	if opts.QEMU == "" {
		opts.QEMU = "qemu-system-x86_64"
	}
	if opts.OVMFCode == "" {
		opts.OVMFCode = "/usr/share/OVMF/OVMF_CODE.fd"
	}
	if opts.OVMFVars == "" {
		opts.OVMFVars = "/usr/share/OVMF/OVMF_VARS.fd"
	}
	if err := validateBridges(opts.Bridges); err != nil {
		return nil, err
	}
	l := &Lab{opts: opts, t: t, created: time.Now()}
	l.log = opts.Logger
	if l.log == nil {
		l.log = slog.Default()
	}
	if t != nil {
		t.Cleanup(func() {
			if err := l.Close(); err != nil {
				t.Errorf("lab close: %v", err)
			}
		})
	}
	if err := l.setup(); err != nil {
		cerr := l.Close()
		return nil, errors.Join(err, cerr)
	}
	return l, nil
}

func validateBridges(bs []Bridge) error {
	seen := map[string]bool{}
	for i, b := range bs {
		if b.Name == "" || len(b.Name) > 15 {
			return fmt.Errorf("bridge %d: bad name %q", i, b.Name)
		}
		if seen[b.Name] {
			return fmt.Errorf("bridge %d: duplicate name %q", i, b.Name)
		}
		seen[b.Name] = true
		if !b.Addr.IsValid() || !b.Addr.Addr().Is4() {
			return fmt.Errorf("bridge %s: address %v is not an IPv4 prefix", b.Name, b.Addr)
		}
		if !labRange.Contains(b.Addr.Addr()) {
			return fmt.Errorf("bridge %s: address %v outside the lab range %v", b.Name, b.Addr, labRange)
		}
	}
	return nil
}

// labRange is the only range the lab may use (RFC 2544 benchmarking).
var labRange = netip.MustParsePrefix("198.18.0.0/15")

func (l *Lab) setup() error {
	start := time.Now()
	if n, err := Reap(); err != nil {
		l.log.Warn("lab reap", "err", err)
	} else if n > 0 {
		l.log.Info("lab reaped stale namespaces", "count", n)
	}
	if err := l.makeDir(); err != nil {
		return err
	}
	if err := l.createNamespace(); err != nil {
		return err
	}
	if err := l.setupLinks(); err != nil {
		return err
	}
	if !l.opts.NoRouterAdverts {
		for i, b := range l.opts.Bridges {
			ra, err := l.startRA(b.Name, i)
			if err != nil {
				return err
			}
			l.push("router adverts on "+b.Name, ra.Stop)
		}
	}
	l.log.Info("lab ready", "ns", l.ns, "dir", l.dir, "setup", time.Since(start).Round(time.Millisecond))
	return nil
}

func (l *Lab) makeDir() error {
	if l.opts.Dir != "" {
		if err := os.MkdirAll(l.opts.Dir, 0o755); err != nil {
			return fmt.Errorf("lab dir %s: %w", l.opts.Dir, err)
		}
		abs, err := filepath.Abs(l.opts.Dir)
		if err != nil {
			return fmt.Errorf("lab dir %s: %w", l.opts.Dir, err)
		}
		l.dir = abs
		return nil
	}
	d, err := os.MkdirTemp("", "dtlab-")
	if err != nil {
		return fmt.Errorf("lab temp dir: %w", err)
	}
	l.dir, l.tempDir = d, true
	l.push("lab dir "+d, func() error {
		if l.t != nil && l.t.Failed() {
			l.t.Logf("lab: keeping %s for inspection (test failed)", d)
			return nil
		}
		return os.RemoveAll(d)
	})
	return nil
}

// push records a cleanup; Close runs them in reverse order.
func (l *Lab) push(what string, fn func() error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cleanups = append(l.cleanups, cleanup{what, fn})
}

// Close stops every node and process, removes the namespace and (for a
// temporary directory) the lab directory, in reverse order of creation.
// It is idempotent and returns the joined errors of the first call.
func (l *Lab) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return l.closeErr
	}
	l.closed = true
	cs := l.cleanups
	l.cleanups = nil
	l.mu.Unlock()

	var errs []error
	for i := len(cs) - 1; i >= 0; i-- {
		if err := cs[i].fn(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", cs[i].what, err))
		}
	}
	err := errors.Join(errs...)
	l.mu.Lock()
	l.closeErr = err
	l.mu.Unlock()
	return err
}

// Namespace is the lab's network namespace name (dtlab-<pid>-<n>).
func (l *Lab) Namespace() string { return l.ns }

// Dir is the lab directory (logs, consoles, firmware variables).
func (l *Lab) Dir() string { return l.dir }

// Bridges returns the lab's bridges in order.
func (l *Lab) Bridges() []Bridge { return append([]Bridge(nil), l.opts.Bridges...) }

// BridgeAddr is the host-side IPv4 address of bridge i (198.18.0.1 for
// the default first bridge); the zero Addr when i is out of range.
func (l *Lab) BridgeAddr(i int) netip.Addr {
	if i < 0 || i >= len(l.opts.Bridges) {
		return netip.Addr{}
	}
	return l.opts.Bridges[i].Addr.Addr()
}

// PIDs lists the process IDs the lab started and that are still running.
func (l *Lab) PIDs() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	var pids []int
	for _, p := range l.procs {
		if p.Alive() {
			pids = append(pids, p.PID())
		}
	}
	return pids
}

func (l *Lab) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}
