package state

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/manifest"
)

// TestBootLogMergesAndSurvives: queued events and boots are read back at
// once merged with the database's events by time, survive a reopen
// (Close writes them), and a torn last line loses only itself.
func TestBootLogMergesAndSurvives(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	if _, _, _, err := s.StartBoot("cn001"); err != nil {
		t.Fatal(err)
	}
	if err := s.QueueEvents([]manifest.Event{{Node: "cn001", Phase: "ipxe", Time: at(1), Data: map[string]string{"mode": "trap"}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddEvents([]manifest.Event{{Node: "cn001", Phase: manifest.PhaseNetUp, Time: at(2)}}); err != nil {
		t.Fatal(err)
	}
	if err := s.QueueEvents([]manifest.Event{{Node: "cn001", Phase: "ipxe", Time: at(3)}}); err != nil {
		t.Fatal(err)
	}
	want := []string{"ipxe@1", manifest.PhaseNetUp + "@2", "ipxe@3"}
	check := func(s *Store, want []string, limit int) {
		t.Helper()
		evs, err := s.Events("cn001", limit)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ev := range evs {
			got = append(got, fmt.Sprintf("%s@%d", ev.Phase, int(ev.Time.Sub(t0).Seconds())))
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("Events(cn001, %d) = %v, want %v", limit, got, want)
		}
	}
	check(s, want, 0)
	check(s, want[1:], 2)
	if ev, ok, err := s.LastEvent("cn001", "ipxe"); err != nil || !ok || !ev.Time.Equal(at(3)) {
		t.Errorf("LastEvent(cn001, ipxe) = %v, %v, %v; want the one at +3s", ev, ok, err)
	}
	st, err := s.Status([]string{"cn001"})
	if err != nil {
		t.Fatal(err)
	}
	if st["cn001"].Boots != 1 {
		t.Errorf("status boots = %d, want 1", st["cn001"].Boots)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// A torn record at the end (a crash mid-append) is ignored.
	f, err := os.OpenFile(filepath.Join(dir, BootLogFile), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"e":{"node":"cn001","phase":"ip`)
	f.Close()
	s = open(t, dir)
	check(s, want, 0)
	if _, _, n, err := s.StartBoot("cn001"); err != nil || n != 2 {
		t.Errorf("StartBoot after reopen = %d, %v; want boot 2", n, err)
	}
}

// TestBootLogKeepsNewest: a node keeps its newest BootLogKeep queued
// events, in memory and through a compaction.
func TestBootLogKeepsNewest(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	for i := range BootLogKeep + 10 {
		if err := s.QueueEvents([]manifest.Event{{Node: "cn001", Phase: "ipxe", Time: t0.Add(time.Duration(i) * time.Second)}}); err != nil {
			t.Fatal(err)
		}
	}
	for round := range 2 {
		evs, err := s.Events("cn001", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != BootLogKeep || !evs[0].Time.Equal(t0.Add(10*time.Second)) {
			t.Fatalf("round %d: %d events from %v, want %d from +10s", round, len(evs), evs[0].Time, BootLogKeep)
		}
		s.Close()
		s = open(t, dir) // compacts
	}
}

// TestAppendRecord: the hand-written encoding reads back as what was
// written, whatever the strings hold.
func TestAppendRecord(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 123456789, time.UTC)
	for _, r := range []bootRecord{
		{Node: "cn001", Boot: 7},
		{Event: &manifest.Event{Node: "cn001", MAC: "52:54:00:00:00:01", Phase: "ipxe", Time: t0,
			Data: map[string]string{"mode": "trap", "platform": "pcbios"}}},
		{Event: &manifest.Event{Node: "q\"uote\\back\nnl\x01\x7f\u2028é\xff", Phase: "p", Message: "m</>&", Time: t0}},
	} {
		line := appendRecord(nil, r)
		if line[len(line)-1] != '\n' || bytes.Count(line, []byte{'\n'}) != 1 {
			t.Fatalf("appendRecord(%+v) = %q: not one line", r, line)
		}
		var got bootRecord
		if err := json.Unmarshal(line, &got); err != nil {
			t.Fatalf("appendRecord(%+v) = %q: %v", r, line, err)
		}
		want := r
		if r.Event != nil {
			ev := *r.Event
			ev.Node = strings.ToValidUTF8(ev.Node, "\uFFFD")
			want.Event = &ev
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("read back %+v (%q), want %+v", got, line, want)
		}
	}
}

// FuzzBootLogReplay: whatever the file holds, replay does not panic, and
// what it kept survives a compaction and a second replay unchanged.
func FuzzBootLogReplay(f *testing.F) {
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	f.Add(string(appendRecord(appendRecord(nil, bootRecord{Node: "cn001", Boot: 3}),
		bootRecord{Event: &manifest.Event{Node: "cn001", Phase: "ipxe", Time: t0, Data: map[string]string{"mode": "trap"}}})))
	f.Add("{\"n\":\"x\"}\n{\"e\":{\"node\":\"y\",\"phase\":\"p\",\"time\":\"bad\"}}\n")
	f.Add("{}\n\n{")
	f.Fuzz(func(t *testing.T, data string) {
		dir := t.TempDir()
		path := filepath.Join(dir, BootLogFile)
		if err := os.WriteFile(path, []byte(data), 0o640); err != nil {
			t.Fatal(err)
		}
		bl, err := openBootLog(dir)
		if err != nil {
			t.Fatal(err)
		}
		want := bl.boots()
		wantEvs := map[string][]manifest.Event{}
		for n := range bl.nodes {
			wantEvs[n] = bl.events(n)
		}
		if err := bl.close(); err != nil {
			t.Fatal(err)
		}
		again := &bootLog{path: path, nodes: map[string]*bootNode{}}
		if err := again.replay(); err != nil {
			t.Fatal(err)
		}
		if got := again.boots(); !reflect.DeepEqual(got, want) {
			t.Errorf("boots after compaction = %v, want %v", got, want)
		}
		for n, evs := range wantEvs {
			if got := again.events(n); len(got) != len(evs) {
				t.Errorf("%s: %d events after compaction, want %d", n, len(got), len(evs))
			}
		}
	})
}
