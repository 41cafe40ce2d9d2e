package dhcpd

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

var (
	poolStart = netip.MustParseAddr("198.18.0.10")
	poolEnd   = netip.MustParseAddr("198.18.0.13")
)

func nthMAC(i int) net.HardwareAddr {
	return net.HardwareAddr{0x02, 0, byte(i >> 16), byte(i >> 8), byte(i), 0}
}

func TestMemLeases(t *testing.T) {
	type step struct {
		mac     int
		release bool
		advance time.Duration
		want    string // address, or "exhausted"
	}
	tests := []struct {
		name     string
		reserved string // an address in the pool that is reserved
		steps    []step
	}{
		{"sequential and sticky", "", []step{
			{mac: 1, want: "198.18.0.10"}, {mac: 2, want: "198.18.0.11"}, {mac: 1, want: "198.18.0.10"},
		}},
		{"reserved address skipped", "198.18.0.10", []step{
			{mac: 1, want: "198.18.0.11"}, {mac: 2, want: "198.18.0.12"},
		}},
		{"exhausted, then release frees one", "", []step{
			{mac: 1, want: "198.18.0.10"}, {mac: 2, want: "198.18.0.11"}, {mac: 3, want: "198.18.0.12"}, {mac: 4, want: "198.18.0.13"},
			{mac: 5, want: "exhausted"}, {mac: 2, release: true}, {mac: 5, want: "198.18.0.11"}, {mac: 6, want: "exhausted"},
		}},
		{"expired leases are reclaimed only when needed", "", []step{
			{mac: 1, want: "198.18.0.10"}, {mac: 2, want: "198.18.0.11"}, {mac: 3, want: "198.18.0.12"}, {mac: 4, want: "198.18.0.13"},
			{advance: 2 * time.Hour},
			{mac: 2, want: "198.18.0.11"}, // expired but still its own
			{mac: 5, want: "198.18.0.10"}, // sweep reclaims the rest
			{mac: 1, want: "198.18.0.12"}, // lost .10, gets the next
		}},
		{"sweeps are rate limited", "", []step{
			{mac: 1, want: "198.18.0.10"}, {mac: 2, want: "198.18.0.11"}, {mac: 3, want: "198.18.0.12"}, {mac: 4, want: "198.18.0.13"},
			{mac: 5, want: "exhausted"}, {advance: 2 * time.Hour},
			{mac: 6, want: "198.18.0.10"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := testNow
			ml := &MemLeases{Now: func() time.Time { return now }}
			var isRes func(netip.Addr) bool
			if tt.reserved != "" {
				r := netip.MustParseAddr(tt.reserved)
				isRes = func(a netip.Addr) bool { return a == r }
			}
			for i, s := range tt.steps {
				now = now.Add(s.advance)
				if s.advance != 0 {
					continue
				}
				if s.release {
					if err := ml.Release(nthMAC(s.mac)); err != nil {
						t.Fatalf("step %d: Release: %v", i, err)
					}
					continue
				}
				a, err := ml.Lease(nthMAC(s.mac), "lab", poolStart, poolEnd, time.Hour, isRes)
				got := a.String()
				if err == ErrPoolExhausted {
					got = "exhausted"
				} else if err != nil {
					t.Fatalf("step %d: Lease: %v", i, err)
				}
				if got != s.want {
					t.Fatalf("step %d: Lease(mac %d) = %s, want %s", i, s.mac, got, s.want)
				}
			}
		})
	}
}

func TestMemLeasesOnChangeAndRestore(t *testing.T) {
	now := testNow
	var log []string
	ml := &MemLeases{Now: func() time.Time { return now }, OnChange: func(l Lease, deleted bool) {
		log = append(log, fmt.Sprintf("%s %s %v", l.MAC, l.Addr, deleted))
	}}
	mac := nthMAC(1)
	ml.Lease(mac, "lab", poolStart, poolEnd, time.Minute, nil)
	ml.Lease(mac, "lab", poolStart, poolEnd, time.Second, nil) // shorter: no change
	ml.Lease(mac, "lab", poolStart, poolEnd, time.Hour, nil)   // extended
	ml.Release(mac)
	want := []string{"02:00:00:00:01:00 198.18.0.10 false", "02:00:00:00:01:00 198.18.0.10 false", "02:00:00:00:01:00 198.18.0.10 true"}
	if fmt.Sprint(log) != fmt.Sprint(want) {
		t.Errorf("OnChange calls = %q, want %q", log, want)
	}

	fresh := &MemLeases{Now: func() time.Time { return now }}
	fresh.Restore([]Lease{
		{MAC: nthMAC(7), Network: "lab", Addr: netip.MustParseAddr("198.18.0.10"), Expires: now.Add(time.Hour)},
		{MAC: nthMAC(8), Network: "lab", Addr: netip.MustParseAddr("198.18.0.12"), Expires: now.Add(-time.Hour)},
	})
	if a, _ := fresh.Lease(nthMAC(7), "lab", poolStart, poolEnd, time.Hour, nil); a.String() != "198.18.0.10" {
		t.Errorf("restored MAC got %s, want its 198.18.0.10", a)
	}
	if a, _ := fresh.Lease(nthMAC(9), "lab", poolStart, poolEnd, time.Hour, nil); a.String() != "198.18.0.11" {
		t.Errorf("new MAC got %s, want 198.18.0.11 (past the restored .10)", a)
	}
	if a, _ := fresh.Lease(nthMAC(8), "lab", poolStart, poolEnd, time.Hour, nil); a.String() != "198.18.0.12" {
		t.Errorf("restored expired MAC got %s, want its sticky 198.18.0.12", a)
	}
	if got := len(fresh.Snapshot()); got != 3 {
		t.Errorf("Snapshot has %d leases, want 3", got)
	}
}

func TestMemLeasesMoveNetwork(t *testing.T) {
	ml := &MemLeases{}
	mac := nthMAC(1)
	a1, _ := ml.Lease(mac, "lab", poolStart, poolEnd, time.Hour, nil)
	a2, err := ml.Lease(mac, "far", netip.MustParseAddr("198.18.8.10"), netip.MustParseAddr("198.18.8.20"), time.Hour, nil)
	if err != nil || a2.String() != "198.18.8.10" {
		t.Fatalf("Lease in far = %v, %v", a2, err)
	}
	// Never-used addresses go first, then the freed one.
	for i := 2; i <= 4; i++ {
		ml.Lease(nthMAC(i), "lab", poolStart, poolEnd, time.Hour, nil)
	}
	if a, err := ml.Lease(nthMAC(5), "lab", poolStart, poolEnd, time.Hour, nil); a != a1 {
		t.Errorf("lab address %s not freed by the move, next got %s, %v", a1, a, err)
	}
}

// TestMemLeasesConcurrent hands out a /22 to many goroutines: every MAC gets
// one address and no address is given twice (run with -race).
func TestMemLeasesConcurrent(t *testing.T) {
	ml := &MemLeases{}
	start, end := netip.MustParseAddr("198.18.4.0"), netip.MustParseAddr("198.18.7.255")
	const workers, per = 8, 128
	var mu sync.Mutex
	seen := make(map[netip.Addr]int)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				id := w*per + i
				a, err := ml.Lease(nthMAC(id), "lab", start, end, time.Hour, nil)
				if err != nil {
					t.Errorf("Lease(%d): %v", id, err)
					return
				}
				mu.Lock()
				if prev, dup := seen[a]; dup && prev != id {
					t.Errorf("address %s given to %d and %d", a, prev, id)
				}
				seen[a] = id
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != workers*per {
		t.Errorf("%d distinct addresses, want %d", len(seen), workers*per)
	}
}

func TestMemLeasesBadRange(t *testing.T) {
	ml := &MemLeases{}
	if _, err := ml.Lease(nthMAC(1), "lab", poolEnd, poolStart, time.Hour, nil); err == nil {
		t.Errorf("Lease with end before start succeeded")
	}
}
