package ramroot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/plan"
)

// Fetch is the "image fetch" step: HTTP GET of the image into
// /run/dt/image, streamed to the file (never held in memory) while its
// SHA-256 is computed. A mismatch removes the file. A file already there
// with the right hash is kept (no download).
//
// With transport torrent the step runs the BitTorrent helper (Helper,
// default /bin/trap-torrent; see torrent.go) and returns once the image is
// complete and verified; the helper keeps seeding it to the other nodes
// until the switch-root step calls StopSeeding. Without the helper in the
// initramfs the step says so and falls back to HTTP.
//
// The download itself writes with package os, not through plan.Sys:
// plan.Sys.WriteFile takes a whole []byte, which an image is not.
type Fetch struct {
	Image manifest.Image
	// Root prefixes every path (tests); "" on a node.
	Root string
	// Client is the HTTP client; nil is http.DefaultClient.
	Client *http.Client
	// Every is the minimum time between progress events; 0 is 2 s.
	Every time.Duration
	// Helper is the torrent helper binary; "" is TorrentHelper.
	Helper string
}

func (s *Fetch) torrent() bool {
	return s.Image.Transport == manifest.TransportTorrent && s.Image.Torrent != nil
}

// Name implements plan.Step.
func (s *Fetch) Name() string { return "image fetch" }

// String implements plan.Step.
func (s *Fetch) String() string {
	size := "size unknown"
	if s.Image.Size > 0 {
		size = humanBytes(s.Image.Size)
	}
	if s.torrent() {
		return fmt.Sprintf("torrent %s -> %s (%s %s, sha256 %s, %s; web seed %s; seeds until switch-root)",
			s.Image.Torrent.URL, ImagePath, s.Image.Name, s.Image.Format, short(s.Image.SHA256), size, s.Image.URL)
	}
	return fmt.Sprintf("GET %s -> %s (%s %s, sha256 %s, %s)",
		s.Image.URL, ImagePath, s.Image.Name, s.Image.Format, short(s.Image.SHA256), size)
}

// Run implements plan.Step.
func (s *Fetch) Run(ctx context.Context, env *plan.Env) error {
	dst := s.Root + ImagePath
	switch s.Image.Transport {
	case "", manifest.TransportHTTP:
	case manifest.TransportTorrent:
		if s.Image.Torrent == nil || s.Image.Torrent.URL == "" {
			return fmt.Errorf("image %s: transport torrent without a torrent url", s.Image.Name)
		}
	default:
		return fmt.Errorf("image %s: transport %q not supported (http or torrent)", s.Image.Name, s.Image.Transport)
	}
	if got, err := fileSHA256(dst); err == nil && got == s.Image.SHA256 {
		env.Logger().Info("image already present", "image", s.Image.Name, "path", dst)
		return nil
	}
	if err := env.Sys.MkdirAll(filepath.Dir(dst)); err != nil {
		return fmt.Errorf("image %s: %w", s.Image.Name, err)
	}
	if s.torrent() {
		helper := s.Helper
		if helper == "" {
			helper = TorrentHelper
		}
		if helperAvailable(helper) {
			return s.fetchTorrent(ctx, env, dst)
		}
		msg := fmt.Sprintf("transport torrent: %s is not in this initramfs (trapctl initrd build --torrent); fetching over HTTP", helper)
		env.Logger().Warn(msg, "image", s.Image.Name)
		if env.Report != nil {
			env.Report(manifest.Event{Node: nodeName(env), Phase: manifest.PhaseProgress, Message: msg,
				Data: map[string]string{"step": s.Name(), "image": s.Image.Name, "transport": manifest.TransportHTTP}})
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.Image.URL, nil)
	if err != nil {
		return fmt.Errorf("image %s: %w", s.Image.Name, err)
	}
	client := s.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("image %s: %w", s.Image.Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("image %s: GET %s: %s", s.Image.Name, s.Image.URL, resp.Status)
	}
	total := s.Image.Size
	if total <= 0 {
		total = resp.ContentLength
	}
	part := dst + ".part"
	f, err := os.OpenFile(part, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("image %s: %w", s.Image.Name, err)
	}
	h := sha256.New()
	pw := &progressWriter{env: env, step: s.Name(), total: total, every: s.Every}
	if pw.every <= 0 {
		pw.every = 2 * time.Second
	}
	n, err := io.Copy(io.MultiWriter(f, h, pw), resp.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(part)
		return fmt.Errorf("image %s: download after %d bytes: %w", s.Image.Name, n, err)
	}
	pw.report(true)
	got := hex.EncodeToString(h.Sum(nil))
	if got != s.Image.SHA256 {
		os.Remove(part)
		os.Remove(dst)
		return fmt.Errorf("image %s: sha256 mismatch: got %s, want %s", s.Image.Name, got, s.Image.SHA256)
	}
	if err := os.Rename(part, dst); err != nil {
		os.Remove(part)
		return fmt.Errorf("image %s: %w", s.Image.Name, err)
	}
	env.Logger().Info("image fetched", "image", s.Image.Name, "bytes", n)
	return nil
}

// progressWriter reports manifest.PhaseProgress events at most every
// `every`, plus once at the end.
type progressWriter struct {
	env   *plan.Env
	step  string
	total int64
	done  int64
	every time.Duration
	last  time.Time
}

func (p *progressWriter) Write(b []byte) (int, error) {
	p.done += int64(len(b))
	p.report(false)
	return len(b), nil
}

func (p *progressWriter) report(final bool) {
	now := time.Now()
	if p.last.IsZero() {
		p.last = now // first event after `every`, not on the first write
	}
	if !final && now.Sub(p.last) < p.every {
		return
	}
	p.last = now
	if p.env.Report == nil {
		return
	}
	data := map[string]string{"step": p.step, "done": strconv.FormatInt(p.done, 10), "transport": manifest.TransportHTTP}
	msg := humanBytes(p.done)
	if p.total > 0 {
		data["total"] = strconv.FormatInt(p.total, 10)
		data["percent"] = strconv.FormatInt(p.done*100/p.total, 10)
		msg = data["percent"] + "% " + msg
	}
	p.env.Report(manifest.Event{Node: nodeName(p.env), Phase: manifest.PhaseProgress, Message: msg, Data: data})
}

func nodeName(env *plan.Env) string {
	if env.Manifest != nil {
		return env.Manifest.Node
	}
	return ""
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func short(sum string) string {
	if len(sum) > 12 {
		return sum[:12] + "…"
	}
	return sum
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
