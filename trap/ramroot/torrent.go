package ramroot

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/nodeauth"
	"github.com/disklesstrap/disklesstrap/trap/plan"
	"github.com/disklesstrap/disklesstrap/trap/torrent/report"
)

// TorrentHelper is where initrd puts the BitTorrent helper
// (cmd/trap-torrent): the agent does not link the torrent library, it runs
// the helper and reads its progress lines.
const TorrentHelper = "/bin/trap-torrent"

// TorrentListen is the peer-wire address the helper listens on.
const TorrentListen = ":6881"

// stopTimeout bounds how long StopSeeding waits for the helper to exit
// after SIGTERM before it kills it.
const stopTimeout = 10 * time.Second

// seeding is the helper process that keeps seeding the image after the
// fetch step, until StopSeeding (right before switch_root).
var seeding struct {
	mu  sync.Mutex
	cur *helperProc
}

// helperProc is one running trap-torrent.
type helperProc struct {
	cmd   *exec.Cmd
	image string
	env   *plan.Env
	every time.Duration

	doneCh chan report.Line // the "done" line, once
	exited chan struct{}    // closed when the process has exited
	mu     sync.Mutex
	last   report.Line
	err    error // from an "error" line or the exit status
}

// fetchTorrent runs the helper for the image into dst and returns once the
// image is complete and verified; the helper goes on seeding.
func (s *Fetch) fetchTorrent(ctx context.Context, env *plan.Env, dst string) error {
	img := s.Image
	helper := s.Helper
	if helper == "" {
		helper = TorrentHelper
	}
	StopSeeding(env) // a previous attempt's helper (a retried step)
	args := []string{"--torrent", img.Torrent.URL, "--dest", dst, "--sha256", img.SHA256, "--listen", TorrentListen}
	if img.Torrent.InfoHash != "" {
		args = append(args, "--infohash", img.Torrent.InfoHash)
	}
	if img.Torrent.UploadLimit > 0 {
		args = append(args, "--upload-limit", strconv.FormatInt(img.Torrent.UploadLimit, 10))
	}
	if img.Torrent.DownloadLimit > 0 {
		args = append(args, "--download-limit", strconv.FormatInt(img.Torrent.DownloadLimit, 10))
	}
	every := s.Every
	if every <= 0 {
		every = 2 * time.Second
	}
	args = append(args, "--every", every.String())
	cmd := exec.Command(helper, args...)
	if env.AnnounceQuery != "" { // the tracker admits the node by it (nodeauth)
		cmd.Env = append(os.Environ(), nodeauth.AnnounceEnv+"="+env.AnnounceQuery)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("image %s: %s: %w", img.Name, helper, err)
	}
	cmd.Stderr = &logWriter{log: env.Logger().With("helper", "trap-torrent")}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("image %s: start %s: %w", img.Name, helper, err)
	}
	p := &helperProc{cmd: cmd, image: img.Name, env: env, every: every,
		doneCh: make(chan report.Line, 1), exited: make(chan struct{})}
	go p.read(out)
	env.Logger().Info("image torrent", "image", img.Name, "torrent", img.Torrent.URL, "pid", cmd.Process.Pid)

	select {
	case l := <-p.doneCh:
		if l.SHA256 != "" && l.SHA256 != img.SHA256 {
			p.stop()
			return fmt.Errorf("image %s: sha256 mismatch: got %s, want %s", img.Name, l.SHA256, img.SHA256)
		}
		seeding.mu.Lock()
		seeding.cur = p
		seeding.mu.Unlock()
		env.Logger().Info("image fetched over torrent; seeding until switch_root", "image", img.Name,
			"from_peers", l.Progress.FromPeers, "from_web", l.Progress.FromWeb, "ms", l.ElapsedMS)
		return nil
	case <-p.exited:
		return fmt.Errorf("image %s: torrent: %w", img.Name, p.failure())
	case <-ctx.Done():
		p.stop()
		return fmt.Errorf("image %s: torrent: %w", img.Name, ctx.Err())
	}
}

