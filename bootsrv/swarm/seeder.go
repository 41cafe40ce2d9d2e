package swarm

import (
	"bytes"
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/storage"
	"golang.org/x/time/rate"
)

// SeederConfig configures a Seeder.
type SeederConfig struct {
	// Listen is the peer-wire TCP address, e.g. 198.18.0.1:6881. A zero
	// port picks one on the first Start and keeps it across restarts.
	Listen netip.AddrPort
	// UploadLimit caps the seeder's upload in bytes per second (0: none).
	UploadLimit int64
	// UploadLimiter, if set, is used instead of UploadLimit; share it with
	// the web seed to cap bootsrv's total image egress.
	UploadLimiter *rate.Limiter
	// MaxConns caps the peer connections per torrent (default 50).
	MaxConns int
	// DisableSuperSeed makes the seeder announce every piece to every peer
	// at once, as plain BitTorrent does. By default it super-seeds (see
	// superseed.go): each peer is told of a few pieces at a time, the ones
	// sent least often, so peers booting together fetch different pieces
	// from it and trade the rest.
	DisableSuperSeed bool
	// Log is the logger; default slog.Default().
	Log *slog.Logger
}

// Seeder seeds registered images from their files, in place.
type Seeder struct {
	cfg SeederConfig
	lim *rate.Limiter

	mu      sync.Mutex
	cl      *torrent.Client
	ln      net.Listener // super-seeding listener, closed with cl
	port    uint16
	images  map[metainfo.Hash]*seeded
	stopped bool

	// supers is the super-seeding policy per image. Its own lock: the
	// connection wrappers look it up while s.mu may be held by Stop.
	supersMu sync.Mutex
	supers   map[metainfo.Hash]*superSeed
}

type seeded struct {
	mi   *metainfo.MetaInfo
	path string
	// completion survives Stop/Start so a restart does not rehash.
	completion storage.PieceCompletion
	t          *torrent.Torrent
	// uploaded before the last Stop.
	uploadedBefore int64
}

// NewSeeder starts a seeder with no images.
func NewSeeder(cfg SeederConfig) (*Seeder, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	s := &Seeder{cfg: cfg, images: map[metainfo.Hash]*seeded{}, port: cfg.Listen.Port(), supers: map[metainfo.Hash]*superSeed{}}
	s.lim = cfg.UploadLimiter
	if s.lim == nil {
		s.lim = rate.NewLimiter(rate.Inf, 0)
		if cfg.UploadLimit > 0 {
			s.lim = rate.NewLimiter(rate.Limit(cfg.UploadLimit), burstFor(cfg.UploadLimit))
		}
	}
	if err := s.Start(); err != nil {
		return nil, err
	}
	return s, nil
}

// burstFor is the token bucket size for a cap: at least one 1 MiB request
// (the library's MaxAllocPeerRequestDataPerConn), at most 1/4 s of traffic
// above that, so short bursts do not overshoot the cap by much.
func burstFor(limit int64) int {
	return int(max(1<<20, limit/4))
}

// Addr is the peer-wire address the seeder listens on.
func (s *Seeder) Addr() netip.AddrPort {
	s.mu.Lock()
	defer s.mu.Unlock()
	return netip.AddrPortFrom(s.cfg.Listen.Addr(), s.port)
}

