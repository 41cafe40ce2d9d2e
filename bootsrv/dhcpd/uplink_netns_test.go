package dhcpd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	"github.com/insomniacslk/dhcp/iana"
)

// TestServerSilentOnUplinkNetns is the rogue-DHCP check: bootsrv's
// namespace has a boot interface (dtboot0, the lab network's `interface:`)
// and a second one (dtup0, an "uplink" in 198.19.0.0/24, no network). The
// server listens on every interface, as bootsrv does without --interface.
// A DISCOVER from the namespace behind the uplink gets no answer; one from
// the boot side gets its lease and boot file.
func TestServerSilentOnUplinkNetns(t *testing.T) {
	if os.Geteuid() != 0 {
		skipOrFail(t, "needs root for network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		skipOrFail(t, "needs the ip command (iproute2)")
	}
	pid := os.Getpid()
	srvNS, bootNS, upNS := fmt.Sprintf("dtup-srv-%d", pid), fmt.Sprintf("dtup-boot-%d", pid), fmt.Sprintf("dtup-up-%d", pid)
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	for _, ns := range []string{srvNS, bootNS, upNS} {
		run("netns", "add", ns)
		t.Cleanup(func() {
			if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
				t.Errorf("ip netns del %s: %v: %s", ns, err, out)
			}
		})
	}
	run("-n", srvNS, "link", "add", "dtboot0", "type", "veth", "peer", "name", "dtbootc", "netns", bootNS)
	run("-n", srvNS, "link", "add", "dtup0", "type", "veth", "peer", "name", "dtupc", "netns", upNS)
	run("-n", srvNS, "addr", "add", "198.18.0.1/24", "dev", "dtboot0")
	run("-n", srvNS, "addr", "add", "198.19.0.1/24", "dev", "dtup0")
	for _, l := range [][2]string{{srvNS, "lo"}, {srvNS, "dtboot0"}, {srvNS, "dtup0"}, {bootNS, "dtbootc"}, {upNS, "dtupc"}} {
		run("-n", l[0], "link", "set", l[1], "up")
	}

	lab := testNetworks()[0]
	lab.Interface = "dtboot0"
	var srv *Server
	inNetns(t, srvNS, func() {
		var err error
		srv, err = New(Config{Listen: "0.0.0.0:67", Networks: []Network{lab}, Leases: &MemLeases{},
			Log: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatalf("New in %s: %v", srvNS, err)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})

	client := func(ns, iface string) *nclient4.Client {
		var c *nclient4.Client
		inNetns(t, ns, func() {
			var err error
			if c, err = nclient4.New(iface, nclient4.WithTimeout(time.Second), nclient4.WithRetry(3)); err != nil {
				t.Fatalf("nclient4 on %s in %s: %v", iface, ns, err)
			}
		})
		t.Cleanup(func() { c.Close() })
		return c
	}
	arch := dhcpv4.WithOption(dhcpv4.OptClientArch(iana.INTEL_X86PC))

	// The uplink first: three DISCOVERs, no OFFER.
	up := client(upNS, "dtupc")
	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	defer rcancel()
	offer, err := up.DiscoverOffer(rctx, arch)
	if err == nil {
		t.Errorf("DISCOVER on the uplink got an offer of %s, file %q: rogue DHCP", offer.YourIPAddr, offer.BootFileName)
	} else if !errors.Is(err, nclient4.ErrNoResponse) {
		t.Errorf("DISCOVER on the uplink: %v, want no response", err)
	}
	st := srv.Stats()
	if st.Received["DISCOVER"] == 0 {
		t.Fatalf("the server never saw the uplink's DISCOVERs (stats %+v): the test proves nothing", st)
	}

	// The boot side is served.
	boot := client(bootNS, "dtbootc")
	lease, err := boot.Request(rctx, arch)
	if err != nil {
		t.Fatalf("DORA on the boot interface: %v (stats %+v)", err, srv.Stats())
	}
	if got := lease.ACK.YourIPAddr.String(); got != "198.18.0.100" {
		t.Errorf("boot side yiaddr = %s, want 198.18.0.100", got)
	}
	if lease.ACK.BootFileName != FileBIOS {
		t.Errorf("boot side file = %q, want %q", lease.ACK.BootFileName, FileBIOS)
	}
	t.Logf("uplink: %d DISCOVERs seen, none answered; boot interface: %s", st.Received["DISCOVER"], lease.ACK.YourIPAddr)
}
