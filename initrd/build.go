package initrd

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/u-root/gobusybox/src/pkg/golang"
	"github.com/u-root/mkuimage/uimage"
	"github.com/u-root/uio/llog"
)

// Build builds the initramfs described by cfg and writes it to cfg.Output.
func Build(ctx context.Context, cfg Config) (*Result, error) {
	start := time.Now()
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.TempDir, 0o755); err != nil {
		return nil, fmt.Errorf("initrd: temp dir: %w", err)
	}
	work, err := os.MkdirTemp(cfg.TempDir, "initrd-")
	if err != nil {
		return nil, fmt.Errorf("initrd: temp dir: %w", err)
	}
	defer os.RemoveAll(work)
	stage := filepath.Join(work, "stage")
	mkTmp := filepath.Join(work, "mkuimage")
	for _, d := range []string{stage, mkTmp} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return nil, fmt.Errorf("initrd: %w", err)
		}
	}
	slog.Info("initrd: build", "output", cfg.Output, "agent", cfg.Agent, "modules", len(cfg.Modules),
		"uroot_commands", len(cfg.UrootCommands), "host_binaries", len(cfg.HostBinaries))

	// Cheap checks (host files, modules) first, the agent build last.
	fs := newFileSet()
	if err := fs.addHostBinaries(ctx, cfg); err != nil {
		return nil, fmt.Errorf("initrd: %w", err)
	}
	mods, err := fs.addModules(cfg, stage)
	if err != nil {
		return nil, fmt.Errorf("initrd: %w", err)
	}
	confFile := filepath.Join(stage, "config.json")
	if err := os.WriteFile(confFile, cfg.AgentConfig, 0o644); err != nil {
		return nil, fmt.Errorf("initrd: agent config: %w", err)
	}
	if err := os.Chmod(confFile, 0o644); err != nil {
		return nil, fmt.Errorf("initrd: agent config: %w", err)
	}
	if err := fs.add(AgentConfigPath, confFile); err != nil {
		return nil, fmt.Errorf("initrd: %w", err)
	}
	if err := fs.addExtraFiles(cfg); err != nil {
		return nil, fmt.Errorf("initrd: %w", err)
	}
	if err := fs.addFiles(cfg.Files, filepath.Join(stage, "files")); err != nil {
		return nil, fmt.Errorf("initrd: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	agent, err := agentBinary(ctx, cfg, work)
	if err != nil {
		return nil, fmt.Errorf("initrd: %w", err)
	}
	if err := fs.add("init", agent); err != nil {
		return nil, fmt.Errorf("initrd: %w", err)
	}
	if err := fs.symlink("bin/trap", "/init"); err != nil {
		return nil, fmt.Errorf("initrd: %w", err)
	}
	if err := fs.addHelpers(ctx, cfg, work); err != nil {
		return nil, fmt.Errorf("initrd: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	var bbKey, bbCached string
	if bb, ok := prebuiltBusyboxFor(cfg.Prebuilt, cfg.UrootCommands); ok {
		bbCached = bb
	} else {
		bbKey = bbCacheKey(ctx, cfg)
		bbCached = cachedBusybox(cfg, bbKey)
	}
	if bbCached != "" {
		slog.Info("initrd: Go busybox from cache", "path", bbCached)
		if err := fs.addCachedBusybox(bbCached, cfg.UrootCommands); err != nil {
			return nil, fmt.Errorf("initrd: %w", err)
		}
		cfg.UrootCommands = nil
	}
	raw := filepath.Join(work, "initramfs.cpio")
	if err := runMkuimage(cfg, fs, mkTmp, raw); err != nil {
		return nil, fmt.Errorf("initrd: %w", err)
	}
	if bbCached == "" && len(cfg.UrootCommands) > 0 {
		if err := storeBusybox(cfg, bbKey, raw); err != nil {
			slog.Warn("initrd: could not cache the Go busybox", "err", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if dir := filepath.Dir(cfg.Output); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("initrd: output dir: %w", err)
		}
	}
	n, err := writeNormalized(raw, cfg.Output, cfg.Compression, fs.symlinkRecords())
	if err != nil {
		return nil, fmt.Errorf("initrd: %w", err)
	}
	res := &Result{
		Path:     cfg.Output,
		Size:     n.size,
		SHA256:   n.sha256,
		Files:    n.files,
		Modules:  mods,
		Duration: time.Since(start),
	}
	slog.Info("initrd: wrote", "output", res.Path, "bytes", res.Size, "sha256", res.SHA256,
		"entries", len(res.Files), "took", res.Duration.Round(time.Millisecond))
	return res, nil
}

// runMkuimage assembles the uncompressed archive with u-root's builder:
// the base ramfs (/dev/console and friends), the Go busybox and the files
// collected. The symlinks are added when the archive is normalized.
func runMkuimage(cfg Config, fs *fileSet, tmp, out string) error {
	env := []golang.Opt{golang.DisableCGO(), golang.WithGOOS("linux"), golang.WithGOARCH("amd64"),
		golang.WithWorkingDir(cfg.ModuleDir)}
	if len(cfg.UrootCommands) > 0 {
		goroot, err := goRoot()
		if err != nil {
			return err
		}
		env = append(env, golang.WithGOROOT(goroot))
	}
	mods := []uimage.Modifier{
		uimage.WithTempDir(tmp),
		uimage.WithEnv(env...),
		uimage.WithBaseArchive(uimage.DefaultRamfs()),
		uimage.WithSkipLDD(), // libraries were resolved by addHostBinaries
		uimage.WithFiles(fs.specs()...),
		uimage.WithCPIOOutput(out),
	}
	if len(cfg.UrootCommands) > 0 {
		mods = append(mods, uimage.WithBusyboxCommands(cfg.UrootCommands...))
	}
	start := time.Now()
	if err := uimage.Create(mkuimageLogger(), mods...); err != nil {
		return fmt.Errorf("mkuimage: %w", err)
	}
	slog.Info("initrd: mkuimage assembled archive", "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// mkuimageLogger forwards u-root's builder log lines to slog.
func mkuimageLogger() *llog.Logger {
	return &llog.Logger{
		Level: slog.LevelInfo,
		Sink: func(level slog.Level, format string, args ...any) {
			slog.Log(context.Background(), level, "initrd: mkuimage: "+strings.TrimSpace(fmt.Sprintf(format, args...)))
		},
	}
}

// goRoot is the Go toolchain's GOROOT. u-root's builder takes it from
// runtime.GOROOT(), which is empty in a -trimpath binary (make build),
// and would then run "bin/go": ask `go env` instead.
func goRoot() (string, error) {
	if r := os.Getenv("GOROOT"); r != "" {
		return r, nil
	}
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return "", fmt.Errorf("building u-root commands needs the Go toolchain (go env GOROOT: %v); "+
			"a head node uses the prebuilt ones in %s", err, DefaultPrebuiltDir)
	}
	return strings.TrimSpace(string(out)), nil
}
