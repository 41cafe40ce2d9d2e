package plan

import (
	"context"

	"github.com/disklesstrap/disklesstrap/manifest"
)

// StepCommands returns one Command per step name, for a mode's `trap
// NAME` commands: each reads the mode's configuration from the manifest
// with prepare, then builds the named step with build (which also reads
// the command's arguments). When prepare refuses the manifest the
// command gives an Invalid step, which prints as "invalid: REASON" and
// fails with the reason when run, so the admin sees why in the trap.
func StepCommands[C any](names []string, prepare func(*manifest.Manifest) (C, error), build func(name string, c C, args []string) (Step, error)) map[string]Command {
	out := make(map[string]Command, len(names))
	for _, name := range names {
		out[name] = func(m *manifest.Manifest, args []string) (Step, error) {
			c, err := prepare(m)
			if err != nil {
				return &Invalid{StepName: name, Err: err}, nil
			}
			return build(name, c, args)
		}
	}
	return out
}

// Invalid is a step the manifest does not allow: it fails with Err.
type Invalid struct {
	StepName string
	Err      error
}

func (s *Invalid) Name() string                    { return s.StepName }
func (s *Invalid) String() string                  { return "invalid: " + s.Err.Error() }
func (s *Invalid) Run(context.Context, *Env) error { return s.Err }

// RegisterCommands registers every command of cmds (a mode's
// StepCommands).
func (r *Registry) RegisterCommands(cmds map[string]Command) {
	for name, c := range cmds {
		r.RegisterCommand(name, c)
	}
}
