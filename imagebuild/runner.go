package imagebuild

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
)

// Runner runs a command with its output going to the build log.
type Runner interface {
	Run(ctx context.Context, log io.Writer, env []string, name string, args ...string) error
}

// ExecRunner runs real commands.
type ExecRunner struct{}

// Run implements Runner: the process inherits the environment plus env,
// its stdout and stderr go to log; a failure's error names the command.
func (ExecRunner) Run(ctx context.Context, log io.Writer, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(cmd.Environ(), env...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// cmdline renders a command for the log: arguments with spaces or
// shell characters single-quoted.
func cmdline(name string, args ...string) string {
	parts := []string{name}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"$*?;&|<>()\\") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}
