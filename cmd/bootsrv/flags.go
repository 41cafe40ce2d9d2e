package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/bootsrv/server"
	"github.com/disklesstrap/disklesstrap/bootsrv/state"
	"github.com/disklesstrap/disklesstrap/bootsrv/tftpd"
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
	fs.StringVar(&cfg.Interface, "interface", "", "bind the DHCP socket to this interface (default: all; direct requests are answered only on interfaces tied to a network, see docs/hardening.md)")
	fs.StringVar(&cfg.StateDir, "state", "/var/lib/disklesstrap", "runtime state directory (SQLite, TLS certificate, secrets)")
	fs.StringVar(&cfg.StateDB, "state-db", "", "shared state database of bootsrv replicas: postgres://USER@HOST:PORT/DB (password from PGPASSFILE/~/.pgpass, never the command line; see docs/scale-out.md); empty: SQLite in --state")
	fs.StringVar(&cfg.ReplicaURL, "replica-url", "", "with --state-db: the http://HOST:PORT other replicas fetch this one's images from (default: from --http when it names an address)")
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
