package main

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"time"

	"github.com/disklesstrap/disklesstrap/trap/pathd"
)

// runPathd is `trap pathd [-root DIR | -root-fd N] [-interval D] MAP...`: the path
// keeper the iscsi plan leaves running across switch_root (package pathd).
func runPathd(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("trap pathd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := pathd.Config{}
	fs.StringVar(&cfg.Root, "root", "", "chroot into this directory first (the assembled new root)")
	fs.IntVar(&cfg.RootFD, "root-fd", 0, "chroot into the directory open on this file descriptor first (what the agent passes)")
	fs.DurationVar(&cfg.Interval, "interval", 5*time.Second, "path check interval")
	if err := fs.Parse(args); err != nil {
		return exitCode(2)
	}
	cfg.Maps = fs.Args()
	cfg.Log = slog.New(slog.NewTextHandler(stderr, nil)).With("prog", "trap-pathd")
	return pathd.Run(ctx, cfg)
}
