package torrent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
)

// maxMetaInfo bounds a fetched .torrent (a 16 GiB image at 4 MiB pieces
// has an 80 KiB piece list).
const maxMetaInfo = 8 << 20

// Result is a finished download that is still seeding.
type Result struct {
	Path     string
	Size     int64
	InfoHash string
	// SHA256 is set when Options.SHA256 was (and matched).
	SHA256  string
	Elapsed time.Duration
	// At completion:
	FromPeers int64
	FromWeb   int64
	BadPieces int64

	cl    *torrent.Client
	t     *torrent.Torrent
	web   *webState
	store *mapStore
	once  sync.Once
}

// Stats is the live state of the seeding torrent (uploads keep growing
// until Stop).
func (r *Result) Stats() Progress { return snapshot(r.t, r.web) }

// BannedPeers lists the peer IPs the client banned (for bad data).
func (r *Result) BannedPeers() []string { return r.cl.BadPeerIPs() }

// Stop ends seeding and closes the client and its listener. Call it right
// before switch_root. Safe to call more than once.
func (r *Result) Stop() {
	r.once.Do(func() {
		r.cl.Close()
		<-r.cl.Closed()
		r.store.Close()
	})
}

// Download fetches the image described by o into o.Dest and returns once
// every piece is verified (and the SHA-256, when given, matches). The
// client keeps seeding until Result.Stop; on error nothing keeps running.
func Download(ctx context.Context, o Options) (_ *Result, err error) {
	start := time.Now()
	if err := o.validate(); err != nil {
		return nil, err
	}
	mi, err := loadMetaInfo(ctx, &o)
	if err != nil {
		return nil, err
	}
	ih := mi.HashInfoBytes()
	if o.InfoHash != "" && !strings.EqualFold(o.InfoHash, ih.HexString()) {
		return nil, fmt.Errorf("torrent download: info-hash %s, manifest says %s", ih.HexString(), o.InfoHash)
	}
	info, err := mi.UnmarshalInfo()
	if err != nil {
		return nil, fmt.Errorf("torrent download %s: bad info: %w", ih.HexString(), err)
	}
	if info.IsDir() {
		return nil, fmt.Errorf("torrent download %s: multi-file torrent not supported", ih.HexString())
	}
	dest, err := filepath.Abs(o.Dest)
	if err != nil {
		return nil, fmt.Errorf("torrent download: dest %s: %w", o.Dest, err)
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return nil, fmt.Errorf("torrent download: %w", err)
	}
	if err := os.Remove(dest); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("torrent download: replacing %s: %w", dest, err)
	}

	// Closed last on error: the client (closed by the next defer) is done
	// with it by then.
	store, err := newMapStore(dest, info.TotalLength())
	if err != nil {
		return nil, fmt.Errorf("torrent download %s: %w", ih.HexString(), err)
	}
	defer func() {
		if err != nil {
			store.Close()
		}
	}()

	cfg, shaped, err := clientConfig(&o)
	if err != nil {
		return nil, fmt.Errorf("torrent download: %w", err)
	}
	cl, err := torrent.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("torrent download: client on %s: %w", o.ListenAddr, err)
	}
	defer func() {
		if err != nil {
			cl.Close()
			<-cl.Closed()
		}
	}()
	if shaped != nil {
		if err := installShaping(cl, o.ListenAddr, shaped); err != nil {
			return nil, fmt.Errorf("torrent download: %w", err)
		}
	}

	spec, err := torrent.TorrentSpecFromMetaInfoErr(mi)
	if err != nil {
		return nil, fmt.Errorf("torrent download %s: %w", ih.HexString(), err)
	}
	spec.Storage = store
	spec.DisableInitialPieceCheck = true // a new file: nothing to check
	spec.ChunkSize = chunkSize
	web := &webState{urls: spec.Webseeds}
	if o.WebSeedDelay >= 0 {
		spec.Webseeds = nil
	} else {
		web.added = true
	}
	t, _, err := cl.AddTorrentSpec(spec)
	if err != nil {
		return nil, fmt.Errorf("torrent download %s: %w", ih.HexString(), err)
	}
	if peers, perr := parsePeers(o.Peers); perr != nil {
		return nil, fmt.Errorf("torrent download %s: %w", ih.HexString(), perr)
	} else if len(peers) > 0 {
		t.AddPeers(peers)
	}
	t.DownloadAll()

	if err := wait(ctx, t, web, &o); err != nil {
		return nil, fmt.Errorf("torrent download %s into %s: %w", info.Name, dest, err)
	}
	p := snapshot(t, web)
	r := &Result{
		Path: dest, Size: info.TotalLength(), InfoHash: ih.HexString(),
		FromPeers: p.FromPeers, FromWeb: p.FromWeb, BadPieces: p.BadPieces,
		cl: cl, t: t, web: web, store: store,
	}
	if o.SHA256 != "" {
		sum, err := fileSHA256(ctx, dest)
		if err != nil {
			return nil, fmt.Errorf("torrent download %s: %w", info.Name, err)
		}
		if !strings.EqualFold(sum, o.SHA256) {
			return nil, fmt.Errorf("torrent download %s: sha256 %s, want %s", info.Name, sum, o.SHA256)
		}
		r.SHA256 = sum
	}
	r.Elapsed = time.Since(start)
	return r, nil
}

