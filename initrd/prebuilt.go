package initrd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/u-root/u-root/pkg/cpio"
)

// A head node installed from the Debian package has no Go toolchain and
// no source tree. The package ships the Go parts of the image prebuilt in
// DefaultPrebuiltDir (written by Prebuild at package build time), and
// Build only assembles them with the host binaries and kernel modules:
//
//	trap          the agent (/init)
//	trap-torrent  the BitTorrent helper (TorrentHelper)
//	bb            the Go busybox of the u-root commands listed in
//	bb.commands   (one import path a line)
//
// Build takes a prebuilt part whenever it is what the Config asks for (the
// default agent, a helper of that name, exactly those u-root commands) and
// compiles only the rest, which then needs Go and the source tree.

// DefaultPrebuiltDir is where the Debian package installs the prebuilt
// parts. Build uses it when Config.Prebuilt is empty and no go.mod is found.
const DefaultPrebuiltDir = "/usr/lib/disklesstrap/initrd"

const (
	prebuiltAgent    = "trap"
	prebuiltBusybox  = "bb"
	prebuiltCommands = "bb.commands"
)

// prebuiltFile returns dir/name when it is a static x86-64 executable.
func prebuiltFile(dir, name string) (string, bool) {
	if dir == "" {
		return "", false
	}
	p := filepath.Join(dir, name)
	if err := checkStaticELF(p); err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			slog.Warn("initrd: prebuilt file unusable", "path", p, "err", err)
		}
		return "", false
	}
	return p, true
}

// prebuiltBusyboxFor returns the prebuilt Go busybox when it holds exactly
// cmds (in any order).
func prebuiltBusyboxFor(dir string, cmds []string) (string, bool) {
	bb, ok := prebuiltFile(dir, prebuiltBusybox)
	if !ok || len(cmds) == 0 {
		return "", false
	}
	b, err := os.ReadFile(filepath.Join(dir, prebuiltCommands))
	if err != nil {
		return "", false
	}
	have := strings.Fields(string(b))
	want := append([]string(nil), cmds...)
	slices.Sort(have)
	slices.Sort(want)
	if !slices.Equal(have, slices.Compact(want)) {
		slog.Info("initrd: prebuilt Go busybox has other u-root commands; building", "prebuilt", have, "want", want)
		return "", false
	}
	return bb, true
}

// PrebuildConfig says what Prebuild compiles.
type PrebuildConfig struct {
	Dir       string // output directory
	ModuleDir string // the disklesstrap source tree (default: nearest go.mod)
	// UrootCommands for bb; nil means DefaultUrootCommands.
	UrootCommands []string
	TempDir       string
}

// Prebuild compiles the agent, the torrent helper and the Go busybox into
// cfg.Dir (the Debian package's DefaultPrebuiltDir), reproducibly.
func Prebuild(ctx context.Context, cfg PrebuildConfig) error {
	if cfg.ModuleDir == "" {
		d, err := findModuleDir()
		if err != nil {
			return err
		}
		cfg.ModuleDir = d
	}
	if cfg.UrootCommands == nil {
		cfg.UrootCommands = DefaultUrootCommands
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return fmt.Errorf("initrd prebuild: %w", err)
	}
	for name, pkg := range map[string]string{prebuiltAgent: DefaultAgent, path.Base(TorrentHelper): TorrentHelper} {
		if err := goBuild(ctx, cfg.ModuleDir, pkg, filepath.Join(cfg.Dir, name)); err != nil {
			return fmt.Errorf("initrd prebuild %s: %w", pkg, err)
		}
	}
	work, err := os.MkdirTemp(cfg.TempDir, "initrd-prebuild-")
	if err != nil {
		return fmt.Errorf("initrd prebuild: %w", err)
	}
	defer os.RemoveAll(work)
	raw := filepath.Join(work, "bb.cpio")
	bc := Config{ModuleDir: cfg.ModuleDir, UrootCommands: cfg.UrootCommands}
	if err := runMkuimage(bc, newFileSet(), work, raw); err != nil {
		return fmt.Errorf("initrd prebuild: %w", err)
	}
	if err := extractBusybox(raw, filepath.Join(cfg.Dir, prebuiltBusybox)); err != nil {
		return fmt.Errorf("initrd prebuild: %w", err)
	}
	cmds := append([]string(nil), cfg.UrootCommands...)
	slices.Sort(cmds)
	return os.WriteFile(filepath.Join(cfg.Dir, prebuiltCommands), []byte(strings.Join(cmds, "\n")+"\n"), 0o644)
}

// extractBusybox copies /bbin/bb out of a built archive to dst (0755),
// atomically.
func extractBusybox(archive, dst string) error {
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	rr := cpio.Newc.Reader(f)
	for {
		r, err := rr.ReadRecord()
		if err == io.EOF {
			return fmt.Errorf("archive %s has no bbin/bb", archive)
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", archive, err)
		}
		if cpio.Normalize(r.Name) != "bbin/bb" {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		tmp, err := os.CreateTemp(filepath.Dir(dst), ".bb-*")
		if err != nil {
			return err
		}
		defer os.Remove(tmp.Name())
		if _, err := io.Copy(tmp, io.NewSectionReader(r.ReaderAt, 0, int64(r.FileSize))); err != nil {
			tmp.Close()
			return err
		}
		if err := tmp.Chmod(0o755); err != nil {
			tmp.Close()
			return err
		}
		if err := tmp.Close(); err != nil {
			return err
		}
		return os.Rename(tmp.Name(), dst)
	}
}
