package torrent

import (
	"fmt"
	"github.com/disklesstrap/disklesstrap/trap/torrent/report"
	"log/slog"
	"net/http"
	"time"
)

// Options configure Download.
type Options struct {
	// MetaInfo is the .torrent file's content; or leave it empty and set
	// MetaInfoURL.
	MetaInfo    []byte
	MetaInfoURL string
	// AnnounceQuery ("k=v&..."), if set, is appended to every tracker
	// URL of the torrent: the node's announce key (nodeauth).
	AnnounceQuery string
	// InfoHash, if set (hex), must match the torrent's v1 info-hash.
	InfoHash string
	// Dest is the file the image is written to (e.g. /run/image/os.squashfs).
	// An existing file is replaced.
	Dest string
	// ListenAddr is the peer-wire TCP address, "ip:port" (default ":0").
	// With a specific ip, tracker announces are sent from it too.
	ListenAddr string
	// Peers are known peers ("ip:port") added besides the tracker's.
	Peers []string
	// UploadLimit and DownloadLimit cap traffic in bytes/s (0: no cap).
	// The download cap applies to the web seed too.
	UploadLimit   int64
	DownloadLimit int64
	// SHA256 (hex), if set, is checked here once every piece hash has
	// passed; a mismatch fails the download.
	SHA256 string
	// WebSeedDelay: the torrent's web seeds (url-list) are used only once
	// peers have delivered nothing useful for this long, so booting nodes
	// do not all pull from bootsrv's HTTP server at once. 0 means
	// DefaultWebSeedDelay; negative means use them from the start.
	WebSeedDelay time.Duration
	// Progress, if set, is called every ProgressInterval (default 2 s)
	// until the download completes, then once more with Done set.
	Progress         func(Progress)
	ProgressInterval time.Duration
	// HTTPClient fetches MetaInfoURL (default: 30 s timeout).
	HTTPClient *http.Client
	// Log receives the library's errors; default slog.Default().
	Log *slog.Logger
}

// DefaultWebSeedDelay is Options.WebSeedDelay's default.
const DefaultWebSeedDelay = 5 * time.Second

// Progress is a snapshot of a download. It is defined in package report,
// the helper's line protocol, which the agent reads without linking the
// BitTorrent library.
type Progress = report.Progress

func (o *Options) validate() error {
	switch {
	case len(o.MetaInfo) == 0 && o.MetaInfoURL == "":
		return fmt.Errorf("torrent download: no metainfo and no metainfo URL")
	case o.Dest == "":
		return fmt.Errorf("torrent download: no destination file")
	case o.UploadLimit < 0 || o.DownloadLimit < 0:
		return fmt.Errorf("torrent download: negative rate limit")
	case o.SHA256 != "" && len(o.SHA256) != 64:
		return fmt.Errorf("torrent download: sha256 %q: want 64 hex digits", o.SHA256)
	}
	return nil
}
