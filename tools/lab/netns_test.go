package lab

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestCreatorPID(t *testing.T) {
	tests := []struct {
		name string
		pid  int
		ok   bool
	}{
		{"dtlab-123-1", 123, true},
		{"dtlab-1-99", 1, true},
		{"dtlab-0-1", 0, false},
		{"dtlab-123", 0, false},
		{"dtlab-x-1", 0, false},
		{"dt-123-1", 0, false},
		{"dtlab-123-1-2", 0, false},
		{"dtlab-99999999999999999999999-1", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pid, ok := creatorPID(tt.name)
			if pid != tt.pid || ok != tt.ok {
				t.Errorf("creatorPID(%q) = %d, %v, want %d, %v", tt.name, pid, ok, tt.pid, tt.ok)
			}
		})
	}
}

func FuzzCreatorPID(f *testing.F) {
	for _, s := range []string{"dtlab-1-1", "dtlab-", "dtlab-12-x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pid, ok := creatorPID(s)
		if ok && (pid <= 0 || !strings.HasPrefix(s, nsPrefix)) {
			t.Errorf("creatorPID(%q) = %d, true", s, pid)
		}
	})
}

func TestValidateBridges(t *testing.T) {
	p := netip.MustParsePrefix
	tests := []struct {
		name    string
		bridges []Bridge
		ok      bool
	}{
		{"default", []Bridge{DefaultBridge}, true},
		{"two", []Bridge{DefaultBridge, SecondBridge}, true},
		{"duplicate", []Bridge{DefaultBridge, {Name: "br0", Addr: p("198.19.0.1/24")}}, false},
		{"outside range", []Bridge{{Name: "br0", Addr: p("10.0.0.1/24")}}, false},
		{"ipv6", []Bridge{{Name: "br0", Addr: p("fd00::1/64")}}, false},
		{"long name", []Bridge{{Name: "abcdefghijklmnop", Addr: p("198.18.0.1/24")}}, false},
		{"empty name", []Bridge{{Addr: p("198.18.0.1/24")}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validateBridges(tt.bridges)
			if (err == nil) != tt.ok {
				t.Errorf("validateBridges(%v) = %v, want ok=%v", tt.bridges, err, tt.ok)
			}
		})
	}
}