// Start (re)starts the client and re-adds every registered image. Images
// verified before are not hashed again.
func (s *Seeder) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cl != nil {
		return nil
	}
	cfg := clientConfig(netip.AddrPortFrom(s.cfg.Listen.Addr(), s.port), s.cfg.Log)
	cfg.UploadRateLimiter = s.lim
	if s.cfg.MaxConns > 0 {
		cfg.EstablishedConnsPerTorrent = s.cfg.MaxConns
	}
	var ln net.Listener
	if !s.cfg.DisableSuperSeed {
		// The peer-wire sockets are ours, wrapped (superwire.go).
		cfg.DisableTCP = true
		var err error
		ln, err = net.Listen("tcp", net.JoinHostPort(addrHost(s.cfg.Listen.Addr()), fmt.Sprint(s.port)))
		if err != nil {
			return fmt.Errorf("seeder: start: listen on %s: %w", s.cfg.Listen, err)
		}
	}
	cl, err := torrent.NewClient(cfg)
	if err != nil {
		if ln != nil {
			ln.Close()
		}
		return fmt.Errorf("seeder: start on %s: %w", s.cfg.Listen, err)
	}
	if ln != nil {
		cl.AddListener(superListener{Listener: ln, lookup: s.superFor})
		d := &superDialer{lookup: s.superFor}
		if ip := s.cfg.Listen.Addr(); ip.IsValid() && !ip.IsUnspecified() {
			d.d.LocalAddr = &net.TCPAddr{IP: ip.AsSlice()}
		}
		cl.AddDialer(d)
	}
	s.cl, s.ln, s.stopped = cl, ln, false
	s.port = uint16(cl.LocalPort())
	for ih, im := range s.images {
		t, err := s.addLocked(context.Background(), im)
		if err != nil {
			s.cfg.Log.Error("seeder: re-adding image", "infohash", ih.HexString(), "path", im.path, "err", err)
			continue
		}
		im.t = t
	}
	return nil
}

// Stop closes the client: peers lose the seeder until Start. Registered
// images are kept.
func (s *Seeder) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cl == nil {
		return
	}
	for _, im := range s.images {
		if im.t != nil {
			st := im.t.Stats()
			im.uploadedBefore += st.BytesWrittenData.Int64()
			im.t = nil
		}
	}
	s.cl.Close()
	if s.ln != nil {
		s.ln.Close()
	}
	s.cl, s.ln, s.stopped = nil, nil, true
}

// Close stops the seeder for good.
func (s *Seeder) Close() { s.Stop() }

// Add registers the image at path, described by mi, verifies the file
// against every piece hash, and seeds it. It fails if any piece is wrong:
// the seeder never downloads into an image file.
func (s *Seeder) Add(ctx context.Context, mi *metainfo.MetaInfo, path string) error {
	ih := mi.HashInfoBytes()
	info, err := mi.UnmarshalInfo()
	if err != nil {
		return fmt.Errorf("seeder: add %s: bad torrent: %w", path, err)
	}
	if info.IsDir() {
		return fmt.Errorf("seeder: add %s: multi-file torrent not supported", path)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.images[ih]; ok {
		return fmt.Errorf("seeder: add %s: info-hash %s already seeded", path, ih.HexString())
	}
	if s.cl == nil {
		return fmt.Errorf("seeder: add %s: seeder stopped", path)
	}
	im := &seeded{mi: mi, path: path, completion: storage.NewMapPieceCompletion()}
	t, err := s.addLocked(ctx, im)
	if err != nil {
		return err
	}
	im.t = t
	s.images[ih] = im
	if !s.cfg.DisableSuperSeed {
		s.supersMu.Lock()
		s.supers[ih] = newSuperSeed(info.NumPieces(), info.PieceLength, info.TotalLength())
		s.supersMu.Unlock()
	}
	return nil
}

// superFor is the super-seeding policy for ih, nil if none.
func (s *Seeder) superFor(ih metainfo.Hash) *superSeed {
	s.supersMu.Lock()
	defer s.supersMu.Unlock()
	return s.supers[ih]
}

func (s *Seeder) addLocked(ctx context.Context, im *seeded) (*torrent.Torrent, error) {
	spec, err := torrent.TorrentSpecFromMetaInfoErr(im.mi)
	if err != nil {
		return nil, fmt.Errorf("seeder: add %s: %w", im.path, err)
	}
	dir, base := filepath.Split(im.path)
	if dir == "" {
		dir = "."
	}
	spec.Storage = storage.NewFileOpts(storage.NewFileClientOpts{
		ClientBaseDir:   filepath.Clean(dir),
		FilePathMaker:   func(storage.FilePathMakerOpts) string { return base },
		PieceCompletion: im.completion,
		UsePartFiles:    falseOpt,
		Logger:          s.cfg.Log,
	})
	spec.Webseeds = nil
	spec.DisallowDataDownload = true
	spec.DisableInitialPieceCheck = true
	// Verify the file against the piece hashes ourselves and tell the
	// library through our piece-completion store: the library's own check
	// updates its completion state asynchronously, so reading it right after
	// VerifyData is racy (a good image was once refused under load).
	if err := verifyPieces(ctx, im); err != nil {
		return nil, err
	}
	t, _, err := s.cl.AddTorrentSpec(spec)
	if err != nil {
		return nil, fmt.Errorf("seeder: add %s: %w", im.path, err)
	}
	return t, nil
}

// Remove stops seeding ih and forgets it.
func (s *Seeder) Remove(ih metainfo.Hash) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	im, ok := s.images[ih]
	if !ok {
		return fmt.Errorf("seeder: remove %s: %w", ih.HexString(), ErrUnknownTorrent)
	}
	if im.t != nil {
		im.t.Drop()
	}
	delete(s.images, ih)
	s.supersMu.Lock()
	delete(s.supers, ih)
	s.supersMu.Unlock()
	return nil
}

