package initrd

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/u-root/u-root/pkg/cpio"
)

// fileSet collects archive path -> host path entries and archive symlinks,
// refusing two different sources for one path.
type fileSet struct {
	files    map[string]string // archive path (relative) -> host path
	symlinks map[string]string // archive path (relative) -> link target as stored
}

func newFileSet() *fileSet {
	return &fileSet{files: map[string]string{}, symlinks: map[string]string{}}
}

// rel turns "/a/b" or "a/b" into the archive's relative "a/b".
func rel(p string) string { return strings.TrimPrefix(path.Clean("/"+p), "/") }

func (s *fileSet) add(dst, src string) error {
	dst = rel(dst)
	if strings.Contains(src, ":") {
		return fmt.Errorf("image path /%s: host path %s contains ':'", dst, src)
	}
	if old, ok := s.files[dst]; ok && old != src {
		return fmt.Errorf("image path /%s: both %s and %s", dst, old, src)
	}
	if _, ok := s.symlinks[dst]; ok {
		return fmt.Errorf("image path /%s: already a symlink, cannot add %s", dst, src)
	}
	s.files[dst] = src
	return nil
}

// symlink records dst as a link to the absolute image path target,
// stored relative to dst's directory (as mkuimage does).
func (s *fileSet) symlink(dst, target string) error {
	r, err := filepath.Rel(path.Dir("/"+rel(dst)), "/"+rel(target))
	if err != nil {
		return fmt.Errorf("image path /%s: link to %s: %w", rel(dst), target, err)
	}
	return s.symlinkRel(dst, r)
}

// symlinkRel records dst as a link with the literal target.
func (s *fileSet) symlinkRel(dst, target string) error {
	dst = rel(dst)
	if _, ok := s.files[dst]; ok {
		return fmt.Errorf("image path /%s: already a file, cannot link it to %s", dst, target)
	}
	if old, ok := s.symlinks[dst]; ok && old != target {
		return fmt.Errorf("image path /%s: links to %s, cannot link it to %s", dst, old, target)
	}
	s.symlinks[dst] = target
	return nil
}

// symlinkRecords returns the recorded links as cpio records, sorted.
func (s *fileSet) symlinkRecords() []cpio.Record {
	names := make([]string, 0, len(s.symlinks))
	for n := range s.symlinks {
		names = append(names, n)
	}
	sort.Strings(names)
	recs := make([]cpio.Record, 0, len(names))
	for _, n := range names {
		recs = append(recs, cpio.Symlink(n, s.symlinks[n]))
	}
	return recs
}

// specs returns mkuimage's "src:dst" file specs, sorted by dst.
func (s *fileSet) specs() []string {
	dsts := make([]string, 0, len(s.files))
	for d := range s.files {
		dsts = append(dsts, d)
	}
	sort.Strings(dsts)
	out := make([]string, 0, len(dsts))
	for _, d := range dsts {
		out = append(out, s.files[d]+":"+d)
	}
	return out
}

// addHostFile adds a host path at its own path, with every symlink it
// goes through.
func (s *fileSet) addHostFile(p string) (final string, err error) {
	chain, err := SymlinkChain(p)
	if err != nil {
		return "", fmt.Errorf("host file %s: %w", p, err)
	}
	for _, c := range chain {
		if err := s.add(c, c); err != nil {
			return "", err
		}
	}
	return chain[len(chain)-1], nil
}

// addHostBinaries adds cfg.HostBinaries, their libraries, and busybox
// applet links.
func (s *fileSet) addHostBinaries(ctx context.Context, cfg Config) error {
	for _, b := range cfg.HostBinaries {
		if !filepath.IsAbs(b) {
			return fmt.Errorf("host binary %q: want an absolute path", b)
		}
		final, err := s.addHostFile(b)
		if err != nil {
			return err
		}
		libs, err := ResolveLibraries(final, cfg.LibraryDirs)
		if err != nil {
			return fmt.Errorf("host binary %s: %w", b, err)
		}
		for _, l := range libs {
			if _, err := s.addHostFile(l); err != nil {
				return fmt.Errorf("host binary %s: %w", b, err)
			}
		}
		slog.Info("initrd: host binary", "path", b, "libraries", len(libs))
		if path.Base(b) == "busybox" || path.Base(final) == "busybox" {
			real := map[string]bool{}
			for _, hb := range cfg.HostBinaries {
				real[path.Base(hb)] = true
			}
			if err := s.addApplets(ctx, b, cfg.BusyboxApplets, real); err != nil {
				return err
			}
		}
	}
	return nil
}

// addApplets links /bin/APPLET to busybox for each applet it implements,
// except names that a host binary provides (e.g. util-linux losetup): the
// real tool must not be shadowed by an applet earlier in PATH.
func (s *fileSet) addApplets(ctx context.Context, busybox string, applets []string, real map[string]bool) error {
	have, err := busyboxApplets(ctx, busybox)
	if err != nil {
		slog.Warn("initrd: cannot list busybox applets, linking all requested", "busybox", busybox, "err", err)
	}
	target := rel(busybox)
	n := 0
	for _, a := range applets {
		if a == "" || strings.Contains(a, "/") {
			return fmt.Errorf("busybox applet %q: not a command name", a)
		}
		if have != nil && !have[a] {
			slog.Debug("initrd: busybox lacks applet", "applet", a)
			continue
		}
		dst := "bin/" + a
		if dst == rel(busybox) {
			continue
		}
		if _, isFile := s.files[dst]; isFile || real[a] {
			continue // a real binary wins over an applet link
		}
		if err := s.symlink(dst, target); err != nil {
			return err
		}
		n++
	}
	slog.Info("initrd: busybox applets", "linked", n)
	return nil
}

// busyboxApplets asks a busybox binary for its applet list.
func busyboxApplets(ctx context.Context, busybox string) (map[string]bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, busybox, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --list: %w", busybox, err)
	}
	set := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if a := strings.TrimSpace(sc.Text()); a != "" {
			set[a] = true
		}
	}
	if len(set) == 0 {
		return nil, fmt.Errorf("%s --list: no applets", busybox)
	}
	return set, nil
}

// addExtraFiles adds cfg.ExtraFiles (archive path -> host path).
func (s *fileSet) addExtraFiles(cfg Config) error {
	for dst, src := range cfg.ExtraFiles {
		if _, err := os.Lstat(src); err != nil {
			return fmt.Errorf("extra file /%s: %w", rel(dst), err)
		}
		abs, err := filepath.Abs(src)
		if err != nil {
			return fmt.Errorf("extra file /%s: %w", rel(dst), err)
		}
		if err := s.add(dst, abs); err != nil {
			return fmt.Errorf("extra file: %w", err)
		}
	}
	return nil
}

// addFiles writes cfg.Files into dir (one staging file each, in order) and
// adds them at their image paths.
func (s *fileSet) addFiles(files []File, dir string) error {
	if len(files) == 0 {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("stage files: %w", err)
	}
	for i, f := range files {
		perm := os.FileMode(0o644)
		if f.Mode&0o111 != 0 {
			perm = 0o755
		}
		src := filepath.Join(dir, strconv.Itoa(i))
		if err := os.WriteFile(src, f.Data, perm); err != nil {
			return fmt.Errorf("file /%s: %w", rel(f.Path), err)
		}
		if err := os.Chmod(src, perm); err != nil { // umask
			return fmt.Errorf("file /%s: %w", rel(f.Path), err)
		}
		if err := s.add(f.Path, src); err != nil {
			return fmt.Errorf("file: %w", err)
		}
	}
	return nil
}