// TestNamespaceBridgeRA creates a two-bridge lab, checks addresses, captures
// a router advertisement on each bridge's segment, and checks Close removes
// the namespace and every process.
func TestNamespaceBridgeRA(t *testing.T) {
	requireNetns(t)
	l := newTestLab(t, Options{Bridges: []Bridge{DefaultBridge, SecondBridge}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns := l.Namespace()
	if !nsNameRE.MatchString(ns) {
		t.Errorf("Namespace() = %q, want dtlab-<pid>-<n>", ns)
	}
	out, err := exec.CommandContext(ctx, "ip", "-n", ns, "addr").CombinedOutput()
	if err != nil {
		t.Fatalf("ip -n %s addr: %v: %s", ns, err, out)
	}
	for _, want := range []string{"inet 198.18.0.1/24", "inet 198.19.0.1/24", "inet6 fe80::1/64", "br0:", "br1:", "LOOPBACK,UP"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("ip -n %s addr lacks %q:\n%s", ns, want, out)
		}
	}
	if got := l.BridgeAddr(1); got != netip.MustParseAddr("198.19.0.1") {
		t.Errorf("BridgeAddr(1) = %v, want 198.19.0.1", got)
	}
	if got := l.BridgeAddr(2); got.IsValid() {
		t.Errorf("BridgeAddr(2) = %v, want invalid", got)
	}
	// A command inside the namespace reaches the bridge address.
	if out, err := l.Run(ctx, "busybox", "ping", "-c", "1", "-W", "2", "198.18.0.1"); err != nil {
		t.Errorf("ping bridge inside namespace: %v\n%s", err, out)
	}

	for i := range l.Bridges() {
		start := time.Now()
		ra, hop, src, err := captureRA(l, l.SpareLink(i), 5*time.Second)
		if err != nil {
			t.Fatalf("bridge %d: capture RA: %v", i, err)
		}
		t.Logf("TIMING router advert on %s after %s", l.Bridges()[i].Name, time.Since(start).Round(time.Millisecond))
		if hop != 255 {
			t.Errorf("bridge %d: RA hop limit = %d, want 255", i, hop)
		}
		if src != RouterLinkLocal {
			t.Errorf("bridge %d: RA source = %v, want %v", i, src, RouterLinkLocal)
		}
		if ra.Managed || ra.Other || ra.RouterLifetime != 0 || ra.Prefixes != 0 {
			t.Errorf("bridge %d: RA = %+v, want M=0 O=0 lifetime 0 no prefixes", i, ra)
		}
	}

	// A tracked long-running process inside the namespace.
	p, err := l.Start("sleeper", l.Exec(context.Background(), "sleep", "600"))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	// ip(8) enters the namespace right after fork; give it a moment.
	var pids []int
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if pids, err = NamespacePIDs(ns); err != nil {
			t.Fatal(err)
		}
		if containsInt(pids, p.PID()) {
			break
		}
	}
	if !containsInt(pids, p.PID()) {
		t.Errorf("NamespacePIDs(%s) = %v, want it to contain sleeper %d", ns, pids, p.PID())
	}
	// And an untracked one (a grandchild) that only the namespace sweep finds.
	sh, err := l.Start("forker", l.Exec(context.Background(), "sh", "-c", "sleep 600 & echo $! ; wait"))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	grandchild := waitForPIDInLog(t, sh)

	start := time.Now()
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	t.Logf("TIMING Close: %s", time.Since(start).Round(time.Millisecond))
	if NamespaceExists(ns) {
		t.Errorf("namespace %s still exists after Close", ns)
	}
	for _, pid := range []int{p.PID(), sh.PID(), grandchild} {
		if PIDAlive(pid) {
			t.Errorf("pid %d still alive after Close", pid)
		}
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func waitForPIDInLog(t *testing.T, p *Proc) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		var pid int
		if _, err := fmt.Sscan(strings.TrimSpace(p.Log()), &pid); err == nil && pid > 0 {
			return pid
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no pid in %s: %q", p.LogPath, p.Log())
	return 0
}

// captureRA listens on ifname inside the lab's namespace for one router
// advertisement and returns it with its hop limit and source address.
func captureRA(l *Lab, ifname string, timeout time.Duration) (RA, int, netip.Addr, error) {
	var fd int
	err := l.InNamespace(func() error {
		var err error
		fd, err = unix.Socket(unix.AF_INET6, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMPV6)
		if err != nil {
			return err
		}
		if err := unix.BindToDevice(fd, ifname); err != nil {
			return err
		}
		f := unix.ICMPv6Filter{}
		for i := range f.Data {
			f.Data[i] = 0xffffffff
		}
		f.Data[icmpRouterAdvertisement>>5] &^= 1 << (icmpRouterAdvertisement & 31)
		if err := unix.SetsockoptICMPv6Filter(fd, unix.SOL_ICMPV6, unix.ICMPV6_FILTER, &f); err != nil {
			return err
		}
		return unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_RECVHOPLIMIT, 1)
	})
	if err != nil {
		return RA{}, 0, netip.Addr{}, err
	}
	defer unix.Close(fd)
	tv := unix.NsecToTimeval(timeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return RA{}, 0, netip.Addr{}, err
	}
	buf := make([]byte, 1500)
	oob := make([]byte, 128)
	n, oobn, _, from, err := unix.Recvmsg(fd, buf, oob, 0)
	if err != nil {
		return RA{}, 0, netip.Addr{}, err
	}
	ra, err := ParseRA(buf[:n])
	if err != nil {
		return RA{}, 0, netip.Addr{}, err
	}
	hop := -1
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return RA{}, 0, netip.Addr{}, err
	}
	for _, m := range msgs {
		if m.Header.Level == unix.IPPROTO_IPV6 && m.Header.Type == unix.IPV6_HOPLIMIT && len(m.Data) >= 4 {
			hop = int(binary.NativeEndian.Uint32(m.Data[:4]))
		}
	}
	var src netip.Addr
	if sa, ok := from.(*unix.SockaddrInet6); ok {
		src = netip.AddrFrom16(sa.Addr)
	}
	return ra, hop, src, nil
}
