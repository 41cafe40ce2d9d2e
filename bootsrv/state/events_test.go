package state

import (
	"fmt"
	"net/netip"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/manifest"
)

func TestEventsAndStatus(t *testing.T) {
	s := open(t, t.TempDir())
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	t0 := time.Date(2026, 11, 22, 9, 59, 0, 0, time.UTC)
	evs := []manifest.Event{
		{Node: "cn1", Phase: manifest.PhaseAgentStart, Time: t0},
		{Node: "cn1", Phase: manifest.PhaseNetUp, Data: map[string]string{"address": "198.18.0.11/24", "interface": "eth0"}},
		{Node: "cn2", Phase: manifest.PhaseStepFailed, Message: "bad key", Data: map[string]string{"step": "luks"}},
		{Node: "cn1", Phase: manifest.PhaseHostKey, Data: map[string]string{"key": "ssh-ed25519 AAAAkey"}},
		{Node: "cn1", Phase: manifest.PhaseTrapped},
	}
	if err := s.AddEvents(evs); err != nil {
		t.Fatal(err)
	}
	st, err := s.Status(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]NodeStatus{
		"cn1": {Node: "cn1", Phase: "trapped", LastEvent: "trapped", LastSeen: now, Address: "198.18.0.11/24", HostKey: "ssh-ed25519 AAAAkey"},
		"cn2": {Node: "cn2", Phase: "step-failed", LastEvent: "step-failed luks: bad key", LastSeen: now},
	}
	if !reflect.DeepEqual(st, want) {
		t.Errorf("Status(nil) = %+v\nwant %+v", st, want)
	}
	if st, _ := s.Status([]string{"cn2", "nope"}); len(st) != 1 {
		t.Errorf("Status([cn2 nope]) has %d entries, want 1", len(st))
	}

	for _, tc := range []struct {
		limit  int
		phases []string
	}{
		{0, []string{"agent-start", "net-up", "ssh-hostkey", "trapped"}},
		{2, []string{"ssh-hostkey", "trapped"}},
		{10, []string{"agent-start", "net-up", "ssh-hostkey", "trapped"}},
	} {
		got, err := s.Events("cn1", tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		var phases []string
		for _, e := range got {
			phases = append(phases, e.Phase)
		}
		if !reflect.DeepEqual(phases, tc.phases) {
			t.Errorf("Events(cn1, %d) phases = %v, want %v", tc.limit, phases, tc.phases)
		}
	}
	got, _ := s.Events("cn1", 0)
	if !got[0].Time.Equal(t0) || !got[1].Time.Equal(now) {
		t.Errorf("event times = %v, %v; want %v (given), %v (receive time)", got[0].Time, got[1].Time, t0, now)
	}
	if got[1].Data["interface"] != "eth0" {
		t.Errorf("event data = %v, want interface eth0", got[1].Data)
	}
	if got, _ := s.Events("nobody", 5); len(got) != 0 {
		t.Errorf("Events(nobody) = %v, want none", got)
	}
	// A later event without address keeps the address.
	if err := s.AddEvents([]manifest.Event{{Node: "cn1", Phase: manifest.PhaseContinue}}); err != nil {
		t.Fatal(err)
	}
	st, _ = s.Status([]string{"cn1"})
	if st["cn1"].Address != "198.18.0.11/24" || st["cn1"].Phase != "continue" {
		t.Errorf("after continue Status[cn1] = %+v", st["cn1"])
	}
}

func TestAddEventsAllOrNothing(t *testing.T) {
	s := open(t, t.TempDir())
	err := s.AddEvents([]manifest.Event{{Node: "cn1", Phase: "trapped"}, {Node: "", Phase: "trapped"}})
	if err == nil {
		t.Fatal("AddEvents with an empty node = nil, want error")
	}
	if got, _ := s.Events("cn1", 0); len(got) != 0 {
		t.Errorf("after failed batch Events(cn1) = %v, want none", got)
	}
}

func TestLeases(t *testing.T) {
	s := open(t, t.TempDir())
	a, b := netip.MustParseAddr("198.18.0.200"), netip.MustParseAddr("198.18.0.201")
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := s.PutLeases([]Lease{{MAC: "52:54:00:00:00:01", IP: a, Network: "lab", Expires: exp}, {MAC: "52:54:00:00:00:02", IP: b, Network: "lab", Expires: exp}}); err != nil {
		t.Fatal(err)
	}
	// b moves to a third MAC: the old holder loses it.
	if err := s.PutLease(Lease{MAC: "52:54:00:00:00:03", IP: b, Network: "lab", Expires: exp}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteLease("52:54:00:00:00:01"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteLease("52:54:00:00:00:09"); err != nil {
		t.Errorf("DeleteLease(absent) = %v, want nil", err)
	}
	ls, err := s.Leases()
	if err != nil {
		t.Fatal(err)
	}
	want := []Lease{{MAC: "52:54:00:00:00:03", IP: b, Network: "lab", Expires: exp}}
	if !reflect.DeepEqual(ls, want) {
		t.Errorf("Leases() = %+v, want %+v", ls, want)
	}
	for _, bad := range []Lease{{MAC: "zz", IP: a}, {MAC: "52:54:00:00:00:04"}} {
		if err := s.PutLease(bad); err == nil {
			t.Errorf("PutLease(%+v) = nil, want error", bad)
		}
	}
}

func TestDiscovered(t *testing.T) {
	s := open(t, t.TempDir())
	t1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return t1 }
	if err := s.PutDiscovered("52:54:00:00:00:aa", nil); err != nil {
		t.Fatal(err)
	}
	t2 := t1.Add(time.Minute)
	s.now = func() time.Time { return t2 }
	if err := s.PutDiscovered("52-54-00-00-00-AA", []byte(`{"mem":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.PutDiscovered("52:54:00:00:00:aa", nil); err != nil {
		t.Fatal(err)
	}
	ds, err := s.DiscoveredNodes()
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || !ds[0].FirstSeen.Equal(t1) || !ds[0].LastSeen.Equal(t2) || string(ds[0].Inventory) != `{"mem":1}` {
		t.Errorf("DiscoveredNodes() = %+v", ds)
	}
	if _, ok, err := s.DiscoveredNode("52:54:00:00:00:bb"); ok || err != nil {
		t.Errorf("DiscoveredNode(unknown) = %v, %v; want false, nil", ok, err)
	}
	if err := s.PutDiscovered("nonsense", nil); err == nil {
		t.Errorf("PutDiscovered(nonsense) = nil, want error")
	}
}

func TestLeaseOf(t *testing.T) {
	s := open(t, t.TempDir())
	ip := netip.MustParseAddr("198.18.0.210")
	if err := s.PutLease(Lease{MAC: "52:54:00:00:00:0a", IP: ip, Network: "lab"}); err != nil {
		t.Fatal(err)
	}
	if l, ok, err := s.LeaseOf("52-54-00-00-00-0A"); err != nil || !ok || l.IP != ip || l.Network != "lab" {
		t.Errorf("LeaseOf(known) = %+v, %v, %v", l, ok, err)
	}
	if _, ok, err := s.LeaseOf("52:54:00:00:00:0b"); ok || err != nil {
		t.Errorf("LeaseOf(unknown) = %v, %v; want false, nil", ok, err)
	}
}

// TestAddEventsConcurrent: concurrent callers are grouped, and each sees
// only its own error.
func TestAddEventsConcurrent(t *testing.T) {
	s := open(t, t.TempDir())
	const n = 200
	errs := make(chan error, n)
	for i := range n {
		go func() {
			errs <- s.AddEvents([]manifest.Event{{Node: fmt.Sprintf("n%03d", i), Phase: manifest.PhaseTrapped}})
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	st, err := s.Status(nil)
	if err != nil || len(st) != n {
		t.Fatalf("Status after %d concurrent AddEvents: %d nodes, %v", n, len(st), err)
	}
	s.Close()
	if err := s.AddEvents([]manifest.Event{{Node: "x", Phase: "y"}}); err == nil {
		t.Errorf("AddEvents after Close = nil, want error")
	}
}

func BenchmarkAddEventParallel(b *testing.B) {
	s := open(b, b.TempDir())
	b.SetParallelism(32)
	var i atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			node := fmt.Sprintf("n%d", i.Add(1)%1000)
			if err := s.AddEvents([]manifest.Event{{Node: node, Phase: manifest.PhaseProgress}}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
