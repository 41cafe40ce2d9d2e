package api

import (
	"net"
	"net/http"
	"net/url"
	"strconv"

	"github.com/disklesstrap/disklesstrap/bootsrv/inventory"
	"github.com/disklesstrap/disklesstrap/manifest"
)

// bootsrv's TLS side (see docs/threat-model.md). bootsrv serves this same
// handler on a second, TLS listener (Config.TLSPort) with a self-signed
// certificate (package tlscert) that `trapctl initrd build` pins into
// trap images as /etc/trap/bootsrv.pem:
//
//   - GET /api/v1/tls/cert: the certificate (PEM). An admin route: a copy
//     fetched over an untrusted network could be an attacker's, and
//     whatever trapctl gets here is what nodes will trust; the admin socket
//     or a token over TLS with the pin already in hand are trusted paths.
//   - Manifests of nodes that may pull secrets carry SecretServer =
//     https://SERVER:TLSPort, SERVER being bootsrv's address on the node's
//     boot network (the inventory network's server), else the host the
//     manifest was asked from.
//   - The pull route refuses plain HTTP (secrets.go).

// tlsCert serves GET /api/v1/tls/cert.
func (a *API) tlsCert(w http.ResponseWriter, r *http.Request) error {
	if a.cfg.TLSPort == 0 || len(a.cfg.TLSCert) == 0 {
		return errorf(http.StatusNotFound, "bootsrv serves no TLS (--tls-listen is off): no certificate to pin")
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	_, err := w.Write(a.cfg.TLSCert)
	return err
}

// secretServerField sets m.SecretServer when node n may pull secrets:
// TLS on, pulls on, and its manifest references secrets (m.ISCSI).
func (a *API) secretServerField(r *http.Request, c *inventory.Cluster, n *inventory.Node, m *manifest.Manifest) {
	if a.cfg.TLSPort == 0 || !a.cfg.SecretsPull || (m.ISCSI == nil && m.BMCSetup == nil) {
		return
	}
	host := ""
	if ifc := n.BootInterface(); ifc != nil && ifc.IP.IsValid() {
		if nw, ok := c.NetworkFor(ifc.IP); ok && nw.Server.IsValid() {
			host = nw.Server.String()
		}
	}
	if host == "" {
		if u, err := url.Parse(a.cfg.BaseURL(r)); err == nil {
			host = u.Hostname()
		}
	}
	if host == "" {
		return
	}
	m.SecretServer = "https://" + net.JoinHostPort(host, strconv.Itoa(a.cfg.TLSPort))
}

// secretURL is where a node should pull secret name from, for messages.
func (a *API) secretURL(r *http.Request, node, name string) string {
	host := r.Host
	if h, _, err := net.SplitHostPort(r.Host); err == nil {
		host = h
	}
	if host == "" {
		host = "BOOTSRV"
	}
	return "https://" + net.JoinHostPort(host, strconv.Itoa(a.cfg.TLSPort)) + manifest.SecretPath(node, name)
}
