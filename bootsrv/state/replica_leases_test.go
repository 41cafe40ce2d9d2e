package state

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// TestReplicasNoAddressTwice: two replicas allocate from the same small
// pool at once; every MAC gets an address, no address goes to two MACs,
// reserved addresses are never handed out, and a MAC keeps its address.
func TestReplicasNoAddressTwice(t *testing.T) {
	a, b := replicas(t)
	start, end := netip.MustParseAddr("198.18.5.10"), netip.MustParseAddr("198.18.5.69") // 60 addresses
	reserved := func(ip netip.Addr) bool { return ip == netip.MustParseAddr("198.18.5.20") }
	const macs = 59
	got := make([]netip.Addr, macs)
	errs := make([]error, macs)
	var wg sync.WaitGroup
	for i := range macs {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			got[i], errs[i] = s.AllocLease(fmt.Sprintf("52:54:00:05:00:%02x", i), "lab", start, end, time.Hour, reserved)
		})
	}
	wg.Wait()
	owner := map[netip.Addr]int{}
	for i, ip := range got {
		if errs[i] != nil {
			t.Fatalf("mac %d: %v", i, errs[i])
		}
		if reserved(ip) {
			t.Errorf("mac %d got the reserved %s", i, ip)
		}
		if j, dup := owner[ip]; dup {
			t.Errorf("%s given to mac %d and mac %d", ip, j, i)
		}
		owner[ip] = i
	}
	// Renewal through the other replica keeps the address.
	again, err := b.AllocLease("52:54:00:05:00:00", "lab", start, end, time.Hour, reserved)
	if err != nil || again != got[0] {
		t.Errorf("renewal through B = %s, %v; want %s", again, err, got[0])
	}
	if _, err := a.AllocLease("52:54:00:05:01:00", "lab", start, end, time.Hour, reserved); err == nil {
		t.Errorf("allocation from a full pool succeeded")
	}
	// An expired lease's address is taken over.
	if err := a.DeleteLease("52:54:00:05:00:01"); err != nil {
		t.Fatal(err)
	}
	if ip, err := b.AllocLease("52:54:00:05:01:00", "lab", start, end, time.Hour, reserved); err != nil || ip != got[1] {
		t.Errorf("allocation after a release = %s, %v; want the released %s", ip, err, got[1])
	}
	if l, ok, err := a.LeaseOf("52:54:00:05:01:00"); err != nil || !ok || l.IP != got[1] {
		t.Errorf("A.LeaseOf the new lease = %+v, %v, %v", l, ok, err)
	}
}
