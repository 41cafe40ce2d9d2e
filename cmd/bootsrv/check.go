package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/disklesstrap/disklesstrap/bootsrv/invcheck"
)

// runCheck is `bootsrv check [--config FILE] [--data DIR] [FILE]`: the unit's
// ExecReload runs it before sending SIGHUP, so a broken edit never reaches
// a running server.
func runCheck(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bootsrv check", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	config := fs.String("config", "cluster.yaml", "inventory file to check")
	data := fs.String("data", "/srv/disklesstrap", "bootsrv's data folder: litefile rules are checked against its images/ (\"\": not)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, "usage: bootsrv check [--config FILE] [--data DIR]\n\nValidates an inventory exactly as bootsrv's reload does and prints every\nproblem as FILE:LINE: FIELD: message; exit status 1 if there is any. The\nlitefile rules are checked against the images of DIR/images too.\n\nflags:")
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return nil
		}
		return fmt.Errorf("check: %w", err)
	}
	switch fs.NArg() {
	case 0:
	case 1:
		*config = fs.Arg(0)
	default:
		return fmt.Errorf("check: one inventory file, got %q", fs.Args())
	}
	return invcheck.CheckData(*config, *data, stdout, stderr)
}
