package state

import (
	"fmt"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/manifest"
)

// modeOf is what a manifest fetch would see ("" = inventory mode).
func modeOf(t *testing.T, s *Store, node string) string {
	t.Helper()
	o, ok, err := s.ModeFor(node)
	if err != nil {
		t.Fatalf("ModeFor(%s): %v", node, err)
	}
	if !ok {
		return ""
	}
	if o.Once {
		return string(o.Mode) + "+once"
	}
	return string(o.Mode)
}

func boot(t *testing.T, s *Store, node string) string {
	t.Helper()
	o, ok, _, err := s.StartBoot(node)
	if err != nil {
		t.Fatalf("StartBoot(%s): %v", node, err)
	}
	if !ok {
		return ""
	}
	if o.Once {
		return string(o.Mode) + "+once"
	}
	return string(o.Mode)
}

func TestOnceSemantics(t *testing.T) {
	type op struct {
		do   string // "set", "once", "clear", "boot", "manifest"
		mode manifest.Mode
		want string // for boot/manifest
	}
	for _, tc := range []struct {
		name string
		ops  []op
	}{
		{"no override", []op{{do: "boot", want: ""}, {do: "manifest", want: ""}}},
		{"persistent stays", []op{
			{do: "set", mode: "local"}, {do: "boot", want: "local"}, {do: "boot", want: "local"}, {do: "manifest", want: "local"},
		}},
		{"once lasts exactly one boot", []op{
			{do: "once", mode: "service"},
			{do: "manifest", want: "service+once"}, // pending, visible, not consumed
			{do: "manifest", want: "service+once"},
			{do: "boot", want: "service+once"},     // consumed by this boot
			{do: "manifest", want: "service+once"}, // same boot's manifest still sees it
			{do: "boot", want: ""},                 // next boot: gone
			{do: "manifest", want: ""},
		}},
		{"once over persistent falls back to persistent", []op{
			{do: "set", mode: "iscsi"}, {do: "once", mode: "trap"},
			{do: "boot", want: "trap+once"}, {do: "manifest", want: "trap+once"},
			{do: "boot", want: "iscsi"}, {do: "manifest", want: "iscsi"},
		}},
		{"persistent set drops pending once", []op{
			{do: "once", mode: "trap"}, {do: "set", mode: "local"}, {do: "boot", want: "local"},
		}},
		{"once re-set during a boot is pending again", []op{
			{do: "once", mode: "trap"}, {do: "boot", want: "trap+once"},
			{do: "once", mode: "service"}, {do: "manifest", want: "service+once"},
			{do: "boot", want: "service+once"}, {do: "boot", want: ""},
		}},
		{"clear", []op{
			{do: "set", mode: "local"}, {do: "once", mode: "trap"}, {do: "clear"}, {do: "boot", want: ""},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t, t.TempDir())
			for i, o := range tc.ops {
				var err error
				switch o.do {
				case "set", "once":
					err = s.SetModes([]string{"cn1"}, o.mode, o.do == "once")
				case "clear":
					err = s.ClearModes([]string{"cn1"})
				case "boot":
					if got := boot(t, s, "cn1"); got != o.want {
						t.Fatalf("op %d: StartBoot(cn1) = %q, want %q", i, got, o.want)
					}
				case "manifest":
					if got := modeOf(t, s, "cn1"); got != o.want {
						t.Fatalf("op %d: ModeFor(cn1) = %q, want %q", i, got, o.want)
					}
				}
				if err != nil {
					t.Fatalf("op %d %s: %v", i, o.do, err)
				}
			}
			// Modes() agrees with ModeFor.
			modes, err := s.Modes()
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if o, ok := modes["cn1"]; ok {
				got = string(o.Mode)
				if o.Once {
					got += "+once"
				}
			}
			if want := modeOf(t, s, "cn1"); got != want {
				t.Errorf("Modes()[cn1] = %q, ModeFor = %q", got, want)
			}
		})
	}
}

func TestSetModesRejectsBadMode(t *testing.T) {
	s := open(t, t.TempDir())
	if err := s.SetModes([]string{"cn1"}, "bogus", false); err == nil {
		t.Fatalf("SetModes(bogus) = nil, want error")
	}
}

func names(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("cn%05d", i+1)
	}
	return out
}

// TestSetModes10k: one mode switch on 10,000 nodes is one transaction and
// must finish well under a second.
func TestSetModes10k(t *testing.T) {
	s := open(t, t.TempDir())
	nodes := names(10000)
	for _, once := range []bool{false, true, false} {
		start := time.Now()
		if err := s.SetModes(nodes, manifest.ModeRAMRoot, once); err != nil {
			t.Fatal(err)
		}
		d := time.Since(start)
		t.Logf("SetModes(10000 nodes, once=%v) took %v", once, d)
		if d > time.Second && !raceEnabled {
			t.Errorf("SetModes(10000 nodes, once=%v) took %v, want < 1s", once, d)
		}
	}
	modes, err := s.Modes()
	if err != nil {
		t.Fatal(err)
	}
	if len(modes) != 10000 {
		t.Errorf("Modes() has %d entries, want 10000", len(modes))
	}
}

func BenchmarkSetModes10k(b *testing.B) {
	s := open(b, b.TempDir())
	nodes := names(10000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.SetModes(nodes, manifest.Modes[i%len(manifest.Modes)], i%2 == 1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAddEvent(b *testing.B) {
	s := open(b, b.TempDir())
	for i := 0; i < b.N; i++ {
		if err := s.AddEvents([]manifest.Event{{Node: "cn1", Phase: manifest.PhaseProgress, Data: map[string]string{"percent": "50"}}}); err != nil {
			b.Fatal(err)
		}
	}
}
