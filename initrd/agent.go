package initrd

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// agentBinary returns the path of the /init binary: cfg.Agent itself when
// it is a prebuilt ELF file, else cfg.Agent compiled into dir.
func agentBinary(ctx context.Context, cfg Config, dir string) (string, error) {
	if fi, err := os.Stat(cfg.Agent); err == nil && fi.Mode().IsRegular() {
		if err := checkStaticELF(cfg.Agent); err != nil {
			return "", fmt.Errorf("agent binary %s: %w", cfg.Agent, err)
		}
		slog.Info("initrd: prebuilt agent", "path", cfg.Agent, "bytes", fi.Size())
		return cfg.Agent, nil
	}
	if cfg.Agent == DefaultAgent {
		if p, ok := prebuiltFile(cfg.Prebuilt, prebuiltAgent); ok {
			slog.Info("initrd: prebuilt agent", "path", p)
			return p, nil
		}
	}
	out := filepath.Join(dir, "init")
	if err := goBuild(ctx, cfg.ModuleDir, cfg.Agent, out); err != nil {
		return "", fmt.Errorf("agent %s: %w", cfg.Agent, err)
	}
	if err := checkStaticELF(out); err != nil {
		return "", fmt.Errorf("agent %s: %w", cfg.Agent, err)
	}
	return out, nil
}

// addHelpers builds each of cfg.Helpers into /bin/<base name>.
func (s *fileSet) addHelpers(ctx context.Context, cfg Config, dir string) error {
	for _, pkg := range cfg.Helpers {
		name := path.Base(strings.TrimSuffix(pkg, "/"))
		if name == "." || name == "/" || name == "" {
			return fmt.Errorf("helper %q: no command name", pkg)
		}
		if p, ok := prebuiltFile(cfg.Prebuilt, name); ok {
			if err := s.add("bin/"+name, p); err != nil {
				return err
			}
			continue
		}
		out := filepath.Join(dir, "helper-"+name)
		if err := goBuild(ctx, cfg.ModuleDir, pkg, out); err != nil {
			return fmt.Errorf("helper %s: %w", pkg, err)
		}
		if err := checkStaticELF(out); err != nil {
			return fmt.Errorf("helper %s: %w", pkg, err)
		}
		if err := s.add("bin/"+name, out); err != nil {
			return err
		}
	}
	return nil
}

// goBuild compiles pkg for linux/amd64 with a reproducible, stripped,
// static link: CGO off, -trimpath, no build id, no VCS stamp.
func goBuild(ctx context.Context, moduleDir, pkg, out string) error {
	if moduleDir == "" {
		return fmt.Errorf("no prebuilt %s and no Go source tree to build it in (set -module-dir, or -prebuilt to a directory holding it)", pkg)
	}
	start := time.Now()
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false",
		"-ldflags=-s -w -buildid=", "-o", out, pkg)
	cmd.Dir = moduleDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 2000 {
			msg = msg[:2000] + "..."
		}
		return fmt.Errorf("go build (in %s): %w: %s", moduleDir, err, msg)
	}
	fi, err := os.Stat(out)
	if err != nil {
		return fmt.Errorf("go build wrote no %s: %w", out, err)
	}
	slog.Info("initrd: built", "package", pkg, "bytes", fi.Size(), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// checkStaticELF makes sure an /init candidate is an x86-64 executable
// without an ELF interpreter (nothing else is in the image to load it).
func checkStaticELF(file string) error {
	f, err := elf.Open(file)
	if err != nil {
		return fmt.Errorf("not an ELF executable: %w", err)
	}
	defer f.Close()
	if f.Machine != elf.EM_X86_64 {
		return fmt.Errorf("ELF machine %v, want %v", f.Machine, elf.EM_X86_64)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("dynamically linked (has an ELF interpreter); build it static (CGO_ENABLED=0)")
		}
	}
	return nil
}
