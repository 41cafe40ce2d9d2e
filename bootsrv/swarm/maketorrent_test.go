package swarm

import (
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"os"
	"path/filepath"
	"testing"
)

func TestPieceLength(t *testing.T) {
	const KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
	for _, tc := range []struct {
		size int64
		want int64
	}{
		{1, 256 * KiB},
		{16 * MiB, 256 * KiB},
		{512 * MiB, 256 * KiB},
		{512*MiB + 1, 512 * KiB},
		{1 * GiB, 512 * KiB},
		{2 * GiB, 1 * MiB},
		{4 * GiB, 2 * MiB},
		{8 * GiB, 4 * MiB},
		{64 * GiB, 4 * MiB},
	} {
		if got := PieceLength(tc.size); got != tc.want {
			t.Errorf("PieceLength(%d) = %d, want %d", tc.size, got, tc.want)
		}
	}
}

func writeRandom(t *testing.T, size int) (string, []byte) {
	t.Helper()
	b := make([]byte, size)
	rand.Read(b)
	p := filepath.Join(t.TempDir(), "img")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, b
}

func TestMakeTorrent(t *testing.T) {
	size := 3*MinPieceLength + 123
	p, data := writeRandom(t, size)
	mi, err := MakeTorrent(p, "os.squashfs", "http://198.18.0.1:8080/images/os.squashfs", "http://198.18.0.1:8080/announce")
	if err != nil {
		t.Fatalf("MakeTorrent: %v", err)
	}
	if mi.Announce != "http://198.18.0.1:8080/announce" {
		t.Errorf("Announce = %q", mi.Announce)
	}
	if len(mi.UrlList) != 1 || mi.UrlList[0] != "http://198.18.0.1:8080/images/os.squashfs" {
		t.Errorf("UrlList = %q, want the image URL", mi.UrlList)
	}
	info, err := mi.UnmarshalInfo()
	if err != nil {
		t.Fatal(err)
	}
	if info.Private == nil || !*info.Private {
		t.Errorf("info.Private = %v, want true", info.Private)
	}
	if info.Name != "os.squashfs" || info.Length != int64(size) || info.IsDir() {
		t.Errorf("info name %q length %d dir %v, want os.squashfs %d single-file", info.Name, info.Length, info.IsDir(), size)
	}
	if info.NumPieces() != 4 {
		t.Fatalf("NumPieces = %d, want 4", info.NumPieces())
	}
	for i := range 4 {
		end := min((i+1)*MinPieceLength, size)
		want := sha1.Sum(data[i*MinPieceLength : end])
		if got := info.Piece(i).V1Hash().Value; !bytes.Equal(got[:], want[:]) {
			t.Errorf("piece %d hash %x, want %x", i, got, want)
		}
	}
	// The same file gives the same info-hash.
	mi2, err := MakeTorrent(p, "os.squashfs", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if mi2.HashInfoBytes() != mi.HashInfoBytes() {
		t.Errorf("info-hash changed with URLs: %s vs %s", mi2.HashInfoBytes(), mi.HashInfoBytes())
	}
}

func TestMakeTorrentErrors(t *testing.T) {
	p, _ := writeRandom(t, 10)
	empty := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(empty, nil, 0o644)
	for _, tc := range []struct{ name, path, tname string }{
		{"slash in name", p, "a/b"},
		{"dot name", p, ".."},
		{"empty name", p, ""},
		{"missing file", filepath.Join(t.TempDir(), "nope"), "x"},
		{"directory", t.TempDir(), "x"},
		{"empty file", empty, "x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := MakeTorrent(tc.path, tc.tname, "", ""); err == nil {
				t.Errorf("MakeTorrent(%q, %q) = nil error, want one", tc.path, tc.tname)
			}
		})
	}
}
