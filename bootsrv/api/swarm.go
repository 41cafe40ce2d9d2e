package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anacrolix/torrent/metainfo"
	"golang.org/x/time/rate"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/bootsrv/images"
	"github.com/disklesstrap/disklesstrap/bootsrv/swarm"
	"github.com/disklesstrap/disklesstrap/manifest"
)

// SwarmConfig is bootsrv's peer-to-peer image distribution: every image in
// the registry gets a .torrent (cached as DATA/images/NAME.torrent), the
// tracker answers for it and the seeder seeds it from its file. Nodes whose
// transport attribute is "torrent" get a manifest pointing at
// BASE/images/NAME.torrent, whose announce URL is BASE/announce and whose
// web seed (BEP 19) is BASE/images/NAME.
type SwarmConfig struct {
	Tracker *swarm.Tracker
	Seeder  *swarm.Seeder
	// Limiter, if set, paces web seed answers (Range requests on
	// /images/NAME) too; give the seeder the same one so --seed-rate caps
	// bootsrv's whole swarm egress. Whole-file GETs (transport http) are
	// not capped.
	Limiter *rate.Limiter
	// AnnounceURL is the tracker URL in the seeder's own copy of each
	// torrent: bootsrv's address as the nodes reach it, so the tracker
	// lists the seeder at an address peers can connect to.
	AnnounceURL string
}

// swarmImage is one image the swarm distributes.
type swarmImage struct {
	rec     images.Record
	mi      *metainfo.MetaInfo
	ih      metainfo.Hash
	info    metainfo.Info
	webSeed atomic.Int64 // bytes served as the web seed
}

// swarmState is the API's part of the swarm: which images are seeded.
type swarmState struct {
	opMu sync.Mutex // serializes add/remove (hashing happens under it)
	mu   sync.Mutex
	imgs map[string]*swarmImage
}

// torrentComment marks a cached .torrent with the image's SHA-256, so a
// replaced image is never seeded from a stale piece list.
func torrentComment(sha string) string { return "disklesstrap image sha256:" + sha }

// swarmStart seeds every image in the registry (in the background: hashing
// takes a while); until an image is ready its nodes get transport http.
func (a *API) swarmStart() {
	if a.cfg.Swarm == nil || a.cfg.Images == nil {
		return
	}
	go func() {
		recs, err := a.cfg.Images.List()
		if err != nil {
			a.log.Warn("swarm: image records", "err", err)
		}
		for _, rec := range recs {
			if err := a.swarmAdd(context.Background(), rec); err != nil {
				a.log.Error("swarm: image not seeded", "image", rec.Name, "err", err)
			}
		}
	}()
}

// swarmImage returns the seeded image called name.
func (a *API) swarmImage(name string) (*swarmImage, bool) {
	if a.cfg.Swarm == nil {
		return nil, false
	}
	a.swarm.mu.Lock()
	defer a.swarm.mu.Unlock()
	im, ok := a.swarm.imgs[name]
	return im, ok
}

