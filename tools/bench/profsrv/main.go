// Command profsrv is bootsrv with profiling for the benchmarks: the same
// server (package server) and flags, plus --pprof ADDR serving
// net/http/pprof, so a benchmark can take CPU and mutex profiles of the
// server under load without touching cmd/bootsrv.
//
//	profsrv --pprof 127.0.0.1:6060 --config cluster.yaml --state DIR --data DIR ...
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof on http.DefaultServeMux
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/disklesstrap/disklesstrap/bootsrv/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "profsrv:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("profsrv", flag.ContinueOnError)
	var cfg server.Config
	fs.StringVar(&cfg.ConfigPath, "config", "cluster.yaml", "inventory file")
	fs.StringVar(&cfg.Interface, "interface", "", "bind DHCP to this interface")
	fs.StringVar(&cfg.StateDir, "state", "", "runtime state directory")
	fs.StringVar(&cfg.DataDir, "data", "", "data directory")
	fs.StringVar(&cfg.HTTPAddr, "http", ":8080", "HTTP listen address")
	fs.StringVar(&cfg.DHCPAddr, "dhcp", ":67", `DHCP listen address ("off")`)
	fs.StringVar(&cfg.TFTPAddr, "tftp", "off", `TFTP listen address ("off")`)
	fs.StringVar(&cfg.TLSAddr, "tls-listen", "off", `TLS listen address ("off")`)
	fs.StringVar(&cfg.AdminSocket, "admin-socket", "off", `admin socket ("off")`)
	fs.StringVar(&cfg.TorrentListen, "torrent-listen", "off", `BitTorrent peer-wire address ("off")`)
	level := fs.String("log-level", "warn", "log level")
	pprofAddr := fs.String("pprof", "127.0.0.1:6060", "net/http/pprof listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lv}))
	runtime.SetMutexProfileFraction(5)
	runtime.SetBlockProfileRate(100000)
	go func() {
		if err := http.ListenAndServe(*pprofAddr, nil); err != nil {
			cfg.Log.Error("pprof", "addr", *pprofAddr, "err", err)
		}
	}()
	srv, err := server.New(cfg)
	if err != nil {
		return err
	}
	return srv.Run(ctx)
}
