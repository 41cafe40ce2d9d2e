package imagepack

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/disklesstrap/disklesstrap/internal/labreq"
)

func labSkip(t *testing.T, format string, args ...any) {
	t.Helper()
	labreq.Skip(t, format, args...)
}

// tree makes a folder with files, dirs, an empty dir, a symlink, an
// executable, a setuid file, a hard link, and (as root) a device node, a
// FIFO and a file owned by 1234:5678.
func tree(t *testing.T) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), "src")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"etc", "empty", "bin", "var/lib/deep"} {
		must(os.MkdirAll(filepath.Join(src, d), 0o755))
	}
	must(os.WriteFile(filepath.Join(src, "etc/hello"), []byte("hello\n"), 0o644))
	must(os.WriteFile(filepath.Join(src, "bin/run"), []byte("#!/bin/sh\necho run\n"), 0o755))
	must(os.WriteFile(filepath.Join(src, "bin/suid"), bytes.Repeat([]byte("x"), 300000), 0o4755))
	must(os.Chmod(filepath.Join(src, "bin/suid"), 0o755|fs.ModeSetuid))
	must(os.Symlink("../etc/hello", filepath.Join(src, "bin/link")))
	must(os.Link(filepath.Join(src, "etc/hello"), filepath.Join(src, "etc/hello.hard")))
	must(os.Chmod(filepath.Join(src, "empty"), 0o700))
	if os.Geteuid() == 0 {
		must(syscall.Mknod(filepath.Join(src, "null"), syscall.S_IFCHR|0o666, 1<<8|3))
		must(syscall.Mkfifo(filepath.Join(src, "fifo"), 0o600))
		must(os.WriteFile(filepath.Join(src, "var/lib/deep/owned"), []byte("mine\n"), 0o640))
		must(os.Lchown(filepath.Join(src, "var/lib/deep/owned"), 1234, 5678))
	}
	return src
}

// lsMode renders a mode like ls -l.
func lsMode(m fs.FileMode) string {
	t := "-"
	switch {
	case m.IsDir():
		t = "d"
	case m&fs.ModeSymlink != 0:
		t = "l"
	case m&fs.ModeCharDevice != 0:
		t = "c"
	case m&fs.ModeDevice != 0:
		t = "b"
	case m&fs.ModeNamedPipe != 0:
		t = "p"
	}
	rwx := []byte("rwxrwxrwx")
	for i := range 9 {
		if m&(1<<(8-i)) == 0 {
			rwx[i] = '-'
		}
	}
	if m&fs.ModeSetuid != 0 {
		rwx[2] = map[bool]byte{true: 's', false: 'S'}[rwx[2] == 'x']
	}
	return t + string(rwx)
}

// want lists src like `unsquashfs -lln` (perm uid/gid path [-> target]),
// with owners forced to 0/0 and no setuid/setgid/sticky bits when diskfs
// (what go-diskfs v1.9.4 keeps).
func want(t *testing.T, src string, diskfs bool) []string {
	var out []string
	filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := os.Lstat(p)
		st := fi.Sys().(*syscall.Stat_t)
		uid, gid := st.Uid, st.Gid
		mode := fi.Mode()
		if diskfs {
			uid, gid = 0, 0
			mode &^= fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky
		}
		rel, _ := filepath.Rel(src, p)
		name := "squashfs-root"
		if rel != "." {
			name += "/" + rel
		}
		line := fmt.Sprintf("%s %d/%d %s", lsMode(mode), uid, gid, name)
		if fi.Mode()&fs.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			line += " -> " + target
		}
		out = append(out, line)
		return nil
	})
	sort.Strings(out)
	return out
}

