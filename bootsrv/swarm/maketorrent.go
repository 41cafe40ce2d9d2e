package swarm

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
)

// Piece length bounds used by PieceLength.
const (
	MinPieceLength = 256 << 10 // 256 KiB
	MaxPieceLength = 4 << 20   // 4 MiB
	// TargetMaxPieces is the piece count PieceLength stays at or below
	// while the piece length is under MaxPieceLength.
	TargetMaxPieces = 2048
)

// PieceLength chooses the piece length for an image of size bytes: the
// smallest power of two between 256 KiB and 4 MiB that yields at most 2048
// pieces. So images below 512 MiB get 256 KiB pieces, 1 GiB gets 512 KiB,
// 2 GiB 1 MiB, 4 GiB 2 MiB and 8 GiB and above 4 MiB (16 GiB: 4096 pieces).
// Images of 256 MiB to 16 GiB therefore have 1024-4096 pieces: small
// pieces spread quickly between booting peers, and the piece list (20
// bytes each) stays below 80 KiB.
func PieceLength(size int64) int64 {
	pl := int64(MinPieceLength)
	for pl < MaxPieceLength && (size+pl-1)/pl > TargetMaxPieces {
		pl *= 2
	}
	return pl
}

// MakeTorrent hashes the image at imagePath and returns a private
// single-file torrent named name (the file name a client stores it under)
// with announceURL as its tracker and webSeedURL as its BEP 19 web seed.
// webSeedURL must name the file itself (for a single-file torrent a URL
// ending in "/" would get the name appended); either URL may be empty.
func MakeTorrent(imagePath, name, webSeedURL, announceURL string) (*metainfo.MetaInfo, error) {
	if name == "" || name == "." || name == ".." || containsSlash(name) {
		return nil, fmt.Errorf("make torrent %s: invalid name %q", imagePath, name)
	}
	f, err := os.Open(imagePath)
	if err != nil {
		return nil, fmt.Errorf("make torrent: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("make torrent: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("make torrent %s: not a regular file", imagePath)
	}
	if st.Size() == 0 {
		return nil, fmt.Errorf("make torrent %s: empty file", imagePath)
	}
	private := true
	info := metainfo.Info{
		Name:        name,
		Length:      st.Size(),
		PieceLength: PieceLength(st.Size()),
		Private:     &private,
	}
	info.Pieces, err = metainfo.GeneratePieces(io.LimitReader(f, st.Size()), info.PieceLength, nil)
	if err != nil {
		return nil, fmt.Errorf("make torrent %s: hashing: %w", imagePath, err)
	}
	if got, want := len(info.Pieces)/20, info.NumPieces(); got != want {
		return nil, fmt.Errorf("make torrent %s: file changed while hashing (%d pieces, want %d)", imagePath, got, want)
	}
	mi := &metainfo.MetaInfo{
		Announce:     announceURL,
		CreatedBy:    "DisklessTrap bootsrv",
		CreationDate: time.Now().Unix(),
	}
	if webSeedURL != "" {
		mi.UrlList = metainfo.UrlList{webSeedURL}
	}
	mi.InfoBytes, err = encodeInfo(&info)
	if err != nil {
		return nil, fmt.Errorf("make torrent %s: %w", imagePath, err)
	}
	return mi, nil
}

func containsSlash(s string) bool {
	for _, c := range s {
		if c == '/' || c == '\\' || c == 0 {
			return true
		}
	}
	return false
}

func encodeInfo(info *metainfo.Info) ([]byte, error) {
	b, err := bencode.Marshal(info)
	if err != nil {
		return nil, fmt.Errorf("encoding info: %w", err)
	}
	return b, nil
}
