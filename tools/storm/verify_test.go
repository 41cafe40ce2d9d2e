package storm

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/bootsrv/state"
	"github.com/disklesstrap/disklesstrap/manifest"
)

// TestVerifyDBFindsLosses writes a state file with the real schema, then
// checks that verifyDB notices a missing acknowledged event and a mode that
// is not the last acknowledged switch, and accepts the in-doubt one.
func TestVerifyDBFindsLosses(t *testing.T) {
	dir := t.TempDir()
	st, err := state.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ev := func(node, msg string) manifest.Event {
		return manifest.Event{Node: node, Phase: manifest.PhaseProgress, Message: msg}
	}
	if err := st.AddEvents([]manifest.Event{ev("n00001", "kept"), ev("n00002", "kept too")}); err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		nodes []string
		mode  manifest.Mode
	}{
		{[]string{"n00001", "n00002", "n00003"}, manifest.ModeLocal},
		{[]string{"n00003"}, manifest.ModeInstall}, // the in-doubt switch, applied
	} {
		if err := st.SetModes(m.nodes, m.mode, false); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	s := &storm{cfg: Config{Nodes: 4}, acked: make([][]string, 5)}
	s.acked[1] = []string{"kept"}
	s.acked[2] = []string{"kept too", "lost"}
	s.modeLog = []modeSet{{1, 3, manifest.ModeLocal}, {2, 2, manifest.ModeService}}
	s.inDoubt = &modeSet{3, 3, manifest.ModeInstall}
	got, err := s.verifyDB(filepath.Join(dir, state.FileName))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`acknowledged event "lost" of n00002`, `persistent mode of n00002 = "local", want "service"`}
	if len(got) != len(want) {
		t.Fatalf("verifyDB found %d problems, want %d: %q", len(got), len(want), got)
	}
	for i := range want {
		if !strings.Contains(got[i], want[i]) {
			t.Errorf("problem %d = %q, want it to mention %q", i, got[i], want[i])
		}
	}
}
