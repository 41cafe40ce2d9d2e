// Package bootclient is the agent's side of bootsrv's node API: it fetches
// the node's manifest (GET /manifest/NODE, or /manifest?mac=MAC for an
// unknown node) with retries and capped exponential backoff, and reports
// events (POST /api/v1/events) best effort through a small queue that never
// blocks the boot on a dead server.
package bootclient

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/disklesstrap/disklesstrap/manifest"
)

// maxManifest bounds a manifest body.
const maxManifest = 4 << 20

// Fetcher fetches manifests. The zero value works with the defaults.
type Fetcher struct {
	// HTTP is the client; default: a client with Timeout per request.
	HTTP *http.Client
	// Timeout bounds one request. Default 10s.
	Timeout time.Duration
	// Attempts bounds the tries; 0 means until ctx is done.
	Attempts int
	// Backoff is the first delay, doubled up to MaxBackoff. Defaults 500ms, 10s.
	Backoff, MaxBackoff time.Duration
	Log                 *slog.Logger
	// Sleep waits between attempts; tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
}

// ManifestURL is the URL a node fetches its manifest from: by name, or by
// MAC when the node is unknown (empty name).
func ManifestURL(server, node string, mac net.HardwareAddr) (string, error) {
	server = strings.TrimRight(server, "/")
	if server == "" {
		return "", fmt.Errorf("manifest url: no server (dt.server missing from the kernel command line)")
	}
	if node != "" {
		return server + "/manifest/" + url.PathEscape(node), nil
	}
	if mac == nil {
		return "", fmt.Errorf("manifest url: neither a node name (dt.node) nor a MAC (BOOTIF)")
	}
	return server + "/manifest?mac=" + url.QueryEscape(mac.String()), nil
}

// Manifest fetches and decodes the manifest, retrying any failure (network,
// HTTP status, decoding) with backoff until Attempts or ctx runs out.
func (f *Fetcher) Manifest(ctx context.Context, server, node string, mac net.HardwareAddr) (*manifest.Manifest, error) {
	u, err := ManifestURL(server, node, mac)
	if err != nil {
		return nil, err
	}
	log := f.Log
	if log == nil {
		log = slog.Default()
	}
	sleep := f.Sleep
	if sleep == nil {
		sleep = Sleep
	}
	delay := orDefault(f.Backoff, 500*time.Millisecond)
	maxDelay := orDefault(f.MaxBackoff, 10*time.Second)
	var last error
	for i := 1; f.Attempts == 0 || i <= f.Attempts; i++ {
		m, err := f.get(ctx, u)
		if err == nil {
			return m, nil
		}
		last = err
		log.Warn("manifest fetch failed", "url", u, "attempt", i, "err", err)
		if ctx.Err() != nil || (f.Attempts != 0 && i == f.Attempts) {
			break
		}
		if sleep(ctx, delay) != nil {
			break
		}
		delay = min(delay*2, maxDelay)
	}
	if ctx.Err() != nil && last == nil {
		last = ctx.Err()
	}
	return nil, fmt.Errorf("fetch manifest %s: %w", u, last)
}

// Get fetches and decodes the manifest at u once.
func (f *Fetcher) Get(ctx context.Context, u string) (*manifest.Manifest, error) {
	return f.get(ctx, u)
}

func (f *Fetcher) get(ctx context.Context, u string) (*manifest.Manifest, error) {
	c := f.HTTP
	if c == nil {
		c = &http.Client{Timeout: orDefault(f.Timeout, 10*time.Second)}
	}
	ctx, cancel := context.WithTimeout(ctx, orDefault(f.Timeout, 10*time.Second))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxManifest))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %s: %s", resp.Status, firstLine(body))
	}
	return manifest.Decode(body)
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Sleep waits d or until ctx is done.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