// ErrUnknownTorrent is returned for an info-hash the seeder does not seed.
var ErrUnknownTorrent = errors.New("unknown torrent")

// SeedStats is one seeded image.
type SeedStats struct {
	InfoHash string `json:"infohash"`
	Name     string `json:"name"`
	Path     string `json:"path"`
	Size     int64  `json:"size"`
	Uploaded int64  `json:"uploaded"` // payload bytes, across restarts
	Peers    int    `json:"peers"`    // connected peers now
	Running  bool   `json:"running"`
}

// Stats returns every seeded image, sorted by name.
func (s *Seeder) Stats() []SeedStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SeedStats, 0, len(s.images))
	for ih, im := range s.images {
		info, _ := im.mi.UnmarshalInfo()
		st := SeedStats{InfoHash: ih.HexString(), Name: info.Name, Path: im.path, Size: info.TotalLength(), Uploaded: im.uploadedBefore}
		if im.t != nil {
			ts := im.t.Stats()
			st.Uploaded += ts.BytesWrittenData.Int64()
			st.Peers = ts.ActivePeers
			st.Running = true
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// verifyPieces hashes the image piece by piece, compares with the torrent
// and marks every piece complete in im.completion. Any mismatch is an error
// naming how many bytes are wrong.
func verifyPieces(ctx context.Context, im *seeded) error {
	info, err := im.mi.UnmarshalInfo()
	if err != nil {
		return fmt.Errorf("seeder: add %s: %w", im.path, err)
	}
	f, err := os.Open(im.path)
	if err != nil {
		return fmt.Errorf("seeder: verify %s: %w", im.path, err)
	}
	defer f.Close()
	ih := im.mi.HashInfoBytes()
	buf := make([]byte, info.PieceLength)
	var bad int64
	for i := 0; i < info.NumPieces(); i++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("seeder: verify %s: %w", im.path, err)
		}
		p := info.Piece(i)
		n, err := io.ReadFull(f, buf[:p.Length()])
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("seeder: verify %s: piece %d: %w", im.path, i, err)
		}
		sum := sha1.Sum(buf[:n])
		ok := int64(n) == p.Length() && bytes.Equal(sum[:], p.V1Hash().Value.Bytes())
		if !ok {
			bad += p.Length()
		}
		if err := im.completion.Set(metainfo.PieceKey{InfoHash: ih, Index: i}, ok); err != nil {
			return fmt.Errorf("seeder: verify %s: %w", im.path, err)
		}
	}
	if bad > 0 {
		return fmt.Errorf("seeder: verify %s: %d of %d bytes do not match the torrent's piece hashes", im.path, bad, info.TotalLength())
	}
	return nil
}