// read consumes the helper's output lines until it exits.
func (p *helperProc) read(r io.Reader) {
	defer close(p.exited)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var lastReport time.Time
	var lastUp int64 = -1
	for sc.Scan() {
		l, err := report.Parse(sc.Bytes())
		if err != nil {
			p.env.Logger().Warn("trap-torrent output", "err", err)
			continue
		}
		p.mu.Lock()
		p.last = l
		if l.Event == report.EventError {
			p.err = errors.New(l.Error)
		}
		p.mu.Unlock()
		now := time.Now()
		switch l.Event {
		case report.EventDone:
			p.event(l, "seeding")
			lastReport, lastUp = now, l.Progress.Uploaded
			p.doneCh <- l
		case report.EventProgress:
			if now.Sub(lastReport) >= p.every {
				p.event(l, "downloading")
				lastReport = now
			}
		case report.EventSeeding:
			// Only when something changed: a quiet seeder sends nothing.
			if l.Progress.Uploaded != lastUp && now.Sub(lastReport) >= p.every {
				p.event(l, "seeding")
				lastReport, lastUp = now, l.Progress.Uploaded
			}
		case report.EventStopped:
			p.event(l, "stopped")
		}
	}
	err := p.cmd.Wait()
	p.mu.Lock()
	if p.err == nil && err != nil {
		p.err = err
	}
	p.mu.Unlock()
}

// failure is why the helper ended without a finished download.
func (p *helperProc) failure() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	return errors.New("trap-torrent exited before the download completed")
}

// stop sends SIGTERM, waits for the exit (the final "stopped" line is
// reported on the way), and kills the helper if it takes too long.
func (p *helperProc) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(stopTimeout):
		p.env.Logger().Warn("trap-torrent did not stop; killing it", "pid", p.cmd.Process.Pid)
		p.cmd.Process.Kill()
		<-p.exited
	}
}

// event reports a progress event for l: Data carries the figures
// (percent, down, up, peers, ...), Message the short form that
// `trapctl status` shows ("45% 3 peers down 12.0 MiB up 4.0 MiB").
func (p *helperProc) event(l report.Line, state string) {
	if p.env.Report == nil {
		return
	}
	g := l.Progress
	pct := int64(g.Percent)
	data := map[string]string{
		"step": "image fetch", "image": p.image, "transport": manifest.TransportTorrent, "state": state,
		"percent": strconv.FormatInt(pct, 10), "done": strconv.FormatInt(g.Completed, 10),
		"total": strconv.FormatInt(g.Total, 10), "down": strconv.FormatInt(g.Downloaded, 10),
		"up": strconv.FormatInt(g.Uploaded, 10), "peers": strconv.Itoa(g.Peers),
		"from_peers": strconv.FormatInt(g.FromPeers, 10), "from_web": strconv.FormatInt(g.FromWeb, 10),
		"bad_pieces": strconv.FormatInt(g.BadPieces, 10),
	}
	if len(l.Banned) > 0 {
		data["banned"] = strings.Join(l.Banned, ",")
	}
	msg := fmt.Sprintf("%d%% %d peers down %s up %s", pct, g.Peers, humanBytes(g.Downloaded), humanBytes(g.Uploaded))
	if state != "downloading" {
		msg = state + ": " + msg
	}
	if g.WebSeeding {
		msg += " (web seed)"
	}
	node := ""
	if p.env.Manifest != nil {
		node = p.env.Manifest.Node
	}
	p.env.Report(manifest.Event{Node: node, Phase: manifest.PhaseProgress, Message: msg, Data: data})
}

// StopSeeding stops the torrent helper that seeds the image, if one runs,
// and reports its final figures (Luna's rule: a node seeds only while it
// is in the initramfs). The switch-root step calls it before it reports
// manifest.PhaseSwitchRoot, so the final event is flushed with the rest.
// env may be nil.
func StopSeeding(env *plan.Env) {
	seeding.mu.Lock()
	p := seeding.cur
	seeding.cur = nil
	seeding.mu.Unlock()
	if p == nil {
		return
	}
	p.stop()
	p.mu.Lock()
	last := p.last
	p.mu.Unlock()
	if env == nil {
		env = p.env
	}
	env.Logger().Info("stopped seeding", "image", p.image, "uploaded", last.Progress.Uploaded)
}

// Seeding reports whether a torrent helper is seeding (tests, `trap` CLI).
func Seeding() bool {
	seeding.mu.Lock()
	defer seeding.mu.Unlock()
	return seeding.cur != nil
}

// helperAvailable reports whether the helper binary exists.
func helperAvailable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// logWriter turns the helper's standard error into log records, a line
// each.
type logWriter struct {
	log *slog.Logger
	buf []byte
}

func (w *logWriter) Write(b []byte) (int, error) {
	w.buf = append(w.buf, b...)
	for {
		i := strings.IndexByte(string(w.buf), '\n')
		if i < 0 {
			break
		}
		if line := strings.TrimSpace(string(w.buf[:i])); line != "" {
			w.log.Warn(line)
		}
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > 8<<10 {
		w.log.Warn(string(w.buf))
		w.buf = w.buf[:0]
	}
	return len(b), nil
}
