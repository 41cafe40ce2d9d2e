// Command bootsrv is DisklessTrap's boot server: DHCPv4, TFTP, HTTP (iPXE
// scripts, kernels, initramfs, manifests, the admin API and node events).
//
//	bootsrv --config cluster.yaml --interface br0 --state /var/lib/disklesstrap --data /srv/disklesstrap
//	bootsrv check --config cluster.yaml
//
// It also serves the same API over TLS (--tls-listen, default :8443) with a
// self-signed certificate kept in STATE/tls, whose SHA-256 fingerprint it
// logs at start; trap images pin that certificate (trapctl initrd build)
// and pull their mode-iscsi secrets over it (--secrets-pull, default on).
//
// Admin routes need a credential: the admin socket (--admin-socket,
// default /run/disklesstrap/admin.sock, root only) on this host, or a named
// token (trapctl admin token create) over the TLS listener; see
// docs/threat-model.md.
//
// SIGHUP reloads the inventory; SIGINT/SIGTERM stop it. Under systemd
// (Type=notify) it reports readiness, reloads and shutdown over
// $NOTIFY_SOCKET (package sdnotify).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/disklesstrap/disklesstrap/bootsrv/sdnotify"
	"github.com/disklesstrap/disklesstrap/bootsrv/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bootsrv:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "check":
			return runCheck(args[1:], stdout, stderr)
		case "help":
			printUsage(stdout, newServeFlags(&serveFlags{}))
			return nil
		}
	}
	var o serveFlags
	fs := newServeFlags(&o)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout, fs)
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q (bootsrv --help lists the flags)", fs.Args())
	}
	log, err := newLogger(stderr, o.logFormat, o.logLevel)
	if err != nil {
		return err
	}
	// Anything logging through slog's or the log package's default (a
	// library, a nil Logger) lands in the same format.
	slog.SetDefault(log)
	cfg := o.cfg
	cfg.Log = log
	notify := sdnotify.FromEnv()
	cfg.OnReady = func(status string) {
		if err := notify.Ready(status); err != nil {
			log.Warn("systemd notification", "err", err)
		}
	}

	srv, err := server.New(cfg)
	if err != nil {
		return err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				notify.Stopping()
				return
			case <-hup:
				notify.Reloading()
				if err := srv.Reload(); err != nil {
					log.Error("SIGHUP", "err", err)
				}
				notify.Ready(fmt.Sprintf("serving %d nodes", len(srv.Cluster().Nodes())))
			}
		}
	}()
	return srv.Run(ctx)
}
