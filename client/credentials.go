package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
)

// unixBase is the base URL of requests that go to a Unix socket (the host
// part is not used for dialing).
const unixBase = "http://localhost"

// UnixTransport dials the Unix socket at path whatever the request's host.
func UnixTransport(path string) *http.Transport {
	var d net.Dialer
	return &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", path)
		},
		MaxIdleConnsPerHost: 16,
	}
}

// PinnedTransport speaks TLS to a server that must present exactly the
// certificate certPEM (bootsrv's own, self-signed): chain and name checks
// are replaced by a byte-for-byte comparison of the leaf.
func PinnedTransport(certPEM []byte) (*http.Transport, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(certPEM) {
		return nil, errors.New("pinned certificate: no PEM certificate")
	}
	want := pemDER(certPEM)
	return &http.Transport{
		TLSClientConfig: &tls.Config{
			MinVersion:         tls.VersionTLS12,
			InsecureSkipVerify: true, // replaced by VerifyConnection below
			VerifyConnection: func(cs tls.ConnectionState) error {
				if len(cs.PeerCertificates) == 0 || string(cs.PeerCertificates[0].Raw) != string(want) {
					return errors.New("bootsrv presented another certificate than the pinned one (credentials file cert_pem)")
				}
				return nil
			},
		},
		MaxIdleConnsPerHost: 16,
	}, nil
}

// bearer adds an Authorization header to every request over TLS; it never
// sends the token over plain HTTP.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b *bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme != "https" {
		return nil, fmt.Errorf("refusing to send the admin token to %s over plain HTTP", r.URL.Host)
	}
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// NewToken returns a client for a remote admin: server must be https://,
// its certificate certPEM (pinned), token the admin token's text.
func NewToken(server, token string, certPEM []byte, hc *http.Client) (*Client, error) {
	if !strings.HasPrefix(server, "https://") {
		return nil, fmt.Errorf("server %q: admin tokens work over https:// only", server)
	}
	tr, err := PinnedTransport(certPEM)
	if err != nil {
		return nil, err
	}
	var timeout = http.DefaultClient.Timeout
	if hc != nil {
		timeout = hc.Timeout
	}
	base := strings.TrimRight(server, "/")
	return &Client{base: base, display: base, hc: &http.Client{Timeout: timeout, Transport: &bearer{token: token, next: tr}}}, nil
}

// Credentials is a remote admin's credentials file (written by trapctl
// admin token create, JSON, mode 0600).
type Credentials struct {
	Name    string `json:"name"`
	Server  string `json:"server"` // https://HOST:8443
	Token   string `json:"token"`
	CertPEM string `json:"cert_pem"`
}

// ReadCredentials reads a credentials file; one that others than its owner
// may read is refused (like ssh's private keys).
func ReadCredentials(path string) (*Credentials, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("credentials %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("credentials %s: mode %v lets others read the token: chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("credentials %w", err)
	}
	var c Credentials
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("credentials %s: %w", path, err)
	}
	switch {
	case c.Token == "":
		return nil, fmt.Errorf("credentials %s: field token is empty", path)
	case c.Server == "":
		return nil, fmt.Errorf("credentials %s: field server is empty", path)
	case c.CertPEM == "":
		return nil, fmt.Errorf("credentials %s: field cert_pem is empty", path)
	}
	return &c, nil
}

// WriteCredentials writes c to path, mode 0600; an existing file is not
// overwritten.
func WriteCredentials(path string, c *Credentials) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("credentials %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("credentials %s: %w", path, err)
	}
	return f.Close()
}

// Target says how to reach bootsrv; Connect picks the credential.
type Target struct {
	// Server is --server / $TRAPCTL_SERVER: unix:///PATH, https://... or
	// http://... (public routes only); "" picks below.
	Server string
	// Credentials is --credentials / $TRAPCTL_CREDENTIALS: a credentials
	// file (its server is used when Server is "").
	Credentials string
	// Socket is the local admin socket tried when neither is set
	// (api.DefaultAdminSocket), and Fallback the URL used when it does not
	// exist either.
	Socket, Fallback string
	// HTTP gives the timeout (nil: none).
	HTTP *http.Client
}

// Connect returns a client for t: a credentials file if given (its token
// over https with its pinned certificate, to Server if that is https://,
// else to the file's server), else Server as given, else the local admin
// socket if it exists, else Fallback.
func Connect(t Target) (*Client, error) {
	hc := t.HTTP
	if hc == nil {
		hc = &http.Client{}
	}
	if t.Credentials != "" {
		c, err := ReadCredentials(t.Credentials)
		if err != nil {
			return nil, err
		}
		server := t.Server
		if server == "" || strings.HasPrefix(server, "unix://") {
			// A unix:// server (an exported TRAPCTL_SERVER on bootsrv's
			// host) does not carry tokens: the file's server does.
			server = c.Server
		}
		cl, err := NewToken(server, c.Token, []byte(c.CertPEM), hc)
		if err != nil {
			return nil, fmt.Errorf("credentials %s: %w", t.Credentials, err)
		}
		return cl, nil
	}
	if t.Server != "" {
		return New(t.Server, hc), nil
	}
	if t.Socket != "" {
		if fi, err := os.Stat(t.Socket); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return New("unix://"+t.Socket, hc), nil
		}
	}
	if t.Fallback == "" {
		return nil, errors.New("no bootsrv to talk to: give --server")
	}
	return New(t.Fallback, hc), nil
}

// pemDER is the DER of the first certificate in certPEM.
func pemDER(certPEM []byte) []byte {
	for rest := certPEM; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil
		}
		if b.Type == "CERTIFICATE" {
			return b.Bytes
		}
	}
}
