package plan

import (
	"context"
	"errors"
	"testing"

	"github.com/disklesstrap/disklesstrap/manifest"
)

func TestStepCommands(t *testing.T) {
	refused := errors.New("no section")
	prepare := func(m *manifest.Manifest) (string, error) {
		if m.Node == "" {
			return "", refused
		}
		return m.Node, nil
	}
	build := func(name, node string, args []string) (Step, error) {
		if len(args) > 0 {
			return nil, errors.New("no arguments")
		}
		return nopStep{name, node}, nil
	}
	cmds := StepCommands([]string{"a", "b c"}, prepare, build)
	if len(cmds) != 2 {
		t.Fatalf("StepCommands made %d commands, want 2", len(cmds))
	}
	for _, name := range []string{"a", "b c"} {
		t.Run(name, func(t *testing.T) {
			s, err := cmds[name](&manifest.Manifest{Node: "cn1"}, nil)
			if err != nil || s.Name() != name || s.String() != "cn1" {
				t.Errorf("built %v, %v; want step %s for cn1", s, err, name)
			}
			s, err = cmds[name](&manifest.Manifest{}, nil)
			if err != nil || s.Name() != name || s.String() != "invalid: no section" {
				t.Errorf("refused manifest: %v, %v; want an Invalid step", s, err)
			}
			if err := s.Run(context.Background(), &Env{}); !errors.Is(err, refused) {
				t.Errorf("Invalid.Run = %v, want prepare's error", err)
			}
			if _, err := cmds[name](&manifest.Manifest{Node: "cn1"}, []string{"--x"}); err == nil {
				t.Errorf("build's argument error was dropped")
			}
		})
	}
	r := &Registry{}
	r.RegisterCommands(cmds)
	if _, _, rest, ok := r.Lookup([]string{"b", "c", "--x"}); !ok || len(rest) != 1 {
		t.Errorf("RegisterCommands: lookup of b c = %v, %v", rest, ok)
	}
}
