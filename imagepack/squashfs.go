package imagepack

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/diskfs/go-diskfs/backend"
	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/squashfs"
	"golang.org/x/sys/unix"
)

// cwdMu serialises Finalize: go-diskfs v1.9.4 reads symlink targets and
// device numbers with paths relative to its workspace but resolves them
// against the process's working directory, so Finalize runs with the
// working directory set to the workspace (process-wide, hence the lock).
var cwdMu sync.Mutex

// packSquashfs builds the squashfs with go-diskfs: it copies src into the
// library's workspace (keeping modes, owners when root, mtimes, symlinks,
// device nodes and FIFOs; hard links become separate copies), then
// Finalize compresses it into out.
func packSquashfs(ctx context.Context, src, out string, opt Options, tot Progress) error {
	comp, err := compressor(opt)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(out, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	cw := &countingStorage{Storage: file.New(f, false)}
	sq, err := squashfs.Create(cw, tot.BytesTotal+1<<20, 0, 0)
	if err != nil {
		return fmt.Errorf("squashfs: %w", err)
	}
	ws := sq.Workspace()
	defer os.RemoveAll(ws) // Finalize forgets the workspace; Close would not remove it
	if err := fillWorkspace(ctx, src, ws, opt.Progress, tot); err != nil {
		return err
	}
	if opt.Progress != nil {
		cw.progress = func(n int64) {
			p := tot
			p.Phase, p.Files, p.Bytes = "compress", tot.FilesTotal, n
			opt.Progress(p)
		}
	}
	cwdMu.Lock()
	err = finalizeIn(ws, sq, comp)
	cwdMu.Unlock()
	if err != nil {
		return fmt.Errorf("squashfs: %w", err)
	}
	// The superblock's bytes_used (offset 40) is the image's real end;
	// pad to 4 KiB like mksquashfs and cut anything beyond.
	var sb [48]byte
	if _, err := f.ReadAt(sb[:], 0); err != nil {
		return fmt.Errorf("squashfs superblock: %w", err)
	}
	used := int64(binary.LittleEndian.Uint64(sb[40:48]))
	if binary.LittleEndian.Uint32(sb[0:4]) != 0x73717368 || used <= 0 {
		return fmt.Errorf("squashfs superblock: bad magic or size %d", used)
	}
	if err := f.Truncate((used + 4095) &^ 4095); err != nil {
		return err
	}
	return f.Close()
}

func finalizeIn(ws string, sq *squashfs.FileSystem, comp squashfs.Compressor) error {
	old, err := os.Getwd()
	if err != nil {
		return err
	}
	if err := os.Chdir(ws); err != nil {
		return err
	}
	defer os.Chdir(old)
	return sq.Finalize(squashfs.FinalizeOptions{Compression: comp, NonSparse: true})
}

func compressor(opt Options) (squashfs.Compressor, error) {
	switch opt.Compression {
	case "zstd":
		// Measured in the lab: Linux 6.1's squashfs rejects go-diskfs's zstd
		// blocks (the frames declare a window larger than the block, the
		// kernel's decompressor fails with "memory allocation" while
		// unsquashfs reads them). Refuse rather than ship unbootable images.
		return nil, fmt.Errorf("compression zstd with go-diskfs: the Linux kernel cannot read go-diskfs's zstd squashfs blocks; use gzip (the default) or --tool mksquashfs for zstd")
	case "xz":
		return &squashfs.CompressorXz{DictionarySize: 1 << 20}, nil
	case "", "gzip":
		level := opt.Level
		if level == 0 {
			level = 9
		}
		if level < 1 || level > 9 {
			return nil, fmt.Errorf("gzip level %d (want 1-9)", level)
		}
		return &squashfs.CompressorGzip{CompressionLevel: uint32(level)}, nil
	}
	return nil, fmt.Errorf("compression %q (want gzip or xz; zstd with --tool mksquashfs)", opt.Compression)
}

// fillWorkspace copies src into ws.
func fillWorkspace(ctx context.Context, src, ws string, progress func(Progress), tot Progress) error {
	root := os.Geteuid() == 0
	p := tot
	p.Phase = "copy"
	var dirs []string
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel := relPath(src, path)
		dst := filepath.Join(ws, filepath.FromSlash(rel))
		fi, err := os.Lstat(path)
		if err != nil {
			return err
		}
		st, _ := fi.Sys().(*syscall.Stat_t)
		mode := fi.Mode()
		switch {
		case mode.IsDir():
			if rel != "." && rel != "" {
				if err := os.Mkdir(dst, 0o700); err != nil {
					return err
				}
			}
			dirs = append(dirs, dst)
		case mode.IsRegular():
			n, err := copyFile(path, dst)
			if err != nil {
				return err
			}
			p.Bytes += n
		case mode&fs.ModeSymlink != 0:
			t, err := os.Readlink(path)
			if err != nil {
				return err
			}
			if err := os.Symlink(t, dst); err != nil {
				return err
			}
		case mode&(fs.ModeDevice|fs.ModeCharDevice|fs.ModeNamedPipe) != 0:
			if st == nil {
				return fmt.Errorf("%s: no device numbers", rel)
			}
			if err := unix.Mknod(dst, st.Mode, int(st.Rdev)); err != nil {
				return fmt.Errorf("%s: mknod (device nodes need root): %w", rel, err)
			}
		default:
			return fmt.Errorf("%s: cannot pack a %v", rel, mode.Type())
		}
		if root && st != nil {
			if err := os.Lchown(dst, int(st.Uid), int(st.Gid)); err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
		}
		if mode&fs.ModeSymlink == 0 {
			if err := os.Chmod(dst, mode&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
			if !mode.IsDir() {
				os.Chtimes(dst, fi.ModTime(), fi.ModTime())
			}
		}
		if rel != "." && rel != "" {
			p.Files++
			if progress != nil {
				progress(p)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Directory times last, deepest first, after their contents changed.
	for i := len(dirs) - 1; i >= 0; i-- {
		rel, _ := filepath.Rel(ws, dirs[i])
		if fi, err := os.Lstat(filepath.Join(src, rel)); err == nil {
			os.Chtimes(dirs[i], fi.ModTime(), fi.ModTime())
		}
	}
	return nil
}

func copyFile(src, dst string) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// countingStorage counts the bytes go-diskfs writes (compress progress).
type countingStorage struct {
	backend.Storage
	progress func(int64)
	written  int64
}

func (c *countingStorage) Writable() (backend.WritableFile, error) {
	w, err := c.Storage.Writable()
	if err != nil {
		return nil, err
	}
	return &countingFile{WritableFile: w, c: c}, nil
}

type countingFile struct {
	backend.WritableFile
	c *countingStorage
}

func (f *countingFile) WriteAt(b []byte, off int64) (int, error) {
	n, err := f.WritableFile.WriteAt(b, off)
	f.c.written += int64(n)
	if f.c.progress != nil {
		f.c.progress(f.c.written)
	}
	return n, err
}
