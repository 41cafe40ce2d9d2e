package server

import (
	"net"
	"net/netip"
	"strings"
)

// TFTPAuto is Config.TFTPAddr's default: bind TFTP to the networks'
// server addresses (their next-server) that this host has.
const TFTPAuto = "auto"

// tftpAddrs lists the UDP addresses TFTP binds: Config.TFTPAddr split at
// commas, or with TFTPAuto every network's server address found on a
// local interface (port 69). When none is found it falls back to every
// address (":69") and says so.
func (s *Server) tftpAddrs(local []netip.Addr) []string {
	if s.cfg.TFTPAddr != TFTPAuto {
		var out []string
		for _, a := range strings.Split(s.cfg.TFTPAddr, ",") {
			if a = strings.TrimSpace(a); a != "" {
				out = append(out, a)
			}
		}
		return out
	}
	have := make(map[netip.Addr]bool, len(local))
	for _, a := range local {
		have[a.Unmap()] = true
	}
	var out []string
	seen := map[netip.Addr]bool{}
	for _, n := range s.Cluster().Networks() {
		if have[n.Server] && !seen[n.Server] {
			seen[n.Server] = true
			out = append(out, netip.AddrPortFrom(n.Server, 69).String())
		}
	}
	if len(out) == 0 {
		s.log.Warn("tftp: no network's server address is on this host; listening on every address (set --tftp)")
		return []string{":69"}
	}
	return out
}

// localAddrs lists this host's interface addresses.
func localAddrs() []netip.Addr {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out = append(out, p.Addr())
		}
	}
	return out
}
