// Package imagepack packs a root folder into an OS image that stateless
// nodes boot (`trapctl image pack DIR --name NAME`): a squashfs (the
// overlays' read-only lower layer) or a tar / tar.zst (unpacked into zram).
// It reports progress through a callback and returns the image's size and
// SHA-256 for the manifest.
package imagepack

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/disklesstrap/disklesstrap/manifest"
)

// Image formats (the manifest's names).
const (
	FormatSquashfs = manifest.FormatSquashfs
	FormatTar      = manifest.FormatTar
	FormatTarZstd  = manifest.FormatTarZstd
)

// Options tune Pack.
type Options struct {
	// Name is the image name recorded in Info (default: out's base name).
	Name string
	// Format is FormatSquashfs (default), FormatTar or FormatTarZstd.
	Format string
	// Compression for squashfs: with go-diskfs "gzip" (default) or "xz";
	// with mksquashfs also "zstd" (its default). go-diskfs's zstd blocks
	// are refused: Linux 6.1's squashfs cannot read them.
	Compression string
	// Level is the gzip level (1-9, default 9) or the tar.zst level
	// (1-4 in klauspost's scale: fastest, default, better, best; default 2).
	// go-diskfs v1.9.4 has no way to set the squashfs zstd level (its
	// field is unexported): squashfs zstd uses the library default.
	Level int
	// Tool builds squashfs images: "go-diskfs" (default, in-process) or
	// "mksquashfs" (squashfs-tools on PATH). go-diskfs v1.9.4 stores every
	// entry as owned by 0:0 (it looks for *unix.Stat_t where the standard
	// library gives *syscall.Stat_t) and drops setuid/setgid/sticky bits
	// (it keeps the mode's low 16 bits of Go's os.FileMode); Info.Warnings
	// says so when the tree has either. mksquashfs keeps both: use it for
	// real distribution images.
	Tool string
	// SourceDateEpoch, when > 0 (mksquashfs only), sets every entry's and
	// the file system's time to it (-all-time, -mkfs-time): with sorted
	// entries this makes the image a function of the tree's content
	// (reproducible builds; see package imagebuild).
	SourceDateEpoch int64
	// Progress, if set, is called as the packing advances (often; the
	// callee rate-limits its drawing, see Bar).
	Progress func(Progress)
}

// Progress is a packing progress report. During Phase "copy" (squashfs:
// files copied into the build workspace) and "archive" (tar) Files/Bytes
// count up to FilesTotal/BytesTotal; during "compress" (squashfs) Bytes is
// the number of image bytes written so far, BytesTotal the input size.
type Progress struct {
	Phase      string
	Files      int
	FilesTotal int
	Bytes      int64
	BytesTotal int64
}

// Info describes a packed image.
type Info struct {
	Name   string `json:"name"`
	Format string `json:"format"`
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	Files  int    `json:"files"` // entries packed (files, dirs, links, nodes), the root excluded
	// Warnings are things the image does not keep from the folder.
	Warnings []string `json:"warnings,omitempty"`
}

// Image returns the manifest description of the image served at url.
func (i *Info) Image(url string) manifest.Image {
	return manifest.Image{Name: i.Name, URL: url, SHA256: i.SHA256, Size: i.Size, Format: i.Format}
}

// Pack packs the folder src into the image file out (replaced if it
// exists; written to out+".tmp" first).
func Pack(ctx context.Context, src, out string, opt Options) (*Info, error) {
	st, err := os.Stat(src)
	if err != nil {
		return nil, fmt.Errorf("pack %s: %w", src, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("pack %s: not a directory", src)
	}
	if opt.Format == "" {
		opt.Format = FormatSquashfs
	}
	if opt.Name == "" {
		opt.Name = filepath.Base(out)
	}
	files, bytes, foreign, special, err := count(src)
	if err != nil {
		return nil, fmt.Errorf("pack %s: %w", src, err)
	}
	tot := Progress{FilesTotal: files, BytesTotal: bytes}
	var warnings []string
	tmp := out + ".tmp"
	os.Remove(tmp)
	switch opt.Format {
	case FormatSquashfs:
		switch opt.Tool {
		case "", "go-diskfs":
			err = packSquashfs(ctx, src, tmp, opt, tot)
			if foreign > 0 {
				warnings = append(warnings, fmt.Sprintf("%d entries not owned by 0:0 are stored as 0:0 (go-diskfs v1.9.4); use the mksquashfs tool to keep owners", foreign))
			}
			if special > 0 {
				warnings = append(warnings, fmt.Sprintf("%d entries lose their setuid/setgid/sticky bits (go-diskfs v1.9.4); use the mksquashfs tool to keep them", special))
			}
		case "mksquashfs":
			err = packMksquashfs(ctx, src, tmp, opt, tot)
		default:
			err = fmt.Errorf("tool %q (want go-diskfs or mksquashfs)", opt.Tool)
		}
	case FormatTar, FormatTarZstd:
		err = packTar(ctx, src, tmp, opt, tot)
	default:
		err = fmt.Errorf("format %q (want squashfs, tar or tar.zst)", opt.Format)
	}
	if err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("pack %s: %w", src, err)
	}
	sum, size, err := hashFile(tmp)
	if err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("pack %s: %w", src, err)
	}
	if err := os.Rename(tmp, out); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("pack %s: %w", src, err)
	}
	return &Info{Name: opt.Name, Format: opt.Format, Path: out, Size: size, SHA256: sum, Files: files, Warnings: warnings}, nil
}

// count returns the number of entries under src (the root excluded), the
// bytes of its regular files, how many entries are not owned by 0:0 and
// how many have setuid, setgid or sticky bits.
func count(src string) (files int, bytes int64, foreign, special int, err error) {
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == src {
			return nil
		}
		files++
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			bytes += fi.Size()
		}
		if st, ok := sysStat(fi); ok && (st.uid != 0 || st.gid != 0) {
			foreign++
		}
		if fi.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != 0 {
			special++
		}
		return nil
	})
	return files, bytes, foreign, special, err
}

// relPath is p relative to src with forward slashes and no leading "/"
// (go-diskfs wants paths without a leading slash).
func relPath(src, p string) string {
	r, _ := filepath.Rel(src, p)
	return strings.TrimPrefix(filepath.ToSlash(r), "/")
}

func hashFile(p string) (string, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
