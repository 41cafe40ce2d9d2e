package hostsys

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

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

// UnpackTar extracts a tar stream into dir (see Sys.Unpack). Every
// file operation goes through an os.Root on dir: an entry name, a hard
// link's target or a symlink met on the way (an earlier entry "x ->
// /tmp/outside" then "x/pwned", "x -> ../..", an absolute link over a
// folder) cannot reach outside dir; such an entry is an error naming it.
// Symlinks themselves are created as the image has them (their targets
// are the booted OS's business), never followed out.
func UnpackTar(ctx context.Context, r io.Reader, dir string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
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
		if err := unpackEntry(root, h, tr); err != nil {
			return fmt.Errorf("entry %q: %w", h.Name, err)
		}
	}
}

// unpackEntry writes one tar entry inside root.
func unpackEntry(root *os.Root, h *tar.Header, r io.Reader) error {
	name := strings.TrimPrefix(filepath.Clean("/"+h.Name), "/")
	if name == "" {
		return nil
	}
	if err := root.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	mode := os.FileMode(h.Mode & 0o777)
	switch h.Typeflag {
	case tar.TypeDir:
		if err := root.MkdirAll(name, mode); err != nil {
			return err
		}
	case tar.TypeReg:
		if err := writeEntry(root, name, r, mode); err != nil {
			return err
		}
	case tar.TypeSymlink:
		_ = root.Remove(name)
		if err := root.Symlink(h.Linkname, name); err != nil {
			return err
		}
	case tar.TypeLink:
		old := strings.TrimPrefix(filepath.Clean("/"+h.Linkname), "/")
		_ = root.Remove(name)
		if err := root.Link(old, name); err != nil {
			return err
		}
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		if err := mknodIn(root, name, h, mode); err != nil {
			return err
		}
	default:
		return nil // xattr headers and the like
	}
	if err := root.Lchown(name, h.Uid, h.Gid); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	if h.Typeflag != tar.TypeSymlink {
		if err := root.Chmod(name, mode|special(h.Mode)); err != nil {
			return fmt.Errorf("chmod: %w", err)
		}
	}
	return nil
}

// mknodIn makes a device node or FIFO: mknodat in the parent folder,
// opened through root (os.Root has no Mknod).
func mknodIn(root *os.Root, name string, h *tar.Header, mode os.FileMode) error {
	t := uint32(unix.S_IFCHR)
	if h.Typeflag == tar.TypeBlock {
		t = unix.S_IFBLK
	} else if h.Typeflag == tar.TypeFifo {
		t = unix.S_IFIFO
	}
	parent, err := root.Open(filepath.Dir(name))
	if err != nil {
		return err
	}
	defer parent.Close()
	base := filepath.Base(name)
	_ = unix.Unlinkat(int(parent.Fd()), base, 0)
	dev := unix.Mkdev(uint32(h.Devmajor), uint32(h.Devminor))
	if err := unix.Mknodat(int(parent.Fd()), base, t|uint32(mode), int(dev)); err != nil {
		return fmt.Errorf("mknod: %w", err)
	}
	return nil
}

func special(mode int64) os.FileMode {
	return unixSpecial(uint32(mode))
}

func writeEntry(root *os.Root, name string, r io.Reader, mode os.FileMode) error {
	_ = root.Remove(name)
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return fmt.Errorf("write: %w", err)
	}
	return f.Close()
}
