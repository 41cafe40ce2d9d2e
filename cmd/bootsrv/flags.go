package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/disklesstrap/disklesstrap/bootsrv/server"
)

// serveFlags is bootsrv's command line when it serves.
type serveFlags struct {
	cfg       server.Config
	logLevel  string
	logFormat string
}

// newServeFlags defines every flag of `bootsrv`: the parser, --help and
// the man page text all come from these definitions.
func newServeFlags(o *serveFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("bootsrv", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg := &o.cfg
	fs.StringVar(&cfg.ConfigPath, "config", "cluster.yaml", "inventory file (check it first with bootsrv check)")
	fs.StringVar(&cfg.Interface, "interface", "", "bind DHCP to this interface (default: all)")
	fs.StringVar(&cfg.StateDir, "state", "/var/lib/disklesstrap", "runtime state directory (SQLite, TLS certificate, secrets)")
	fs.StringVar(&cfg.DataDir, "data", "/srv/disklesstrap", "data directory: tftp/ (iPXE binaries), boot/ (kernels, initramfs), images/")
	fs.StringVar(&cfg.HTTPAddr, "http", ":8080", "HTTP listen address")
	fs.StringVar(&cfg.DHCPAddr, "dhcp", ":67", `DHCP listen address ("off" to disable)`)
	fs.StringVar(&cfg.TFTPAddr, "tftp", ":69", `TFTP listen address ("off" to disable)`)
	fs.StringVar(&cfg.TorrentListen, "torrent-listen", ":6881", `image seeder's BitTorrent peer-wire address ("off": no tracker, seeder or .torrent files)`)
	fs.Int64Var(&cfg.SeedRate, "seed-rate", 0, "cap the seeder and web seed upload together, in bytes/s (0: no cap)")
	fs.StringVar(&cfg.TLSAddr, "tls-listen", ":8443", `TLS listen address: the HTTP API again, plus secret pulls, with a certificate nodes pin ("" or "off": no TLS, no secret pulls)`)
	fs.StringVar(&cfg.TLSCertFile, "tls-cert", "", "TLS certificate (PEM) instead of bootsrv's self-signed one in STATE/tls (with --tls-key)")
	fs.StringVar(&cfg.TLSKeyFile, "tls-key", "", "TLS private key (PEM) for --tls-cert")
	fs.BoolVar(&cfg.SecretsPull, "secrets-pull", true, "let mode-iscsi nodes pull their secrets over TLS (needs --tls-listen; false: push them with trapctl secret push)")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&o.logFormat, "log-format", "text", "text (key=value) or json (one JSON object a line); lines about a node carry node=, mac= and request=")
	return fs
}

// printUsage prints bootsrv's help: commands, then every flag.
func printUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, `usage: bootsrv [flags]                 serve DHCP, TFTP, HTTP (and TLS) until SIGTERM; SIGHUP reloads --config
       bootsrv check [--config FILE]   validate an inventory exactly as a reload would: every problem as
                                       FILE:LINE: FIELD: message, exit status 1 if there is any
       bootsrv help                    this text

flags:
`)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}
