package torrent

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"

	g "github.com/anacrolix/generics"
	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/storage"
	"golang.org/x/time/rate"
)

// clientConfig builds the library configuration from o.
// With a download cap it also returns the shaped dialer to install with
// installShaping once the client exists.
func clientConfig(o *Options) (*torrent.ClientConfig, *shapedDialer, error) {
	listen := o.ListenAddr
	if listen == "" {
		listen = ":0"
	}
	host, portStr, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, nil, fmt.Errorf("listen address %q: %w", listen, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, nil, fmt.Errorf("listen address %q: bad port", listen)
	}
	var ip netip.Addr
	if host != "" {
		if ip, err = netip.ParseAddr(host); err != nil {
			return nil, nil, fmt.Errorf("listen address %q: %w", listen, err)
		}
	}
	cfg := torrent.NewDefaultClientConfig()
	cfg.ListenHost = func(string) string { return host }
	cfg.ListenPort = int(port)
	cfg.Seed = true // upload to everyone, not tit-for-tat; keep seeding when done
	cfg.NoDHT = true
	cfg.DisablePEX = true
	cfg.DisableUTP = true
	cfg.DisableWebtorrent = true
	cfg.NoDefaultPortForwarding = true
	cfg.DisableIPv6 = ip.Is4()
	cfg.HeaderObfuscationPolicy = torrent.HeaderObfuscationPolicy{}
	// The library considers requesting only from the first 64 MiB of
	// pieces in its order (rarest first) by default. While the seeder is
	// the only holder of most pieces, those fill the whole window and the
	// pieces other peers already have fall outside it: peers barely trade
	// until half the image has come from the seeder. Consider every piece.
	cfg.MaxUnverifiedBytes = 0
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	cfg.Slogger = slog.New(minLevel{h: log.Handler(), min: slog.LevelError})
	cfg.DefaultStorage = storage.NewFileOpts(storage.NewFileClientOpts{
		ClientBaseDir:   os.TempDir(),
		PieceCompletion: storage.NewMapPieceCompletion(),
		UsePartFiles:    g.Some(false),
	})
	if o.UploadLimit > 0 {
		cfg.UploadRateLimiter = rate.NewLimiter(rate.Limit(o.UploadLimit), burstFor(o.UploadLimit))
	}
	if ip.IsValid() && !ip.IsUnspecified() {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip.AsSlice()}}
		cfg.TrackerDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		}
		cfg.HTTPDialContext = cfg.TrackerDialContext
	}
	if o.DownloadLimit > 0 {
		// See shaping.go: the peer-wire TCP socket is ours.
		cfg.DisableTCP = true
		lim := rate.NewLimiter(rate.Limit(o.DownloadLimit), burstFor(o.DownloadLimit))
		sd := &shapedDialer{lim: lim}
		if ip.IsValid() && !ip.IsUnspecified() {
			sd.d.LocalAddr = &net.TCPAddr{IP: ip.AsSlice()}
		}
		cfg.HTTPDialContext = sd.DialContext
		return cfg, sd, nil
	}
	return cfg, nil, nil
}

// burstFor is the token bucket size for a cap: at least one 1 MiB request
// (the library's largest read), at most 1/4 s of traffic above that.
func burstFor(limit int64) int {
	return int(max(1<<20, limit/4))
}

// minLevel drops records below min: the torrent library is chatty (it
// warns about slow internal lock handlers on a busy CPU, for one).
type minLevel struct {
	h   slog.Handler
	min slog.Level
}

func (m minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= m.min && m.h.Enabled(ctx, l)
}
func (m minLevel) Handle(ctx context.Context, r slog.Record) error { return m.h.Handle(ctx, r) }
func (m minLevel) WithAttrs(a []slog.Attr) slog.Handler {
	return minLevel{h: m.h.WithAttrs(a), min: m.min}
}
func (m minLevel) WithGroup(n string) slog.Handler { return minLevel{h: m.h.WithGroup(n), min: m.min} }

var falseOpt = g.Some(false)

// installShaping listens on addr with shaped connections and makes cl use
// them and sd for peer connections. The listener closes with cl.
func installShaping(cl *torrent.Client, addr string, sd *shapedDialer) error {
	if addr == "" {
		addr = ":0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	cl.AddListener(shapedListener{Listener: ln, lim: sd.lim})
	cl.AddDialer(sd)
	go func() {
		<-cl.Closed()
		ln.Close()
	}()
	return nil
}

// chunkSize is the block this client requests from peers (the protocol's
// usual 16 KiB costs a request, a message and the library's bookkeeping per
// 16 KiB: on a LAN swarm that, not the network, was the limit). Our seeder
// and our peers serve requests up to their upload burst (at least 1 MiB,
// see burstFor) and the library's MaxAllocPeerRequestDataPerConn (1 MiB).
const chunkSize = 256 << 10
