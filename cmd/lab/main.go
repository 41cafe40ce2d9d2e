// Command lab runs DisklessTrap's QEMU lab by hand.
//
//	lab demo    PXE-boot two nodes (BIOS and UEFI) from bootsrv into the trap,
//	            print the ssh and trapctl commands, run until interrupted
//	lab reap    remove lab namespaces and processes left by a dead lab
//
// Everything runs in a network namespace addressed in 198.18.0.0/24 with no
// route out; Ctrl-C removes the namespace and every process it started.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "lab:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: lab demo | lab reap")
	}
	switch args[0] {
	case "demo":
		return demo(ctx, args[1:], stdout, stderr)
	case "reap":
		return reap(stdout)
	default:
		return fmt.Errorf("unknown command %q (want demo or reap)", args[0])
	}
}
