package state

import (
	"fmt"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/manifest"
)

// TestPrune: per-node events keep the newest EventsPerNode; unknown MACs
// beyond MaxDiscovered (the least recently seen) and older than the TTL go,
// with their status and event rows; inventory nodes' status stays.
func TestPrune(t *testing.T) {
	s := open(t, t.TempDir())
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	var evs []manifest.Event
	for i := range 50 {
		evs = append(evs, manifest.Event{Node: "cn001", Phase: "step", Message: fmt.Sprint(i)})
	}
	if err := s.AddEvents(evs); err != nil {
		t.Fatal(err)
	}
	// Six unknown MACs, one minute apart; the first is a month old.
	for i := range 6 {
		mac := fmt.Sprintf("02:00:00:00:00:%02x", i)
		if i == 0 {
			s.now = func() time.Time { return now.Add(-40 * 24 * time.Hour) }
		} else {
			s.now = func() time.Time { return now.Add(time.Duration(i) * time.Minute) }
		}
		if err := s.PutDiscovered(mac, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.AddEvents([]manifest.Event{{Node: fmt.Sprintf("mac-0200000000%02x", i), MAC: mac, Phase: "ipxe"}}); err != nil {
			t.Fatal(err)
		}
	}
	s.now = func() time.Time { return now.Add(time.Hour) }
	p, err := s.Prune(PruneLimits{MaxDiscovered: 3, EventsPerNode: 10})
	if err != nil {
		t.Fatal(err)
	}
	if p.Discovered != 3 || p.Status != 3 || p.Events != 3+40 {
		t.Errorf("Prune removed %+v, want 3 discovered, 3 status, 43 events", p)
	}
	ds, err := s.DiscoveredNodes()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range ds {
		got = append(got, d.MAC)
	}
	if fmt.Sprint(got) != "[02:00:00:00:00:03 02:00:00:00:00:04 02:00:00:00:00:05]" {
		t.Errorf("discovered kept %v, want the three most recently seen", got)
	}
	cn, err := s.Events("cn001", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(cn) != 10 || cn[len(cn)-1].Message != "49" && cn[0].Message != "49" {
		t.Errorf("cn001 kept %d events, want the newest 10", len(cn))
	}
	st, err := s.Status(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st["cn001"]; !ok || len(st) != 4 {
		t.Errorf("status rows %v, want cn001 and the three kept MACs", st)
	}
}