// swarmAdd makes (or loads) the image's torrent, registers it with the
// tracker and seeds it. A replaced image's old torrent is dropped first.
func (a *API) swarmAdd(ctx context.Context, rec images.Record) error {
	sw := a.cfg.Swarm
	if sw == nil {
		return nil
	}
	a.swarm.opMu.Lock()
	defer a.swarm.opMu.Unlock()
	if old, ok := a.swarmImage(rec.Name); ok {
		if old.rec.SHA256 == rec.SHA256 && old.rec.Format == rec.Format {
			return nil
		}
		a.swarmDrop(old)
	}
	path := a.cfg.Images.Path(rec)
	cache := a.torrentCachePath(rec.Name)
	start := time.Now()
	mi, cached := loadCachedTorrent(cache, rec, sw.AnnounceURL)
	if mi == nil {
		var err error
		if mi, err = a.makeTorrent(rec, path, cache); err != nil {
			return err
		}
	}
	ih := mi.HashInfoBytes()
	sw.Tracker.Register(ih, rec.Name)
	err := sw.Seeder.Add(ctx, mi, path)
	if err != nil && cached {
		// A cache that no longer matches the file: hash again.
		a.log.Warn("swarm: cached torrent does not match the image; rehashing", "image", rec.Name, "err", err)
		sw.Tracker.Unregister(ih)
		if mi, err = a.makeTorrent(rec, path, cache); err != nil {
			return err
		}
		ih = mi.HashInfoBytes()
		sw.Tracker.Register(ih, rec.Name)
		err = sw.Seeder.Add(ctx, mi, path)
	}
	if err != nil {
		sw.Tracker.Unregister(ih)
		return fmt.Errorf("swarm: seed image %s: %w", rec.Name, err)
	}
	info, err := mi.UnmarshalInfo()
	if err != nil {
		return fmt.Errorf("swarm: image %s: %w", rec.Name, err)
	}
	a.swarm.mu.Lock()
	a.swarm.imgs[rec.Name] = &swarmImage{rec: rec, mi: mi, ih: ih, info: info}
	a.swarm.mu.Unlock()
	a.log.Info("swarm: seeding image", "image", rec.Name, "infohash", ih.HexString(), "pieces", info.NumPieces(),
		"piece_length", info.PieceLength, "cached_torrent", cached, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// swarmRemove stops seeding the image called name and deletes its cached
// torrent.
func (a *API) swarmRemove(name string) {
	if a.cfg.Swarm == nil {
		return
	}
	a.swarm.opMu.Lock()
	defer a.swarm.opMu.Unlock()
	if im, ok := a.swarmImage(name); ok {
		a.swarmDrop(im)
	}
	if err := os.Remove(a.torrentCachePath(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		a.log.Warn("swarm: cached torrent", "image", name, "err", err)
	}
}

// swarmDrop forgets im (opMu held).
func (a *API) swarmDrop(im *swarmImage) {
	sw := a.cfg.Swarm
	if err := sw.Seeder.Remove(im.ih); err != nil && !errors.Is(err, swarm.ErrUnknownTorrent) {
		a.log.Warn("swarm: remove", "image", im.rec.Name, "err", err)
	}
	sw.Tracker.Unregister(im.ih)
	a.swarm.mu.Lock()
	if a.swarm.imgs[im.rec.Name] == im {
		delete(a.swarm.imgs, im.rec.Name)
	}
	a.swarm.mu.Unlock()
	a.log.Info("swarm: stopped seeding image", "image", im.rec.Name, "infohash", im.ih.HexString())
}

func (a *API) torrentCachePath(name string) string {
	return filepath.Join(a.cfg.Images.Dir(), name+".torrent")
}

// makeTorrent hashes the image and writes the cache atomically.
func (a *API) makeTorrent(rec images.Record, path, cache string) (*metainfo.MetaInfo, error) {
	mi, err := swarm.MakeTorrent(path, rec.File(), "", a.cfg.Swarm.AnnounceURL)
	if err != nil {
		return nil, fmt.Errorf("swarm: image %s: %w", rec.Name, err)
	}
	mi.Comment = torrentComment(rec.SHA256)
	var b bytes.Buffer
	if err := mi.Write(&b); err != nil {
		return nil, fmt.Errorf("swarm: image %s: encode torrent: %w", rec.Name, err)
	}
	tmp := cache + ".tmp"
	if err := os.WriteFile(tmp, b.Bytes(), 0o644); err == nil {
		err = os.Rename(tmp, cache)
		if err != nil {
			os.Remove(tmp)
			a.log.Warn("swarm: caching torrent", "file", cache, "err", err)
		}
	} else {
		a.log.Warn("swarm: caching torrent", "file", tmp, "err", err)
	}
	return mi, nil
}

// loadCachedTorrent reads a cached torrent that belongs to rec (same
// SHA-256, file name and size); nil when there is none.
func loadCachedTorrent(cache string, rec images.Record, announce string) (*metainfo.MetaInfo, bool) {
	mi, err := metainfo.LoadFromFile(cache)
	if err != nil || mi.Comment != torrentComment(rec.SHA256) {
		return nil, false
	}
	info, err := mi.UnmarshalInfo()
	if err != nil || info.Name != rec.File() || info.TotalLength() != rec.Size || info.PieceLength != swarm.PieceLength(rec.Size) {
		return nil, false
	}
	mi.Announce = announce
	mi.AnnounceList = nil
	return mi, true
}

// nodeTorrent renders the image's torrent for the nodes of the request's
// base URL: announce BASE/announce, web seed BASE/images/NAME. The info
// dictionary (and so the info-hash) is the seeder's.
func nodeTorrent(im *swarmImage, base string) ([]byte, error) {
	mi := *im.mi
	mi.Announce = base + "/announce"
	mi.AnnounceList = nil
	mi.UrlList = metainfo.UrlList{base + "/images/" + im.rec.Name}
	var b bytes.Buffer
	if err := mi.Write(&b); err != nil {
		return nil, fmt.Errorf("torrent of image %s: %w", im.rec.Name, err)
	}
	return b.Bytes(), nil
}

// torrentFile serves GET /images/NAME.torrent.
func (a *API) torrentFile(w http.ResponseWriter, r *http.Request, im *swarmImage) error {
	b, err := nodeTorrent(im, a.cfg.BaseURL(r))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-bittorrent")
	w.Header().Set("X-Torrent-Infohash", im.ih.HexString())
	_, err = w.Write(b)
	return err
}

// imageTorrentName splits "NAME.torrent" when NAME is a seeded image.
func (a *API) imageTorrentName(name string) (*swarmImage, bool) {
	base, ok := strings.CutSuffix(name, ".torrent")
	if !ok {
		return nil, false
	}
	return a.swarmImage(base)
}

// webSeedWriter wraps the answer to a Range request for a seeded image
// (a torrent client using the web seed): bytes are counted for the swarm
// stats and paced by the swarm's limiter.
func (a *API) webSeedWriter(w http.ResponseWriter, r *http.Request, name string) http.ResponseWriter {
	if r.Header.Get("Range") == "" {
		return w
	}
	im, ok := a.swarmImage(name)
	if !ok {
		return w
	}
	return &webSeedWriter{ResponseWriter: w, ctx: r.Context(), lim: a.cfg.Swarm.Limiter, n: &im.webSeed}
}

type webSeedWriter struct {
	http.ResponseWriter
	ctx context.Context
	lim *rate.Limiter
	n   *atomic.Int64
}

func (w *webSeedWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		chunk := min(len(p), 32<<10)
		if w.lim != nil && w.lim.Limit() != rate.Inf {
			chunk = min(chunk, max(w.lim.Burst(), 1))
			if err := w.lim.WaitN(w.ctx, chunk); err != nil {
				return n, fmt.Errorf("web seed rate limit: %w", err)
			}
		}
		k, err := w.ResponseWriter.Write(p[:chunk])
		n += k
		w.n.Add(int64(k))
		if err != nil {
			return n, err
		}
		p = p[chunk:]
	}
	return n, nil
}

// ReadFrom hides the underlying ReadFrom (sendfile), which would bypass
// the count and the limiter.
func (w *webSeedWriter) ReadFrom(r io.Reader) (int64, error) {
	return io.CopyBuffer(struct{ io.Writer }{w}, r, make([]byte, 32<<10))
}

// swarmFields adds the torrent of a seeded image to its API record.
func (a *API) swarmFields(im *api.Image, r *http.Request) {
	s, ok := a.swarmImage(im.Name)
	if !ok || s.rec.SHA256 != im.SHA256 {
		return
	}
	im.InfoHash = s.ih.HexString()
	im.Torrent = a.cfg.BaseURL(r) + "/images/" + im.Name + ".torrent"
	im.PieceLength = s.info.PieceLength
}

// torrentTransport switches m's image to transport torrent when bootsrv
// seeds it; otherwise the node fetches over http (logged, not a problem:
// the image is there, only slower to spread).
func (a *API) torrentTransport(m *manifest.Manifest, node string) {
	im, ok := a.swarmImage(m.Image.Name)
	switch {
	case a.cfg.Swarm == nil:
		a.log.Warn("transport torrent: bootsrv does not seed images (no --torrent-listen); node fetches over http", "node", node, "image", m.Image.Name)
		return
	case !ok || im.rec.SHA256 != m.Image.SHA256:
		a.log.Warn("transport torrent: image not seeded yet; node fetches over http", "node", node, "image", m.Image.Name)
		return
	}
	m.Image.Transport = manifest.TransportTorrent
	m.Image.Torrent = &manifest.ImageTorrent{
		URL:      m.Server + "/images/" + m.Image.Name + ".torrent",
		InfoHash: im.ih.HexString(),
	}
}
