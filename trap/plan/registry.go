package plan

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/disklesstrap/disklesstrap/manifest"
)

// Builder builds the plan for one mode from a manifest.
type Builder func(m *manifest.Manifest) (Plan, error)

// Command builds a step an admin runs by hand in the trap:
// `trap NAME ARGS...` (NAME may have several words, e.g. "iscsi login").
type Command func(m *manifest.Manifest, args []string) (Step, error)

// Registry maps modes to plan builders and step names to commands. The
// agent asks it for the plan of the manifest's mode and for `trap <step>`.
type Registry struct {
	mu       sync.RWMutex
	modes    map[manifest.Mode]Builder
	commands map[string]Command
}

// Default is the registry Build uses; packages with steps register into
// it from the agent's main.
var Default = &Registry{}

// Build returns the plan for m's mode from the Default registry.
func Build(m *manifest.Manifest) (Plan, error) { return Default.Build(m) }

// RegisterMode sets the builder for mode.
func (r *Registry) RegisterMode(mode manifest.Mode, b Builder) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.modes == nil {
		r.modes = map[manifest.Mode]Builder{}
	}
	r.modes[mode] = b
}

// RegisterCommand sets the command for a step name ("zram", "iscsi login").
func (r *Registry) RegisterCommand(name string, c Command) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.commands == nil {
		r.commands = map[string]Command{}
	}
	r.commands[strings.Join(strings.Fields(name), " ")] = c
}

// Build returns the plan for m's mode. A mode without a builder is an
// error ("mode X: not implemented in this agent"). A trapping mode builds
// the plan of the manifest's Continue mode, or fails saying there is none.
func (r *Registry) Build(m *manifest.Manifest) (Plan, error) {
	if m == nil {
		return nil, fmt.Errorf("no manifest: nothing to plan")
	}
	mode, err := m.PlanMode()
	if err != nil {
		return nil, err
	}
	if len(m.Problems) > 0 {
		// bootsrv says why it could not give this node what the mode needs.
		return nil, fmt.Errorf("%s", strings.Join(m.Problems, "; "))
	}
	r.mu.RLock()
	b, ok := r.modes[mode]
	r.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("mode %s: not implemented in this agent", mode)
	}
	p, err := b(m)
	if err != nil {
		return nil, fmt.Errorf("mode %s: %w", mode, err)
	}
	return p, nil
}

// Lookup finds the command whose name is the longest prefix of args
// (words). It returns the name and the remaining arguments.
func (r *Registry) Lookup(args []string) (name string, c Command, rest []string, ok bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for n := len(args); n > 0; n-- {
		name := strings.Join(args[:n], " ")
		if c, ok := r.commands[name]; ok {
			return name, c, args[n:], true
		}
	}
	return "", nil, args, false
}

// Commands lists the registered command names, sorted.
func (r *Registry) Commands() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.commands))
	for n := range r.commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Modes lists the modes with a builder, sorted.
func (r *Registry) Modes() []manifest.Mode {
	r.mu.RLock()
	defer r.mu.RUnlock()
	modes := make([]manifest.Mode, 0, len(r.modes))
	for m := range r.modes {
		modes = append(modes, m)
	}
	sort.Slice(modes, func(i, j int) bool { return modes[i] < modes[j] })
	return modes
}
