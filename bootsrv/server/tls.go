package server

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"

	"github.com/disklesstrap/disklesstrap/bootsrv/tlscert"
)

// tlsOn reports whether the TLS listener is configured.
func (c *Config) tlsOn() bool { return c.TLSAddr != "" && c.TLSAddr != "off" }

// tlsSetup is what the TLS listener needs: its configuration, the
// certificate's PEM (served to trapctl for pinning) and the port manifests
// name. The certificate is --tls-cert/--tls-key, else STATE/tls (made on
// first start, reused after: see package tlscert).
type tlsSetup struct {
	config  *tls.Config
	certPEM []byte
	port    int
}

func (s *Server) setupTLS() (*tlsSetup, error) {
	_, p, err := net.SplitHostPort(s.cfg.TLSAddr)
	if err != nil {
		return nil, fmt.Errorf("--tls-listen %q: %w", s.cfg.TLSAddr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port <= 0 || port > 65535 {
		return nil, fmt.Errorf("--tls-listen %q: want HOST:PORT with a port number", s.cfg.TLSAddr)
	}
	var (
		cert    tls.Certificate
		certPEM []byte
		source  string
	)
	switch {
	case s.cfg.TLSCertFile != "" && s.cfg.TLSKeyFile != "":
		if certPEM, err = os.ReadFile(s.cfg.TLSCertFile); err != nil {
			return nil, fmt.Errorf("--tls-cert: %w", err)
		}
		if cert, err = tls.LoadX509KeyPair(s.cfg.TLSCertFile, s.cfg.TLSKeyFile); err != nil {
			return nil, fmt.Errorf("--tls-cert %s / --tls-key %s: %w", s.cfg.TLSCertFile, s.cfg.TLSKeyFile, err)
		}
		source = s.cfg.TLSCertFile
	case s.cfg.TLSCertFile != "" || s.cfg.TLSKeyFile != "":
		return nil, fmt.Errorf("--tls-cert and --tls-key go together (neither: bootsrv keeps its own in %s)", filepath.Join(s.cfg.StateDir, "tls"))
	default:
		dir := filepath.Join(s.cfg.StateDir, "tls")
		var ips []netip.Addr
		for _, n := range s.Cluster().Networks() {
			if n.Server.IsValid() {
				ips = append(ips, n.Server)
			}
		}
		if certPEM, err = tlscert.Ensure(dir, ips...); err != nil {
			return nil, err
		}
		if cert, err = tlscert.Load(dir); err != nil {
			return nil, err
		}
		source = filepath.Join(dir, tlscert.CertFile)
	}
	fp, err := tlscert.Fingerprint(certPEM)
	if err != nil {
		return nil, fmt.Errorf("tls certificate %s: %w", source, err)
	}
	s.log.Info("tls certificate", "file", source, "sha256", fp)
	return &tlsSetup{
		config: &tls.Config{
			Certificates: []tls.Certificate{cert},
			// Nodes insist on TLS 1.3; 1.2 is left for admins' tools.
			MinVersion: tls.VersionTLS12,
		},
		certPEM: certPEM,
		port:    port,
	}, nil
}
