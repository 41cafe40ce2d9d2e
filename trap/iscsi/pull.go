package iscsi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/disklesstrap/disklesstrap/manifest"
)

// PinnedCertPath is where `trapctl initrd build` puts bootsrv's TLS
// certificate in the initramfs (initrd.BootsrvCertPath); the agent trusts
// that certificate and nothing else for secret pulls.
const PinnedCertPath = "/etc/trap/bootsrv.pem"

// maxPulledSecret bounds a pulled secret's size.
const maxPulledSecret = 64 << 10

// Puller fetches a node's secrets from bootsrv's secret endpoint over TLS
// 1.3, trusting exactly one certificate: the one pinned in the initramfs.
// No CA, no name check, no plain-HTTP fallback, no redirects, no proxy.
type Puller struct {
	// Server is bootsrv's TLS base URL (manifest.SecretServer), which
	// must be https.
	Server string
	// Pinned is the PEM of bootsrv's certificate; the first CERTIFICATE
	// block is the pin.
	Pinned []byte
	// Dialer dials bootsrv; nil: a plain net.Dialer. (Tests bind the
	// source address with it.)
	Dialer *net.Dialer
	// Timeout bounds one fetch; 0: 30 s.
	Timeout time.Duration
	// Sign signs the request with the boot's node credential (bootsrv
	// releases a secret only to a signed request); nil: unsigned.
	Sign func(r *http.Request, body []byte)
}

// ErrPinMismatch is the error (wrapped) when bootsrv presents a certificate
// other than the pinned one.
var ErrPinMismatch = errors.New("bootsrv presented a certificate other than the one pinned in the initramfs")

// PinnedTLSConfig is a TLS 1.3 client configuration that accepts only the
// server certificate pinnedPEM holds (byte for byte). Chain and name
// verification are off because the exact-match check in VerifyConnection
// replaces them: a self-signed certificate has no CA to chain to, and the
// pin is stronger than any name.
func PinnedTLSConfig(pinnedPEM []byte) (*tls.Config, error) {
	pin, err := firstCert(pinnedPEM)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		InsecureSkipVerify: true, // only together with the exact match below
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return fmt.Errorf("%w: it presented none", ErrPinMismatch)
			}
			if !bytes.Equal(cs.PeerCertificates[0].Raw, pin.Raw) {
				return fmt.Errorf("%w (presented sha256 %s…, pinned %s…)", ErrPinMismatch, shortSum(cs.PeerCertificates[0].Raw), shortSum(pin.Raw))
			}
			return nil
		},
	}, nil
}

// shortSum is the first 8 bytes of der's SHA-256 in hex, as in
// `openssl x509 -fingerprint -sha256` (enough to tell certificates apart
// in a message).
func shortSum(der []byte) string {
	sum := sha256.Sum256(der)
	return strings.ReplaceAll(fmt.Sprintf("% X", sum[:8]), " ", ":")
}

// firstCert parses the first CERTIFICATE block of a PEM file.
func firstCert(pemBytes []byte) (*x509.Certificate, error) {
	rest := pemBytes
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, errors.New("pinned bootsrv certificate: no PEM CERTIFICATE block")
		}
		if b.Type == "CERTIFICATE" {
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("pinned bootsrv certificate: %w", err)
			}
			return c, nil
		}
	}
}

// Pull fetches secret name of node: GET Server + manifest.SecretPath. The
// body is the secret (trailing newlines trimmed); it is never logged and
// no error carries it.
func (p *Puller) Pull(ctx context.Context, node, name string) ([]byte, error) {
	if !strings.HasPrefix(p.Server, "https://") {
		return nil, fmt.Errorf("secret %s: secret server %q is not https; secrets never travel over plain HTTP", name, p.Server)
	}
	tc, err := PinnedTLSConfig(p.Pinned)
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	d := p.Dialer
	if d == nil {
		d = &net.Dialer{Timeout: 10 * time.Second}
	}
	timeout := p.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         d.DialContext,
		TLSClientConfig:     tc,
		TLSHandshakeTimeout: 10 * time.Second,
		ForceAttemptHTTP2:   false,
		DisableKeepAlives:   true,
	}
	defer tr.CloseIdleConnections()
	hc := &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return errors.New("bootsrv redirected a secret pull; refused (no redirects, no plain HTTP)")
		},
	}
	u := strings.TrimSuffix(p.Server, "/") + manifest.SecretPath(node, name)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	if p.Sign != nil {
		p.Sign(req, nil)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("secret %s from %s: %w", name, p.Server, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxPulledSecret+1))
	if err != nil {
		clear(b)
		return nil, fmt.Errorf("secret %s from %s: %w", name, p.Server, err)
	}
	if resp.StatusCode != http.StatusOK {
		// Refusals are api.Error JSON; bootsrv never puts a value in one.
		var ae struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &ae) != nil || ae.Error == "" {
			return nil, fmt.Errorf("secret %s from %s: %s", name, p.Server, resp.Status)
		}
		return nil, fmt.Errorf("secret %s from %s: %s: %s", name, p.Server, resp.Status, ae.Error)
	}
	if len(b) > maxPulledSecret {
		clear(b)
		return nil, fmt.Errorf("secret %s from %s: larger than %d bytes", name, p.Server, maxPulledSecret)
	}
	return bytes.TrimRight(b, "\n"), nil
}
