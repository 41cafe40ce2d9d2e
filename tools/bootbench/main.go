// Command bootbench is make bench's boot-time and initramfs suites (run by
// tools/bench/run.sh outside the bench's own namespace: it starts a QEMU
// lab of its own).
//
//   - boot: from one bootsrv and one kernel, BIOS PXE, one node at a time,
//     a bare busybox initramfs printing a marker vs the trap to its prompt,
//     median of -runs each, the ratio, and the trap's phase breakdown from
//     its events (package boottiming).
//   - initrd: the iSCSI trap initramfs vs a dracut initramfs with the same
//     capabilities on the same kernel, cold and warm: build time and size.
//
// Needs root, QEMU and make lab-deps (and dracut: lab-deps.sh --bench).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bootbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bootbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	suites := fs.String("suites", "boot,initrd", "suites to run: boot, initrd")
	runs := fs.Int("runs", 3, "boots of each kind (the median counts)")
	dir := fs.String("dir", "", "work directory (default: a temporary one, removed afterwards)")
	fs.StringVar(&eventsDir, "events", "", "save each trap node's events (JSON, as GET /api/v1/events returns them) in this folder")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *runs < 1 {
		return fmt.Errorf("-runs: want >= 1, got %d", *runs)
	}
	if os.Geteuid() != 0 {
		return errors.New("needs root (network namespaces, QEMU taps)")
	}
	work := *dir
	if work == "" {
		d, err := os.MkdirTemp("", "dtbootbench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		work = d
	}
	var errs []error
	for _, s := range strings.Split(*suites, ",") {
		var err error
		switch strings.TrimSpace(s) {
		case "boot":
			err = benchBoot(ctx, work, *runs, stdout, stderr)
		case "initrd":
			err = benchInitrd(ctx, work, stdout, stderr)
		case "":
		default:
			err = fmt.Errorf("unknown suite %q (want boot, initrd)", s)
		}
		if err != nil {
			fmt.Fprintf(stdout, "\n%s: FAILED: %v\n", s, err)
			errs = append(errs, fmt.Errorf("%s: %w", s, err))
		}
		if ctx.Err() != nil {
			break
		}
	}
	return errors.Join(errs...)
}
