package torrent

import (
	"bytes"
	"context"
	"crypto/sha1"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/storage"
)

// TestMapStore: pieces written through the store land in the file at their
// offsets, read back and hash from the mapping, completion follows
// MarkComplete/MarkNotComplete, bad writes and a closed store are errors.
func TestMapStore(t *testing.T) {
	const pieceLen, size = 16, 40 // pieces of 16, 16 and 8 bytes
	path := filepath.Join(t.TempDir(), "image")
	if err := os.WriteFile(path, []byte("old content, replaced"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := newMapStore(path, size)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	data := make([]byte, size)
	for i := range data {
		data[i] = byte('a' + i%26)
	}
	info := &metainfo.Info{PieceLength: pieceLen, Length: size, Name: "image"}
	for off := 0; off < size; off += pieceLen {
		h := sha1.Sum(data[off:min(off+pieceLen, size)])
		info.Pieces = append(info.Pieces, h[:]...)
	}
	ti, err := s.OpenTorrent(context.Background(), info, metainfo.Hash{})
	if err != nil {
		t.Fatal(err)
	}
	pieces := make([]storage.PieceImpl, info.NumPieces())
	for i := range pieces {
		pieces[i] = ti.Piece(info.Piece(i))
		if c := pieces[i].Completion(); !c.Ok || c.Complete {
			t.Fatalf("piece %d before any write: completion %+v, want known incomplete", i, c)
		}
	}

	// Write every piece in two halves, the second half first.
	for i, p := range pieces {
		pd := data[i*pieceLen : min((i+1)*pieceLen, size)]
		half := len(pd) / 2
		for _, w := range []struct {
			b   []byte
			off int64
		}{{pd[half:], int64(half)}, {pd[:half], 0}} {
			if n, err := p.WriteAt(w.b, w.off); err != nil || n != len(w.b) {
				t.Fatalf("piece %d WriteAt(%d bytes, %d) = %d, %v", i, len(w.b), w.off, n, err)
			}
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("file = %q, want %q", got, data)
	}

	for i, p := range pieces {
		h := sha1.New()
		n, err := p.(io.WriterTo).WriteTo(h)
		if err != nil || n != info.Piece(i).Length() {
			t.Fatalf("piece %d WriteTo = %d, %v", i, n, err)
		}
		if !bytes.Equal(h.Sum(nil), info.Pieces[i*20:(i+1)*20]) {
			t.Errorf("piece %d: hash from the mapping differs", i)
		}
	}

	tests := []struct {
		name    string
		piece   int
		op      func(p storage.PieceImpl) (int, error)
		wantN   int
		wantErr bool
	}{
		{"read inside", 1, func(p storage.PieceImpl) (int, error) { return p.ReadAt(make([]byte, 4), 2) }, 4, false},
		{"read past the end", 2, func(p storage.PieceImpl) (int, error) { return p.ReadAt(make([]byte, 8), 4) }, 4, true},
		{"write past the end", 2, func(p storage.PieceImpl) (int, error) { return p.WriteAt(make([]byte, 4), 6) }, 0, true},
		{"write at a negative offset", 0, func(p storage.PieceImpl) (int, error) { return p.WriteAt(make([]byte, 1), -1) }, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := tc.op(pieces[tc.piece])
			if n != tc.wantN || (err != nil) != tc.wantErr {
				t.Errorf("= %d, %v; want %d, error %v", n, err, tc.wantN, tc.wantErr)
			}
		})
	}

	if err := pieces[1].MarkComplete(); err != nil {
		t.Fatal(err)
	}
	if c := pieces[1].Completion(); !c.Complete {
		t.Errorf("piece 1 after MarkComplete: %+v", c)
	}
	if c := pieces[0].Completion(); c.Complete {
		t.Errorf("piece 0 complete without MarkComplete")
	}
	if err := pieces[1].MarkNotComplete(); err != nil {
		t.Fatal(err)
	}
	if c := pieces[1].Completion(); c.Complete {
		t.Errorf("piece 1 after MarkNotComplete: %+v", c)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := pieces[0].WriteAt([]byte("x"), 0); !errors.Is(err, os.ErrClosed) {
		t.Errorf("write after Close: %v, want os.ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestMapStoreRefuses: a torrent of another size than the mapped file, and
// an empty image, are errors naming the file.
func TestMapStoreRefuses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "image")
	if _, err := newMapStore(path, 0); err == nil {
		t.Error("newMapStore with size 0: no error")
	}
	s, err := newMapStore(path, 32)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	info := &metainfo.Info{PieceLength: 16, Length: 48, Pieces: make([]byte, 60), Name: "image"}
	_, err = s.OpenTorrent(context.Background(), info, metainfo.Hash{})
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte(path)) {
		t.Errorf("OpenTorrent of a 48-byte torrent on a 32-byte file: %v, want an error naming %s", err, path)
	}
}
