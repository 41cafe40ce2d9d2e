package dhcpd

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	"github.com/insomniacslk/dhcp/iana"
	"golang.org/x/sys/unix"

	"github.com/disklesstrap/disklesstrap/internal/labreq"
)

// skipOrFail skips the test, or fails it when DT_LAB_REQUIRED=1.
func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	labreq.Skip(t, format, args...)
}

// inNetns runs fn on a thread switched into the named network namespace;
// sockets fn opens stay in that namespace.
func inNetns(t *testing.T, name string, fn func()) {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	target, err := os.Open("/run/netns/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		t.Fatalf("setns %s: %v", name, err)
	}
	defer func() {
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			panic(fmt.Sprintf("cannot return to the original network namespace: %v", err)) // thread is unusable
		}
	}()
	fn()
}

// TestServerDirectBroadcastNetns runs the server on one end of a veth pair
// in a private network namespace and a raw-socket nclient4 on the other:
// the server must find the arrival network from the interface (two networks
// are configured) and broadcast its replies out of that interface.
func TestServerDirectBroadcastNetns(t *testing.T) {
	if os.Geteuid() != 0 {
		skipOrFail(t, "needs root for network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		skipOrFail(t, "needs the ip command (iproute2)")
	}
	ns := fmt.Sprintf("dtdhcp-%d", os.Getpid())
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			skipOrFail(t, "ip %v: %v: %s", args, err, out)
		}
	}
	run("netns", "add", ns)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", ns, err, out)
		}
	})
	run("-n", ns, "link", "add", "dtsrv0", "type", "veth", "peer", "name", "dtcli0")
	run("-n", ns, "addr", "add", "198.18.0.1/24", "dev", "dtsrv0")
	for _, l := range []string{"lo", "dtsrv0", "dtcli0"} {
		run("-n", ns, "link", "set", l, "up")
	}

	leases := &MemLeases{}
	nets := testNetworks() // lab 198.18.0.0/24 is dtsrv0's; far and fixed are not
	var srv *Server
	var client *nclient4.Client
	inNetns(t, ns, func() {
		var err error
		srv, err = New(Config{Listen: "0.0.0.0:67", Interface: "dtsrv0", Networks: nets, Leases: leases,
			BootURL: func(n Network) string { return "http://" + n.Server.String() + ":8080/boot.ipxe" },
			Log:     slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatalf("New in %s: %v", ns, err)
		}
		client, err = nclient4.New("dtcli0", nclient4.WithTimeout(2*time.Second), nclient4.WithRetry(3))
		if err != nil {
			srv.Close()
			skipOrFail(t, "raw DHCP client socket: %v", err)
		}
	})
	t.Cleanup(func() { client.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})

	rctx, rcancel := context.WithTimeout(ctx, 20*time.Second)
	defer rcancel()
	lease, err := client.Request(rctx, dhcpv4.WithOption(dhcpv4.OptClientArch(iana.EFI_X86_64)))
	if err != nil {
		t.Fatalf("direct DORA over veth: %v (stats %+v)", err, srv.Stats())
	}
	ack := lease.ACK
	if got, ok := netip.AddrFromSlice(ack.YourIPAddr.To4()); !ok || !nets[0].Subnet.Contains(got) {
		t.Errorf("ACK yiaddr = %s, want an address in lab %s", ack.YourIPAddr, nets[0].Subnet)
	}
	if ack.BootFileName != FileUEFI {
		t.Errorf("ACK file = %q, want %q", ack.BootFileName, FileUEFI)
	}
	if r := ack.Router(); len(r) != 1 || !r[0].Equal(net.ParseIP("198.18.0.254")) {
		t.Errorf("ACK router = %v, want 198.18.0.254", r)
	}
}
