package swarm

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"os"

	g "github.com/anacrolix/generics"
	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/storage"
)

// clientConfig is the torrent client configuration bootsrv's seeder uses:
// TCP only (pure-Go uTP costs CPU and buys nothing on a LAN), no DHT, no
// UPnP or NAT-PMP, no LSD, no web seeding, always seeding.
func clientConfig(listen netip.AddrPort, log *slog.Logger) *torrent.ClientConfig {
	cfg := torrent.NewDefaultClientConfig()
	cfg.ListenHost = func(string) string { return addrHost(listen.Addr()) }
	cfg.ListenPort = int(listen.Port())
	cfg.Seed = true
	cfg.NoDHT = true
	cfg.DisablePEX = true
	cfg.DisableUTP = true
	cfg.DisableWebtorrent = true
	cfg.DisableWebseeds = true
	cfg.NoDefaultPortForwarding = true
	cfg.DisableIPv6 = listen.Addr().Is4()
	cfg.DisableIPv4 = listen.Addr().Is6() && !listen.Addr().Is4In6()
	cfg.HeaderObfuscationPolicy = torrent.HeaderObfuscationPolicy{Preferred: false, RequirePreferred: false}
	cfg.Slogger = slog.New(minLevel{h: log.Handler(), min: slog.LevelError})
	// Never used: every torrent brings its own storage. Set so the client
	// does not open a bolt database in DataDir.
	cfg.DefaultStorage = storage.NewFileOpts(storage.NewFileClientOpts{
		ClientBaseDir:   os.TempDir(),
		PieceCompletion: storage.NewMapPieceCompletion(),
	})
	if ip := listen.Addr(); ip.IsValid() && !ip.IsUnspecified() {
		// Announce from the listening address, so the tracker lists the
		// address peers can reach.
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip.AsSlice()}}
		cfg.TrackerDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		}
	}
	return cfg
}

func addrHost(a netip.Addr) string {
	if !a.IsValid() || a.IsUnspecified() {
		return ""
	}
	return a.String()
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
