package bootclient

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/disklesstrap/disklesstrap/nodeauth"
)

// Privileged source ports a registration is sent from (nodeauth: only root
// can bind below 1024); 512.. leaves the well-known ports alone.
const (
	firstSecurePort = 512
	lastSecurePort  = nodeauth.MaxSecurePort
)

// SecureDial dials addr over TCP from a privileged source port of local
// (nil: any address), trying another port while the chosen one is taken.
func SecureDial(ctx context.Context, local net.IP, addr string) (net.Conn, error) {
	n := lastSecurePort - firstSecurePort + 1
	start := rand.N(n)
	var last error
	for i := range n {
		port := firstSecurePort + (start+i)%n
		d := net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: local, Port: port}}
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) && !errors.Is(err, syscall.EADDRNOTAVAIL) {
			return nil, err
		}
		last = err
	}
	return nil, fmt.Errorf("no free privileged source port in %d..%d: %w", firstSecurePort, lastSecurePort, last)
}

// Registrar registers a boot key with bootsrv.
type Registrar struct {
	// Local is the source address (nil: the kernel's choice).
	Local net.IP
	// Attempts bounds the tries (default 10); Backoff is the first delay
	// (default 500ms, doubled up to 5s). A 4xx answer is not retried.
	Attempts int
	Backoff  time.Duration
	Sleep    func(ctx context.Context, d time.Duration) error
}

// RegisterError is a refusal by bootsrv (a 4xx answer): retrying the same
// registration cannot help.
type RegisterError struct {
	Status string
	Msg    string
}

func (e *RegisterError) Error() string { return "bootsrv refused: " + e.Status + ": " + e.Msg }

// Register registers the public half of priv as the key of node's (or, for
// an unknown node, MAC mac's) current boot at server, from a privileged
// source port, and returns the signer for the boot's requests.
func (g *Registrar) Register(ctx context.Context, server, node string, mac net.HardwareAddr, priv ed25519.PrivateKey) (*nodeauth.Signer, error) {
	server = strings.TrimRight(server, "/")
	if server == "" || mac == nil {
		return nil, errors.New("register boot key: no server or no MAC")
	}
	reg := nodeauth.Registration{Node: node, MAC: mac.String(), Key: priv.Public().(ed25519.PublicKey)}
	body, err := json.Marshal(reg)
	if err != nil {
		return nil, err
	}
	as := node
	if as == "" {
		as = reg.MAC
	}
	tr := &http.Transport{
		Proxy:             nil,
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			return SecureDial(ctx, g.Local, addr)
		},
	}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	attempts := g.Attempts
	if attempts <= 0 {
		attempts = 10
	}
	sleep := g.Sleep
	if sleep == nil {
		sleep = Sleep
	}
	delay := orDefault(g.Backoff, 500*time.Millisecond)
	signer := nodeauth.NewSigner(priv, as, nodeauth.RegisterBoot)
	for i := 1; ; i++ {
		var out nodeauth.Registered
		out, err = g.post(ctx, hc, server, signer, body)
		if err == nil {
			return nodeauth.NewSigner(priv, out.Node, out.Boot), nil
		}
		var re *RegisterError
		if errors.As(err, &re) || i >= attempts || ctx.Err() != nil {
			break
		}
		if sleep(ctx, delay) != nil {
			break
		}
		delay = min(2*delay, 5*time.Second)
	}
	return nil, fmt.Errorf("register boot key at %s%s: %w", server, nodeauth.RegisterPath, err)
}

func (g *Registrar) post(ctx context.Context, hc *http.Client, server string, s *nodeauth.Signer, body []byte) (nodeauth.Registered, error) {
	var out nodeauth.Registered
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, server+nodeauth.RegisterPath, bytes.NewReader(body))
	if err != nil {
		return out, err
	}
	req.Header.Set("Content-Type", "application/json")
	s.Sign(req, body)
	resp, err := hc.Do(req)
	if err != nil {
		return out, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return out, err
	}
	if resp.StatusCode/100 == 4 {
		return out, &RegisterError{Status: resp.Status, Msg: apiError(b)}
	}
	if resp.StatusCode != http.StatusOK {
		return out, fmt.Errorf("HTTP %s: %s", resp.Status, apiError(b))
	}
	if err := json.Unmarshal(b, &out); err != nil || out.Node == "" || out.Boot == "" {
		return out, fmt.Errorf("answer %.100q is not a registration", b)
	}
	return out, nil
}

// apiError is the message of an api.Error body, else its first line.
func apiError(b []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(b, &e) == nil && e.Error != "" {
		return e.Error
	}
	return firstLine(b)
}

// RegisterOSToken makes the booted OS's token, registers its hash with a
// request signed by s, and returns the token (for nodeauth.OSTokenFile).
func RegisterOSToken(ctx context.Context, server string, s *nodeauth.Signer) (string, error) {
	tok, err := nodeauth.NewToken()
	if err != nil {
		return "", err
	}
	body, _ := json.Marshal(nodeauth.OSToken{SHA256: nodeauth.TokenHash(tok)})
	u := strings.TrimRight(server, "/") + nodeauth.OSTokenPath
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	s.Sign(req, body)
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return "", fmt.Errorf("register OS token: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return "", fmt.Errorf("register OS token at %s: HTTP %s: %s", u, resp.Status, apiError(b))
	}
	return tok, nil
}
