// Package plan models a node's provisioning as values: an ordered list of
// steps that can be printed, dry-run and diffed as text in a test, then run.
//
// Steps never touch the host directly: outside commands go through
// Env.Run, mounts through Env.Sys. Tests give a recording fake; the agent
// gives the real thing. Re-running a step is safe ("already mounted" is
// success). A required step's error stops the plan; a best-effort step's
// error is logged and the plan goes on.
package plan

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/disklesstrap/disklesstrap/manifest"
)

// Step is one host change.
type Step interface {
	// Name is the short command-like name ("image fetch", "zram", ...),
	// also the `trap NAME` command that runs the step by hand.
	Name() string
	// String describes exactly what the step will do, with its parameters
	// (never secrets).
	String() string
	// Run performs the step. It must be idempotent.
	Run(ctx context.Context, env *Env) error
}

// BestEffort marks a step whose failure is logged, not fatal.
type BestEffort interface{ BestEffort() bool }

// Runner runs an outside command and returns its combined output.
type Runner interface {
	Run(ctx context.Context, name string, args ...string) ([]byte, error)
}

// Sys is the seam for system calls steps make (mounts, files, switch_root).
// The agent passes the real implementation; tests pass a recorder.
type Sys interface {
	Mount(source, target, fstype string, flags uintptr, data string) error
	Unmount(target string) error
	MkdirAll(path string) error
	WriteFile(path string, data []byte, mode uint32) error
	Symlink(oldname, newname string) error
	SwitchRoot(newRoot, init string) error
}

// Env is what a step runs with.
type Env struct {
	Manifest *manifest.Manifest
	Run      Runner
	Sys      Sys
	Log      *slog.Logger
	// Report sends an event to bootsrv (best effort; may be nil).
	Report func(manifest.Event)
	// Sign signs a request to bootsrv with the boot's node credential
	// (nodeauth.Signer.Sign); nil when the agent holds none.
	Sign func(r *http.Request, body []byte)
	// AnnounceQuery is the boot's torrent announce query
	// (nodeauth.Signer.AnnounceQuery); "" when the agent holds no key.
	AnnounceQuery string
	// DryRun asks Runner/Sys fakes to record only; steps themselves do not
	// branch on it.
	DryRun bool
}

// Logger is env.Log, or slog.Default() when it is nil.
func (e *Env) Logger() *slog.Logger {
	if e.Log == nil {
		return slog.Default()
	}
	return e.Log
}

// Plan is an ordered list of steps.
type Plan []Step

// String prints the plan, one numbered step a line.
func (p Plan) String() string {
	var b strings.Builder
	for i, s := range p {
		fmt.Fprintf(&b, "%2d. %-14s %s\n", i+1, s.Name(), s.String())
	}
	return b.String()
}

// StepError says which step failed.
type StepError struct {
	Index int
	Step  Step
	Err   error
}

func (e *StepError) Error() string {
	return fmt.Sprintf("step %d (%s): %v", e.Index+1, e.Step.Name(), e.Err)
}

func (e *StepError) Unwrap() error { return e.Err }

// Run runs the steps in order from start. It reports step-start,
// step-done and step-failed events. It stops at the first required step
// that fails and returns a *StepError.
func (p Plan) Run(ctx context.Context, env *Env, start int) error {
	for i := start; i < len(p); i++ {
		s := p[i]
		env.report(manifest.PhaseStepStart, s.Name(), "")
		env.Logger().Info("step", "n", i+1, "step", s.Name(), "what", s.String())
		err := s.Run(ctx, env)
		if err == nil {
			env.report(manifest.PhaseStepDone, s.Name(), "")
			continue
		}
		if be, ok := s.(BestEffort); ok && be.BestEffort() {
			env.Logger().Warn("best-effort step failed", "step", s.Name(), "err", err)
			env.report(manifest.PhaseStepDone, s.Name(), "best effort: "+err.Error())
			continue
		}
		env.report(manifest.PhaseStepFailed, s.Name(), err.Error())
		return &StepError{Index: i, Step: s, Err: err}
	}
	return nil
}

func (env *Env) report(phase, step, msg string) {
	if env.Report == nil {
		return
	}
	node := ""
	if env.Manifest != nil {
		node = env.Manifest.Node
	}
	env.Report(manifest.Event{Node: node, Phase: phase, Message: msg, Data: map[string]string{"step": step}})
}
