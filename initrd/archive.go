package initrd

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/u-root/u-root/pkg/cpio"
)

// gzipLevel: level 9 saved 0.6 % of a 15 MB archive for five times the
// compression time, so the default level it is.
const gzipLevel = gzip.DefaultCompression

// normalized describes an image written by writeNormalized.
type normalized struct {
	size   int64
	sha256 string
	files  []string
}

// writeNormalized rewrites the newc archive at raw into out: records sorted
// by name (with the extra records), times, owners and device numbers
// zeroed, inode numbers assigned in order, link counts 1 (no hard links),
// regular files 0755 or 0644, compressed as asked with a gzip
// header that has no name and no time. out is replaced atomically.
func writeNormalized(raw, out string, comp Compression, extra []Record) (*normalized, error) {
	in, err := os.Open(raw)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(in))
	if err != nil {
		return nil, fmt.Errorf("read archive %s: %w", raw, err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("read archive %s: no records", raw)
	}
	recs = append(recs, extra...)
	recs, err = normalizeRecords(recs)
	if err != nil {
		return nil, err
	}

	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*")
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", out, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	defer tmp.Close()

	h := sha256.New()
	counter := &countWriter{}
	bw := bufio.NewWriterSize(io.MultiWriter(tmp, h, counter), 1<<20)
	var w io.Writer = bw
	var zw io.WriteCloser
	switch comp {
	case CompressGzip:
		zw, err = gzip.NewWriterLevel(bw, gzipLevel)
		// Header is zero: no name, no modification time, OS "unknown".
	case CompressZstd:
		zw, err = newZstdWriter(bw)
	}
	if err != nil {
		return nil, err
	}
	if zw != nil {
		w = zw
		defer func() { // on an early return: end the compressor (a zstd process)
			if zw != nil {
				zw.Close()
			}
		}()
	}
	cw := cpio.Newc.Writer(w)
	for _, r := range recs {
		if err := cw.WriteRecord(r); err != nil {
			return nil, fmt.Errorf("write %s: %s: %w", out, r.Name, err)
		}
	}
	if err := cpio.WriteTrailer(cw); err != nil {
		return nil, fmt.Errorf("write %s: trailer: %w", out, err)
	}
	if zw != nil {
		err := zw.Close()
		zw = nil
		if err != nil {
			return nil, fmt.Errorf("write %s: %s: %w", out, comp, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return nil, fmt.Errorf("write %s: %w", out, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return nil, fmt.Errorf("write %s: %w", out, err)
	}
	if err := tmp.Sync(); err != nil {
		return nil, fmt.Errorf("write %s: %w", out, err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("write %s: %w", out, err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return nil, fmt.Errorf("write %s: %w", out, err)
	}
	n := &normalized{size: counter.n, sha256: hex.EncodeToString(h.Sum(nil))}
	for _, r := range recs {
		n.files = append(n.files, "/"+r.Name)
	}
	return n, nil
}

// normalizeRecords sorts records by name and makes their metadata
// independent of the build host and time. Duplicate names are an error.
func normalizeRecords(recs []Record) ([]Record, error) {
	out := make([]Record, 0, len(recs))
	for _, r := range recs {
		r = cpio.MakeReproducible(r)
		if r.Name == "." || r.Name == "" {
			continue
		}
		out = append(out, r)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	for i := range out {
		if i > 0 && out[i].Name == out[i-1].Name {
			return nil, fmt.Errorf("archive has /%s twice", out[i].Name)
		}
		out[i].Ino = uint64(i + 1)
		out[i].NLink = 1
		switch out[i].Mode & cpio.S_IFMT {
		case cpio.S_IFDIR:
			out[i].NLink = 2
		case cpio.S_IFREG:
			// Host umask and file modes must not leak into the image.
			perm := uint64(0o644)
			if out[i].Mode&0o111 != 0 {
				perm = 0o755
			}
			out[i].Mode = cpio.S_IFREG | perm
		}
	}
	return out, nil
}

// Record is one entry of an initramfs archive (u-root's cpio record).
type Record = cpio.Record

// ReadArchive reads every record of a newc archive, gzip-compressed or
// not, into memory.
func ReadArchive(file string) ([]Record, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var magic [2]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	var data []byte
	if magic == [2]byte{0x28, 0xb5} { // zstd frame magic 28 b5 2f fd
		if data, err = readZstd(f); err != nil {
			return nil, fmt.Errorf("read %s: unzstd: %w", file, err)
		}
	} else if magic == [2]byte{0x1f, 0x8b} {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", file, err)
		}
		data, err = io.ReadAll(zr)
		if err != nil {
			return nil, fmt.Errorf("read %s: gunzip: %w", file, err)
		}
	} else if data, err = io.ReadAll(f); err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	if !bytes.HasPrefix(data, []byte("070701")) {
		return nil, fmt.Errorf("read %s: not a newc cpio archive", file)
	}
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(bytes.NewReader(data)))
	if err != nil {
		return nil, fmt.Errorf("read %s: cpio: %w", file, err)
	}
	return recs, nil
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}