// listing runs unsquashfs -lln and keeps perm, owner, path [-> target].
func listing(t *testing.T, img string) []string {
	b, err := exec.Command("unsquashfs", "-lln", img).CombinedOutput()
	if err != nil {
		t.Fatalf("unsquashfs -lln %s: %v\n%s", img, err, b)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		for i, x := range f {
			if strings.HasPrefix(x, "squashfs-root") && i >= 2 {
				out = append(out, strings.Join(append(f[:2:2], f[i:]...), " "))
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

func TestPackSquashfs(t *testing.T) {
	if _, err := exec.LookPath("unsquashfs"); err != nil {
		labSkip(t, "unsquashfs not installed (squashfs-tools)")
	}
	src := tree(t)
	for _, tc := range []struct{ tool, comp string }{
		{"go-diskfs", "xz"}, {"go-diskfs", "gzip"}, {"mksquashfs", "zstd"},
	} {
		t.Run(tc.tool+"-"+tc.comp, func(t *testing.T) {
			if tc.tool == "mksquashfs" {
				if _, err := exec.LookPath("mksquashfs"); err != nil {
					labSkip(t, "mksquashfs not installed")
				}
			}
			out := filepath.Join(t.TempDir(), "img.sqfs")
			var last map[string]Progress = map[string]Progress{}
			info, err := Pack(context.Background(), src, out, Options{Name: "t", Tool: tc.tool, Compression: tc.comp,
				Progress: func(p Progress) { last[p.Phase] = p }})
			if err != nil {
				t.Fatalf("Pack: %v", err)
			}
			zero := tc.tool == "go-diskfs"
			got, exp := listing(t, out), want(t, src, zero)
			if strings.Join(got, "\n") != strings.Join(exp, "\n") {
				t.Errorf("unsquashfs listing:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(exp, "\n"))
			}
			checkInfo(t, info, out, "squashfs")
			wantWarn := 0
			if zero {
				wantWarn = 1 // the setuid bit
				if os.Geteuid() == 0 {
					wantWarn = 2 // and the owner
				}
			}
			if len(info.Warnings) != wantWarn {
				t.Errorf("Warnings = %q, want %d", info.Warnings, wantWarn)
			}
			if info.Size%4096 != 0 {
				t.Errorf("Size %d not padded to 4 KiB", info.Size)
			}
			if c := last["compress"]; c.Phase == "" {
				t.Errorf("no compress progress reported")
			}
			if tc.tool == "go-diskfs" {
				c := last["copy"]
				if c.Files != c.FilesTotal || c.Bytes != c.BytesTotal || c.FilesTotal != info.Files {
					t.Errorf("last copy progress %+v, want all %d files", c, info.Files)
				}
			}
		})
	}
}

func checkInfo(t *testing.T, info *Info, out, format string) {
	t.Helper()
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	if info.SHA256 != hex.EncodeToString(s[:]) || info.Size != int64(len(b)) || info.Format != format {
		t.Errorf("Info = %+v, file has sha256 %x size %d", info, s, len(b))
	}
	if _, err := os.Stat(out + ".tmp"); err == nil {
		t.Errorf("%s.tmp left behind", out)
	}
}

func TestPackTar(t *testing.T) {
	src := tree(t)
	for _, format := range []string{FormatTar, FormatTarZstd} {
		t.Run(format, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "img."+format)
			info, err := Pack(context.Background(), src, out, Options{Format: format})
			if err != nil {
				t.Fatalf("Pack: %v", err)
			}
			checkInfo(t, info, out, format)
			f, _ := os.Open(out)
			defer f.Close()
			var r io.Reader = f
			if format == FormatTarZstd {
				zr, err := zstd.NewReader(f)
				if err != nil {
					t.Fatal(err)
				}
				defer zr.Close()
				r = zr
			}
			tr := tar.NewReader(r)
			var got []string
			for {
				h, err := tr.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				name := "squashfs-root/" + strings.TrimSuffix(h.Name, "/")
				line := fmt.Sprintf("%s %d/%d %s", lsMode(h.FileInfo().Mode()), h.Uid, h.Gid, name)
				switch h.Typeflag {
				case tar.TypeSymlink:
					line += " -> " + h.Linkname
				case tar.TypeLink: // a hard link: same listing as a file
					line = fmt.Sprintf("-%s %d/%d %s", lsMode(h.FileInfo().Mode())[1:], h.Uid, h.Gid, name)
					if h.Linkname != "etc/hello" && h.Linkname != "etc/hello.hard" {
						t.Errorf("hard link %s -> %s", h.Name, h.Linkname)
					}
				case tar.TypeReg:
					b, _ := io.ReadAll(tr)
					orig, _ := os.ReadFile(filepath.Join(src, h.Name))
					if !bytes.Equal(b, orig) {
						t.Errorf("%s: content differs", h.Name)
					}
				case tar.TypeChar:
					if h.Devmajor != 1 || h.Devminor != 3 {
						t.Errorf("%s: device %d,%d want 1,3", h.Name, h.Devmajor, h.Devminor)
					}
				}
				got = append(got, line)
			}
			var exp []string // no root entry in the tar
			for _, l := range want(t, src, false) {
				if !strings.HasSuffix(l, " squashfs-root") {
					exp = append(exp, l)
				}
			}
			sort.Strings(got)
			if strings.Join(got, "\n") != strings.Join(exp, "\n") {
				t.Errorf("tar listing:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(exp, "\n"))
			}
		})
	}
}

func TestPackErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		src string
		opt Options
		msg string
	}{
		{filepath.Join(dir, "missing"), Options{}, "no such file"},
		{dir, Options{Format: "qcow2"}, "format \"qcow2\""},
		{dir, Options{Compression: "lzma"}, "compression \"lzma\""},
		{dir, Options{Tool: "genisoimage"}, "tool \"genisoimage\""},
	} {
		_, err := Pack(context.Background(), tc.src, filepath.Join(dir, "out"), tc.opt)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Pack(%s, %+v) = %v, want error with %q", tc.src, tc.opt, err, tc.msg)
		}
	}
}

func TestBarMilestones(t *testing.T) {
	var buf bytes.Buffer
	b := NewBar(&buf)
	for i := 0; i <= 1000; i++ {
		b.Update(Progress{Phase: "copy", Files: i, FilesTotal: 1000, Bytes: int64(i) * 10, BytesTotal: 10000})
	}
	b.Update(Progress{Phase: "compress", FilesTotal: 1000, Bytes: 4096, BytesTotal: 10000})
	b.Done(&Info{Name: "x", Format: "squashfs", Files: 1000, Size: 4096, SHA256: "ab"})
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 13 { // 0..100 % in tenths, one compress line, the summary
		t.Errorf("non-terminal bar printed %d lines, want 13:\n%s", len(lines), buf.String())
	}
	if strings.Contains(buf.String(), "\r") {
		t.Errorf("non-terminal bar used \\r")
	}
	if !strings.Contains(lines[10], "100%") || !strings.Contains(lines[12], "packed x: squashfs, 1000 files") {
		t.Errorf("unexpected bar text:\n%s", buf.String())
	}
}

func TestGoDiskfsZstdRefused(t *testing.T) {
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644)
	_, err := Pack(context.Background(), src, filepath.Join(t.TempDir(), "out.squashfs"), Options{Compression: "zstd"})
	if err == nil || !strings.Contains(err.Error(), "kernel cannot read") {
		t.Errorf("Pack(go-diskfs, zstd) error = %v, want a refusal naming the kernel", err)
	}
}
