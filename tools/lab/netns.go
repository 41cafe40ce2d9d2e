package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// netnsDir is where `ip netns` keeps its named namespaces.
const netnsDir = "/run/netns"

// nsPrefix starts every namespace name the lab creates.
const nsPrefix = "dtlab-"

var nsCounter atomic.Int64

var nsNameRE = regexp.MustCompile(`^dtlab-([0-9]+)-([0-9]+)$`)

// ip runs the ip(8) command and returns its error with its output.
func ip(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

func (l *Lab) createNamespace() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 100 {
		name := fmt.Sprintf("%s%d-%d", nsPrefix, os.Getpid(), nsCounter.Add(1))
		if _, err := os.Stat(filepath.Join(netnsDir, name)); err == nil {
			continue
		}
		if err := ip(ctx, "netns", "add", name); err != nil {
			return fmt.Errorf("create namespace %s: %w", name, err)
		}
		l.ns = name
		l.push("namespace "+name, func() error { return removeNamespace(name) })
		return nil
	}
	return errors.New("create namespace: no free dtlab name")
}

// removeNamespace kills every process still inside the namespace (by PID)
// and deletes it.
func removeNamespace(name string) error {
	var errs []error
	if err := killNamespaceProcs(name); err != nil {
		errs = append(errs, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ip(ctx, "netns", "del", name); err != nil {
		if _, serr := os.Stat(filepath.Join(netnsDir, name)); serr == nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (l *Lab) setupLinks() error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ns := l.ns
	cmds := [][]string{{"-n", ns, "link", "set", "lo", "up"}}
	for i, b := range l.opts.Bridges {
		keeper, peer := keeperNames(i)
		cmds = append(cmds,
			[]string{"-n", ns, "link", "add", b.Name, "type", "bridge", "stp_state", "0", "forward_delay", "0", "mcast_snooping", "0"},
			// A fixed MAC keeps the bridge's address stable when ports come and go.
			[]string{"-n", ns, "link", "set", b.Name, "address", fmt.Sprintf("02:d7:1a:b0:00:%02x", i+1)},
			[]string{"-n", ns, "link", "set", b.Name, "addrgenmode", "none"},
			[]string{"-n", ns, "addr", "add", b.Addr.String(), "dev", b.Name},
			[]string{"-n", ns, "addr", "add", "fe80::1/64", "dev", b.Name, "nodad"},
			// A veth port keeps the bridge's carrier up before any node
			// exists; its peer is a spare interface for tests.
			[]string{"-n", ns, "link", "add", keeper, "type", "veth", "peer", "name", peer},
			[]string{"-n", ns, "link", "set", keeper, "master", b.Name, "up"},
			[]string{"-n", ns, "link", "set", peer, "up"},
			[]string{"-n", ns, "link", "set", b.Name, "up"},
		)
	}
	for _, c := range cmds {
		if err := ip(ctx, c...); err != nil {
			return fmt.Errorf("namespace %s links: %w", ns, err)
		}
	}
	return nil
}

func keeperNames(i int) (string, string) {
	return fmt.Sprintf("dtk%d", i), fmt.Sprintf("dtk%dp", i)
}

// SpareLink is the name of the interface inside the namespace that is the
// far end of bridge i's keeper veth: a place to listen to (or speak on) the
// bridge's segment from inside the namespace without a VM.
func (l *Lab) SpareLink(i int) string {
	_, peer := keeperNames(i)
	return peer
}

// InNamespace runs fn on an OS thread switched into the lab's network
// namespace. Sockets created by fn stay in the namespace after it returns
// and may then be used from any goroutine; goroutines started by fn do not
// inherit the namespace.
func (l *Lab) InNamespace(fn func() error) error {
	return inNetns(filepath.Join(netnsDir, l.ns), fn)
}

func inNetns(path string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("open own netns: %w", err)
			return
		}
		defer orig.Close()
		target, err := os.Open(path)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("open netns %s: %w", path, err)
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("enter netns %s: %w", path, err)
			return
		}
		ferr := fn()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			// Leave the thread locked: the runtime destroys it when this
			// goroutine exits instead of reusing a thread in the wrong netns.
			errc <- errors.Join(ferr, fmt.Errorf("leave netns %s: %w", path, err))
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// namespaceInode returns the nsfs inode of a named namespace.
func namespaceInode(name string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(netnsDir, name), &st); err != nil {
		return 0, fmt.Errorf("stat namespace %s: %w", name, err)
	}
	return st.Ino, nil
}

// NamespacePIDs lists the processes whose network namespace is the named one.
func NamespacePIDs(name string) ([]int, error) {
	ino, err := namespaceInode(name)
	if err != nil {
		return nil, err
	}
	want := fmt.Sprintf("net:[%d]", ino)
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list /proc: %w", err)
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid))
		if err != nil || link != want || isZombie(pid) {
			continue
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

// killNamespaceProcs SIGKILLs, one PID at a time, every process left in
// the namespace and waits up to 5 s for them to disappear.
func killNamespaceProcs(name string) error {
	pids, err := NamespacePIDs(name)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	for _, pid := range pids {
		if pid == os.Getpid() {
			continue
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range pids {
		for PIDAlive(pid) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if PIDAlive(pid) {
			return fmt.Errorf("namespace %s: pid %d survived SIGKILL", name, pid)
		}
	}
	return nil
}

// PIDAlive reports whether a process exists and is not a zombie.
func PIDAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	return !isZombie(pid)
}

func isZombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the parenthesised command name.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return false
	}
	return b[i+2] == 'Z' || b[i+2] == 'X'
}

// NamespaceExists reports whether a named namespace exists.
func NamespaceExists(name string) bool {
	_, err := os.Stat(filepath.Join(netnsDir, name))
	return err == nil
}

// Reap removes dtlab-<pid>-<n> namespaces whose creator process is dead,
// killing by PID whatever still runs inside them. It returns how many it
// removed.
func Reap() (int, error) {
	ents, err := os.ReadDir(netnsDir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, nil
		}
		return 0, fmt.Errorf("list %s: %w", netnsDir, err)
	}
	n := 0
	var errs []error
	for _, e := range ents {
		pid, ok := creatorPID(e.Name())
		if !ok || pid == os.Getpid() || PIDAlive(pid) {
			continue
		}
		if err := removeNamespace(e.Name()); err != nil {
			errs = append(errs, fmt.Errorf("reap %s: %w", e.Name(), err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// creatorPID parses the creator PID out of a lab namespace name.
func creatorPID(name string) (int, bool) {
	m := nsNameRE.FindStringSubmatch(name)
	if m == nil {
		return 0, false
	}
	pid, err := strconv.Atoi(m[1])
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, true
}
