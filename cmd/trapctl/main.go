// Command trapctl is DisklessTrap's admin CLI: it edits the inventory,
// switches boot modes, shows status, events and SSH host keys through
// bootsrv's admin API (package client), and builds trap initramfs images
// (package initrd).
//
// Usage errors print the usage and exit 2; server and other errors print
// the message and exit 1. Run `trapctl help` for the commands.
package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		printError(os.Stderr, err)
	}
	os.Exit(exitCode(err))
}

// exitCode is 0 for success, 2 for usage errors, 1 for anything else.
func exitCode(err error) int {
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		return 2
	}
	return 1
}
