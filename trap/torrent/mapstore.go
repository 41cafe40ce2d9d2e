package torrent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/storage"
	"golang.org/x/sys/unix"
)

// mapStore is the download's storage: the destination file itself, mapped
// into memory once. Chunks from peers are copied straight into the file's
// pages (no open/pwrite/close per 16 KiB block, as the library's file
// storage does), a piece is hashed from the mapping without a read copy,
// and uploads read from it too. Piece completion is a bitmap: the file is
// new for every download, so nothing needs to survive the process.
//
// The destination lives on tmpfs on a node (/run/image), where the mapping
// is the file's own page cache: no second copy of the image in memory.
type mapStore struct {
	path string

	// mu guards the mapping: every copy in or out holds it for reading,
	// Close for writing, so nothing touches unmapped memory.
	mu   sync.RWMutex
	f    *os.File
	data []byte

	doneMu sync.Mutex
	done   []bool // per piece
}

// newMapStore creates (or truncates) path for an image of size bytes and
// maps it.
func newMapStore(path string, size int64) (*mapStore, error) {
	if size <= 0 || int64(int(size)) != size {
		return nil, fmt.Errorf("storage %s: cannot map %d bytes", path, size)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	// Allocate the file's pages now, in one call, and map them all
	// (MAP_POPULATE): copying a block in is then a plain memmove, not a
	// page fault per 4 KiB. A filesystem without fallocate gets a sparse
	// file instead. A full tmpfs fails here, before any download.
	if err := unix.Fallocate(int(f.Fd()), 0, 0, size); err != nil {
		if errors.Is(err, unix.ENOSPC) {
			f.Close()
			return nil, fmt.Errorf("storage %s: %d bytes: %w", path, size, err)
		}
		if err := f.Truncate(size); err != nil {
			f.Close()
			return nil, fmt.Errorf("storage %s: size %d: %w", path, size, err)
		}
	}
	data, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("storage %s: mmap %d bytes: %w", path, size, err)
	}
	return &mapStore{path: path, f: f, data: data}, nil
}

// OpenTorrent implements storage.ClientImpl for the one torrent the store
// was made for.
func (s *mapStore) OpenTorrent(_ context.Context, info *metainfo.Info, _ metainfo.Hash) (storage.TorrentImpl, error) {
	if info.TotalLength() != int64(len(s.data)) {
		return storage.TorrentImpl{}, fmt.Errorf("storage %s: torrent is %d bytes, file mapped for %d", s.path, info.TotalLength(), len(s.data))
	}
	s.doneMu.Lock()
	s.done = make([]bool, info.NumPieces())
	s.doneMu.Unlock()
	return storage.TorrentImpl{
		Piece: func(p metainfo.Piece) storage.PieceImpl {
			return mapPiece{s: s, i: p.Index(), off: p.Offset(), n: p.Length()}
		},
		Close: func() error { return nil },
	}, nil
}

// Close unmaps and closes the file; the data stays in it.
func (s *mapStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := unix.Munmap(s.data)
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	s.f, s.data = nil, nil
	return err
}

// with calls f with the piece's window of the mapping, under the read
// lock; os.ErrClosed once the store is closed.
func (s *mapStore) with(off, n int64, f func(d []byte) (int, error)) (int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.data == nil {
		return 0, os.ErrClosed
	}
	return f(s.data[off : off+n : off+n])
}

// mapPiece is one piece of a mapStore.
type mapPiece struct {
	s      *mapStore
	i      int
	off, n int64
}

func (p mapPiece) ReadAt(b []byte, off int64) (int, error) {
	return p.s.with(p.off, p.n, func(d []byte) (int, error) {
		if off < 0 || off >= int64(len(d)) {
			return 0, io.EOF
		}
		n := copy(b, d[off:])
		if n < len(b) {
			return n, io.EOF
		}
		return n, nil
	})
}

func (p mapPiece) WriteAt(b []byte, off int64) (int, error) {
	return p.s.with(p.off, p.n, func(d []byte) (int, error) {
		if off < 0 || off+int64(len(b)) > int64(len(d)) {
			return 0, fmt.Errorf("storage %s: write of %d bytes at %d overflows piece %d", p.s.path, len(b), off, p.i)
		}
		return copy(d[off:], b), nil
	})
}

// WriteTo hands the piece to w (the piece hash) straight from the mapping.
func (p mapPiece) WriteTo(w io.Writer) (int64, error) {
	n, err := p.s.with(p.off, p.n, w.Write)
	return int64(n), err
}

func (p mapPiece) MarkComplete() error    { return p.mark(true) }
func (p mapPiece) MarkNotComplete() error { return p.mark(false) }

func (p mapPiece) mark(done bool) error {
	p.s.doneMu.Lock()
	defer p.s.doneMu.Unlock()
	if p.i < len(p.s.done) {
		p.s.done[p.i] = done
	}
	return nil
}

func (p mapPiece) Completion() storage.Completion {
	p.s.doneMu.Lock()
	defer p.s.doneMu.Unlock()
	return storage.Completion{Ok: true, Complete: p.i < len(p.s.done) && p.s.done[p.i]}
}
