package ctl

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Usage is the `trap` command's help.
const Usage = `usage: trap COMMAND [ARGS...]

Talks to the running DisklessTrap agent (socket $DT_TRAP_SOCK, default /run/trap.sock).

  trap continue     leave the trap and run the plan (from the failed step)
  trap status       phase, mode, last error
  trap plan         print the plan for the manifest's mode
  trap manifest     print the manifest (JSON)
  trap help         list every command, including step commands
  trap STEP ...     run one plan step by hand (e.g. trap zram)
  trap secret set NAME < FILE   keep a secret in the agent's memory (never on disk)
`

// Main is the `trap` command: it returns the process exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stderr, Usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var stdin []byte
	if ReadsStdin(args) {
		b, err := readStdin(os.Stdin)
		if err != nil {
			fmt.Fprintf(stderr, "trap: %v\n", err)
			return 1
		}
		stdin = b
		defer zero(stdin)
	}
	if err := CallWithStdin(ctx, Socket(), args, stdin, stdout); err != nil {
		fmt.Fprintf(stderr, "trap: %v\n", err)
		return 1
	}
	return 0
}
