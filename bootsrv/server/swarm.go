package server

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"golang.org/x/time/rate"

	"github.com/disklesstrap/disklesstrap/bootsrv/api"
	"github.com/disklesstrap/disklesstrap/bootsrv/swarm"
)

// startSwarm creates the tracker and the seeder for --torrent-listen and
// --seed-rate; nil when peer-to-peer distribution is off. The caller
// closes the seeder.
func (s *Server) startSwarm() (*api.SwarmConfig, error) {
	if s.cfg.TorrentListen == "" || s.cfg.TorrentListen == "off" {
		return nil, nil
	}
	listen, err := parseListen(s.cfg.TorrentListen)
	if err != nil {
		return nil, fmt.Errorf("--torrent-listen %q: %w", s.cfg.TorrentListen, err)
	}
	if s.cfg.SeedRate < 0 {
		return nil, fmt.Errorf("--seed-rate %d: want bytes/s >= 0", s.cfg.SeedRate)
	}
	var lim *rate.Limiter
	if s.cfg.SeedRate > 0 {
		// Burst: one 1 MiB peer request at least, a quarter second above.
		lim = rate.NewLimiter(rate.Limit(s.cfg.SeedRate), int(max(1<<20, s.cfg.SeedRate/4)))
	}
	own := ownAddrs()
	tr := swarm.NewTracker(func(ip netip.Addr) bool {
		return ip.IsLoopback() || own[ip] || (*s.reserved.Load())[ip] || s.isServerAddr(ip)
	})
	tr.Log = s.log.With("svc", "tracker")
	seeder, err := swarm.NewSeeder(swarm.SeederConfig{Listen: listen, UploadLimiter: lim, Log: s.log.With("svc", "seeder")})
	if err != nil {
		return nil, err
	}
	host := "127.0.0.1"
	if nets := s.Cluster().Networks(); len(nets) > 0 && nets[0].Server.IsValid() {
		host = nets[0].Server.String()
	}
	if a := listen.Addr(); a.IsValid() && !a.IsUnspecified() {
		host = a.String()
	}
	cfg := &api.SwarmConfig{
		Tracker: tr, Seeder: seeder, Limiter: lim,
		AnnounceURL: "http://" + net.JoinHostPort(host, strconv.Itoa(s.httpPort)) + "/announce",
	}
	s.log.Info("swarm: seeder and tracker", "peer_wire", seeder.Addr().String(), "announce", cfg.AnnounceURL, "seed_rate", s.cfg.SeedRate)
	return cfg, nil
}

// parseListen accepts "ip:port" and ":port".
func parseListen(s string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return netip.AddrPort{}, err
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("port %q", port)
	}
	var ip netip.Addr
	if host != "" {
		if ip, err = netip.ParseAddr(host); err != nil {
			return netip.AddrPort{}, err
		}
	}
	return netip.AddrPortFrom(ip, uint16(p)), nil
}

// isServerAddr reports whether ip is one of the inventory networks'
// server addresses (bootsrv itself).
func (s *Server) isServerAddr(ip netip.Addr) bool {
	for _, n := range s.Cluster().Networks() {
		if n.Server == ip {
			return true
		}
	}
	return false
}

// ownAddrs are the host's interface addresses at start.
func ownAddrs() map[netip.Addr]bool {
	out := map[netip.Addr]bool{}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return out
	}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out[p.Addr().Unmap()] = true
		}
	}
	return out
}
