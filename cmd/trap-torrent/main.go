// Command trap-torrent is the trap's BitTorrent helper: it downloads one OS
// image over BitTorrent (bootsrv's seeder, the other booting nodes, and the
// torrent's web seed as the fallback), verifies every piece and the
// image's SHA-256, then keeps seeding it to the other nodes until it gets
// SIGTERM (the agent sends it right before switch_root: Luna's rule) or
// --seed-for has passed.
//
//	trap-torrent --torrent http://198.18.0.1:8080/images/os.torrent \
//	    --infohash HEX --sha256 HEX --dest /run/dt/image [--listen :6881]
//
// It is a separate binary so the agent (/init) does not link the torrent
// library (about 7 MB): initrd includes it when asked (trapctl initrd build
// --torrent). Progress goes to standard output as JSON lines (package
// trap/torrent/report), every --every while downloading and while
// seeding; logs go to standard error.
//
// Exit status: 0 after seeding stopped, 1 when the download failed (an
// "error" line says why), 2 for bad flags.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/disklesstrap/disklesstrap/nodeauth"
	"github.com/disklesstrap/disklesstrap/trap/torrent"
	"github.com/disklesstrap/disklesstrap/trap/torrent/report"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// config is the command line.
type config struct {
	opts    torrent.Options
	seedFor time.Duration
	every   time.Duration
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("trap-torrent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &config{}
	o := &c.opts
	fs.StringVar(&o.MetaInfoURL, "torrent", "", "URL of the .torrent file (required)")
	fs.StringVar(&o.InfoHash, "infohash", "", "expected v1 info-hash (hex)")
	fs.StringVar(&o.SHA256, "sha256", "", "expected SHA-256 of the image (hex)")
	fs.StringVar(&o.Dest, "dest", "", "image file to write (required)")
	fs.StringVar(&o.ListenAddr, "listen", ":6881", "peer-wire TCP address")
	fs.Int64Var(&o.UploadLimit, "upload-limit", 0, "upload cap in bytes/s (0: none)")
	fs.Int64Var(&o.DownloadLimit, "download-limit", 0, "download cap in bytes/s (0: none)")
	fs.DurationVar(&o.WebSeedDelay, "web-seed-delay", torrent.DefaultWebSeedDelay, "use the web seed once peers delivered nothing for this long (negative: at once)")
	fs.DurationVar(&c.every, "every", 2*time.Second, "progress line interval")
	fs.DurationVar(&c.seedFor, "seed-for", 0, "stop seeding after this long (0: until SIGTERM)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	case o.MetaInfoURL == "":
		return nil, errors.New("--torrent is required")
	case o.Dest == "":
		return nil, errors.New("--dest is required")
	case c.every <= 0:
		return nil, errors.New("--every must be positive")
	case c.seedFor < 0:
		return nil, errors.New("--seed-for must not be negative")
	}
	if o.WebSeedDelay == 0 {
		o.WebSeedDelay = time.Nanosecond // 0 would mean the default
	}
	o.ProgressInterval = c.every
	return c, nil
}

// lineWriter writes report lines, one at a time.
type lineWriter struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func (lw *lineWriter) write(l report.Line) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	lw.w.Write(l.Marshal())
	lw.w.Flush()
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := parseFlags(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "trap-torrent:", err)
		}
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	out := &lineWriter{w: bufio.NewWriter(stdout)}
	c.opts.Log = log
	// The node's announce key comes in the environment (root only in
	// /proc), never on the command line (package nodeauth).
	c.opts.AnnounceQuery = os.Getenv(nodeauth.AnnounceEnv)
	c.opts.Progress = func(p torrent.Progress) {
		if !p.Done { // the done line below carries the final figures
			out.write(report.Line{Event: report.EventProgress, Progress: p})
		}
	}
	res, err := torrent.Download(ctx, c.opts)
	if err != nil {
		out.write(report.Line{Event: report.EventError, Error: err.Error()})
		return 1
	}
	p := res.Stats()
	p.Done = true
	out.write(report.Line{
		Event: report.EventDone, Progress: p, Path: res.Path, InfoHash: res.InfoHash,
		SHA256: res.SHA256, ElapsedMS: res.Elapsed.Milliseconds(), Banned: res.BannedPeers(),
	})
	seed(ctx, c, res, out)
	return 0
}

// seed reports the seeding until ctx ends or --seed-for passes, then stops
// the client and writes the final figures.
func seed(ctx context.Context, c *config, res *torrent.Result, out *lineWriter) {
	var limit <-chan time.Time
	if c.seedFor > 0 {
		tm := time.NewTimer(c.seedFor)
		defer tm.Stop()
		limit = tm.C
	}
	tick := time.NewTicker(c.every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			stopSeeding(res, out)
			return
		case <-limit:
			stopSeeding(res, out)
			return
		case <-tick.C:
			p := res.Stats()
			p.Done = true
			out.write(report.Line{Event: report.EventSeeding, Progress: p, Banned: res.BannedPeers()})
		}
	}
}

func stopSeeding(res *torrent.Result, out *lineWriter) {
	p := res.Stats()
	p.Done = true
	banned := res.BannedPeers()
	res.Stop()
	out.write(report.Line{Event: report.EventStopped, Progress: p, Banned: banned})
}
