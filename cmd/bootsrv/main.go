// Command bootsrv is DisklessTrap's boot server: DHCPv4, TFTP, HTTP (iPXE
// scripts, kernels, initramfs, manifests, the admin API and node events).
//
//	bootsrv --config cluster.yaml --interface br0 --state /var/lib/disklesstrap --data /srv/disklesstrap
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
// SIGHUP reloads the inventory; SIGINT/SIGTERM stop it.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/bootsrv/server"
	"github.com/disklesstrap/disklesstrap/bootsrv/state"
	"github.com/disklesstrap/disklesstrap/bootsrv/tftpd"
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
	fs := flag.NewFlagSet("bootsrv", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg server.Config
	fs.StringVar(&cfg.ConfigPath, "config", "cluster.yaml", "inventory file")
	fs.StringVar(&cfg.Interface, "interface", "", "bind the DHCP socket to this interface (default: all; direct requests are answered only on interfaces tied to a network, see docs/hardening.md)")
	fs.StringVar(&cfg.StateDir, "state", "/var/lib/disklesstrap", "runtime state directory (SQLite)")
	fs.StringVar(&cfg.DataDir, "data", "/srv/disklesstrap", "data directory: tftp/ (iPXE binaries), boot/ (kernels, initramfs), images/")
	fs.StringVar(&cfg.HTTPAddr, "http", ":8080", "HTTP listen address (e.g. 198.18.0.1:8080 to keep the API off an uplink)")
	fs.StringVar(&cfg.DHCPAddr, "dhcp", ":67", `DHCP listen address ("off" to disable)`)
	fs.StringVar(&cfg.TFTPAddr, "tftp", server.TFTPAuto, `TFTP listen addresses, comma-separated; "auto": each network's server address found on this host (else :69); "off" to disable`)
	fs.IntVar(&cfg.TFTPMaxTransfers, "tftp-max-transfers", tftpd.DefaultMaxTransfers, "TFTP transfers at once, in all (more wait up to the timeout, then get a busy error)")
	fs.IntVar(&cfg.TFTPMaxPerSource, "tftp-max-per-source", tftpd.DefaultMaxPerSource, "TFTP transfers at once from one source address")
	fs.StringVar(&cfg.TorrentListen, "torrent-listen", ":6881", `image seeder's BitTorrent peer-wire address ("off": no tracker, seeder or .torrent files)`)
	fs.Int64Var(&cfg.SeedRate, "seed-rate", 0, "cap the seeder and web seed upload together, in bytes/s (0: no cap)")
	fs.StringVar(&cfg.TLSAddr, "tls-listen", ":8443", `TLS listen address: the HTTP API again, plus secret pulls, with a certificate nodes pin ("" or "off": no TLS, no secret pulls)`)
	fs.StringVar(&cfg.TLSCertFile, "tls-cert", "", "TLS certificate (PEM) instead of bootsrv's self-signed one in STATE/tls (with --tls-key)")
	fs.StringVar(&cfg.TLSKeyFile, "tls-key", "", "TLS private key (PEM) for --tls-cert")
	fs.BoolVar(&cfg.SecretsPull, "secrets-pull", true, "let mode-iscsi nodes pull their secrets over TLS (needs --tls-listen; false: push them with trapctl secret push)")
	fs.StringVar(&cfg.AdminSocket, "admin-socket", api.DefaultAdminSocket, `Unix socket for admins on this host (root or bootsrv's own user; "off": none)`)
	fs.Var(server.SizeFlag{N: &cfg.MaxImageSize}, "max-image-size", "largest image upload accepted, bytes with an optional K, M, G or T suffix (default 64G)")
	fs.IntVar(&cfg.Prune.MaxDiscovered, "max-discovered", state.DefaultMaxDiscovered, "unknown MACs remembered (discovered, status and event rows), the most recently seen kept")
	fs.IntVar(&cfg.Prune.EventsPerNode, "events-per-node", state.DefaultEventsPerNode, "events kept per node, the newest")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	cfg.Log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lv}))

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
				return
			case <-hup:
				if err := srv.Reload(); err != nil {
					cfg.Log.Error("SIGHUP", "err", err)
				}
			}
		}
	}()
	return srv.Run(ctx)
}
