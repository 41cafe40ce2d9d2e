package boottiming

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/internal/golden"
	"github.com/disklesstrap/disklesstrap/manifest"
)

// TestFromEventsGolden breaks down recorded event lists (testdata/*.json,
// trap-boot.json: bootbench -events, a lab trap boot of make bench,
// oldest first as GET /api/v1/events returns them) and compares the
// printed table with the .golden file beside each.
func TestFromEventsGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/*.json: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var evs []manifest.Event
			if err := json.Unmarshal(b, &evs); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			tm, err := FromEvents(evs)
			if err != nil {
				t.Fatalf("FromEvents(%s) = %v", f, err)
			}
			var out bytes.Buffer
			if err := tm.Write(&out); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, f[:len(f)-len(".json")]+".golden", out.String())
		})
	}
}

func TestFromEvents(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 22, 0, 0, 0, time.UTC)
	ev := func(phase string, at time.Duration, data map[string]string) manifest.Event {
		return manifest.Event{Node: "cn001", Phase: phase, Time: t0.Add(at), Data: data}
	}
	tests := []struct {
		name    string
		evs     []manifest.Event
		wantErr error
		known   []bool // per phase
		slowest string
	}{
		{name: "no boot", evs: []manifest.Event{ev(manifest.PhaseManifest, 0, nil)}, wantErr: ErrNoBoot},
		{name: "older agent without marks", evs: []manifest.Event{
			ev(phaseIPXE, 0, nil), ev(manifest.PhaseAgentStart, 5*time.Second, nil), ev(manifest.PhaseTrapped, 9*time.Second, nil)},
			known: []bool{false, false, false, false, false, false, false}},
		{name: "boot still running", evs: []manifest.Event{
			ev(phaseIPXE, 0, nil),
			ev(manifest.PhaseAgentStart, 6*time.Second, map[string]string{KeyUptime: "3.500", KeyModules: "4.5", KeyLink: "4.6", KeyLease: "5.0"})},
			known: []bool{true, true, true, true, true, false, false}, slowest: PhaseKernel},
		{name: "direct kernel boot (no ipxe)", evs: []manifest.Event{
			ev(manifest.PhaseAgentStart, 0, map[string]string{KeyUptime: "2", KeyModules: "3", KeyLink: "3.1", KeyLease: "3.5"}),
			ev(manifest.PhaseManifest, time.Second, map[string]string{KeyUptime: "3.7"}),
			ev(manifest.PhaseTrapped, time.Second, map[string]string{KeyUptime: "3.8"})},
			known: []bool{true, true, true, true, true, true}, slowest: PhaseKernel},
		{name: "last of two boots, bad mark", evs: []manifest.Event{
			ev(phaseIPXE, 0, nil),
			ev(manifest.PhaseAgentStart, 6*time.Second, map[string]string{KeyUptime: "3", KeyModules: "9", KeyLink: "9", KeyLease: "9"}),
			ev(phaseIPXE, time.Minute, nil),
			ev(manifest.PhaseAgentStart, 66*time.Second, map[string]string{KeyUptime: "3", KeyModules: "x", KeyLink: "3.5", KeyLease: "4"})},
			known: []bool{true, true, false, false, true, false, false}, slowest: PhaseDownload},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm, err := FromEvents(tt.evs)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("FromEvents() error = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if len(tm.Phases) != len(tt.known) {
				t.Fatalf("%d phases, want %d: %+v", len(tm.Phases), len(tt.known), tm.Phases)
			}
			for i, p := range tm.Phases {
				if p.Known != tt.known[i] {
					t.Errorf("phase %q known = %v, want %v", p.Name, p.Known, tt.known[i])
				}
			}
			if got := tm.Slowest(); tt.slowest != "" && got != tt.slowest {
				t.Errorf("Slowest() = %q, want %q", got, tt.slowest)
			}
		})
	}
}
