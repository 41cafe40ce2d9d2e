package imagepack

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/klauspost/compress/zstd"
)

// packTar writes src as a tar (PAX) or zstd-compressed tar: numeric
// owners, modes, mtimes, symlinks, hard links (as links, inode-matched),
// device nodes and FIFOs.
func packTar(ctx context.Context, src, out string, opt Options, tot Progress) error {
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	var w io.Writer = f
	var zw *zstd.Encoder
	if opt.Format == FormatTarZstd {
		level := opt.Level
		if level == 0 {
			level = int(zstd.SpeedBetterCompression)
		}
		if level < 1 || level > 4 {
			return fmt.Errorf("tar.zst level %d (want 1-4)", level)
		}
		zw, err = zstd.NewWriter(f, zstd.WithEncoderLevel(zstd.EncoderLevel(level)))
		if err != nil {
			return err
		}
		w = zw
	}
	tw := tar.NewWriter(w)
	p := tot
	p.Phase = "archive"
	links := map[[2]uint64]string{}
	err = filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel := relPath(src, path)
		if rel == "." || rel == "" {
			return nil
		}
		fi, err := os.Lstat(path)
		if err != nil {
			return err
		}
		target := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			if target, err = os.Readlink(path); err != nil {
				return err
			}
		}
		h, err := tar.FileInfoHeader(fi, target)
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		h.Name = rel
		if fi.IsDir() {
			h.Name += "/"
		}
		h.Uname, h.Gname = "", "" // numeric owners only
		h.Format = tar.FormatPAX
		if st, ok := sysStat(fi); ok && fi.Mode().IsRegular() && st.nlink > 1 {
			key := [2]uint64{st.dev, st.ino}
			if first, ok := links[key]; ok {
				h.Typeflag, h.Linkname, h.Size = tar.TypeLink, first, 0
			} else {
				links[key] = rel
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		if h.Typeflag == tar.TypeReg {
			in, err := os.Open(path)
			if err != nil {
				return err
			}
			n, err := io.Copy(tw, in)
			in.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
			p.Bytes += n
		}
		p.Files++
		if opt.Progress != nil {
			opt.Progress(p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return err
		}
	}
	return f.Close()
}
