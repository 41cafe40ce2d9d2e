package hostsys

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/sys/unix"
)

// Unpack extracts the tar archive at path (format "tar" or "tar.zst") into
// dir, keeping modes, numeric owners, symlinks, hard links, device nodes
// and FIFOs. Entries that would land outside dir are an error.
func (Sys) Unpack(ctx context.Context, archive, format, dir string) error {
	f, err := os.Open(archive)
	if err != nil {
		return fmt.Errorf("unpack: %w", err)
	}
	defer f.Close()
	var r io.Reader = f
	switch format {
	case "tar":
	case "tar.zst":
		zr, err := zstd.NewReader(f)
		if err != nil {
			return fmt.Errorf("unpack %s: zstd: %w", archive, err)
		}
		defer zr.Close()
		r = zr
	default:
		return fmt.Errorf("unpack %s: unknown format %q (want tar or tar.zst)", archive, format)
	}
	if err := UnpackTar(ctx, r, dir); err != nil {
		return fmt.Errorf("unpack %s: %w", archive, err)
	}
	return nil
}

// UnpackTar extracts a tar stream into dir (see Sys.Unpack).
func UnpackTar(ctx context.Context, r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.Clean("/" + h.Name)
		if name == "/" {
			continue
		}
		dst := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		mode := os.FileMode(h.Mode & 0o777)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dst, mode); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := writeEntry(dst, tr, mode); err != nil {
				return err
			}
		case tar.TypeSymlink:
			_ = os.Remove(dst)
			if err := os.Symlink(h.Linkname, dst); err != nil {
				return err
			}
		case tar.TypeLink:
			old := filepath.Join(dir, filepath.Clean("/"+h.Linkname))
			_ = os.Remove(dst)
			if err := os.Link(old, dst); err != nil {
				return err
			}
		case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
			t := uint32(unix.S_IFCHR)
			if h.Typeflag == tar.TypeBlock {
				t = unix.S_IFBLK
			} else if h.Typeflag == tar.TypeFifo {
				t = unix.S_IFIFO
			}
			_ = os.Remove(dst)
			dev := unix.Mkdev(uint32(h.Devmajor), uint32(h.Devminor))
			if err := unix.Mknod(dst, t|uint32(mode), int(dev)); err != nil {
				return fmt.Errorf("mknod %s: %w", h.Name, err)
			}
		default:
			continue // xattr headers and the like
		}
		if err := os.Lchown(dst, h.Uid, h.Gid); err != nil {
			return fmt.Errorf("chown %s: %w", h.Name, err)
		}
		if h.Typeflag != tar.TypeSymlink {
			if err := os.Chmod(dst, mode|special(h.Mode)); err != nil {
				return fmt.Errorf("chmod %s: %w", h.Name, err)
			}
		}
	}
}

func special(mode int64) os.FileMode {
	return unixSpecial(uint32(mode))
}

func writeEntry(dst string, r io.Reader, mode os.FileMode) error {
	_ = os.Remove(dst)
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", dst, err)
	}
	return f.Close()
}