// webState tracks the web seed fallback.
type webState struct {
	mu    sync.Mutex
	urls  []string
	added bool
}

func (w *webState) active() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.added && len(w.urls) > 0
}

// wait blocks until t is complete, adding the web seeds when peers stall
// and reporting progress.
func wait(ctx context.Context, t *torrent.Torrent, web *webState, o *Options) error {
	delay := o.WebSeedDelay
	if delay == 0 {
		delay = DefaultWebSeedDelay
	}
	every := o.ProgressInterval
	if every <= 0 {
		every = 2 * time.Second
	}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	lastPeerBytes, lastPeerProgress, lastReport := int64(0), time.Now(), time.Time{}
	done := t.Complete().On()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-done:
			if o.Progress != nil {
				p := snapshot(t, web)
				p.Done = true
				o.Progress(p)
			}
			return nil
		case now := <-tick.C:
			p := snapshot(t, web)
			if p.FromPeers > lastPeerBytes {
				lastPeerBytes, lastPeerProgress = p.FromPeers, now
			}
			web.mu.Lock()
			if !web.added && len(web.urls) > 0 && now.Sub(lastPeerProgress) >= delay {
				t.AddWebSeeds(web.urls)
				web.added = true
			}
			web.mu.Unlock()
			if o.Progress != nil && now.Sub(lastReport) >= every {
				lastReport = now
				o.Progress(p)
			}
		}
	}
}

func snapshot(t *torrent.Torrent, web *webState) Progress {
	st := t.Stats()
	p := Progress{
		Total:      t.Length(),
		Completed:  t.BytesCompleted(),
		FromPeers:  st.PeerConns.BytesReadUsefulData.Int64(),
		FromWeb:    st.WebSeeds.BytesReadUsefulData.Int64(),
		Uploaded:   st.BytesWrittenData.Int64(),
		Peers:      st.ActivePeers,
		Seeders:    st.ConnectedSeeders,
		BadPieces:  st.PiecesDirtiedBad.Int64(),
		WebSeeding: web.active(),
	}
	p.Downloaded = p.FromPeers + p.FromWeb
	if p.Total > 0 {
		p.Percent = 100 * float64(p.Completed) / float64(p.Total)
	}
	return p
}

func loadMetaInfo(ctx context.Context, o *Options) (*metainfo.MetaInfo, error) {
	b := o.MetaInfo
	if len(b) == 0 {
		hc := o.HTTPClient
		if hc == nil {
			hc = &http.Client{Timeout: 30 * time.Second}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.MetaInfoURL, nil)
		if err != nil {
			return nil, fmt.Errorf("torrent download: metainfo URL %q: %w", o.MetaInfoURL, err)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, fmt.Errorf("torrent download: fetching metainfo: %w", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("torrent download: fetching metainfo %s: %s", o.MetaInfoURL, resp.Status)
		}
		b, err = io.ReadAll(io.LimitReader(resp.Body, maxMetaInfo+1))
		if err != nil {
			return nil, fmt.Errorf("torrent download: fetching metainfo %s: %w", o.MetaInfoURL, err)
		}
		if len(b) > maxMetaInfo {
			return nil, fmt.Errorf("torrent download: metainfo %s larger than %d bytes", o.MetaInfoURL, maxMetaInfo)
		}
	}
	mi, err := metainfo.Load(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("torrent download: metainfo: %w", err)
	}
	if len(mi.InfoBytes) == 0 {
		return nil, fmt.Errorf("torrent download: metainfo has no info dictionary")
	}
	if o.AnnounceQuery != "" {
		addAnnounceQuery(mi, o.AnnounceQuery)
	}
	return mi, nil
}

// addAnnounceQuery appends q to every tracker URL of mi.
func addAnnounceQuery(mi *metainfo.MetaInfo, q string) {
	add := func(u string) string {
		if strings.Contains(u, "?") {
			return u + "&" + q
		}
		return u + "?" + q
	}
	if mi.Announce != "" {
		mi.Announce = add(mi.Announce)
	}
	for i := range mi.AnnounceList {
		for j := range mi.AnnounceList[i] {
			mi.AnnounceList[i][j] = add(mi.AnnounceList[i][j])
		}
	}
}

func parsePeers(ss []string) ([]torrent.PeerInfo, error) {
	var out []torrent.PeerInfo
	for _, s := range ss {
		ap, err := netip.ParseAddrPort(s)
		if err != nil || ap.Port() == 0 {
			return nil, fmt.Errorf("peer %q: want ip:port", s)
		}
		addr := &net.TCPAddr{IP: ap.Addr().Unmap().AsSlice(), Port: int(ap.Port())}
		out = append(out, torrent.PeerInfo{Addr: addr, Source: torrent.PeerSourceDirect})
	}
	return out, nil
}

func fileSHA256(ctx context.Context, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("sha256: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	buf := make([]byte, 1<<20)
	for {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		n, rerr := f.Read(buf)
		h.Write(buf[:n])
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return "", fmt.Errorf("sha256 %s: %w", path, rerr)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
