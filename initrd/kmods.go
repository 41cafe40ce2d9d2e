package initrd

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"path/filepath"
)

// moduleIndexes are the depmod text files shipped, trimmed to the modules
// included. modules.dep is written from the parsed index instead.
var moduleIndexes = []string{"modules.alias", "modules.softdep", "modules.order"}

// addModules adds cfg.Modules, their dependencies and trimmed depmod
// indexes under lib/modules/KVER. Generated files are written to stage.
// It returns the module files included.
func (s *fileSet) addModules(cfg Config, stage string) ([]string, error) {
	if len(cfg.Modules) == 0 {
		return nil, nil
	}
	kdir := filepath.Join(cfg.ModulesRoot, "lib", "modules", cfg.KernelVersion)
	depFile := filepath.Join(kdir, "modules.dep")
	raw, err := os.ReadFile(depFile)
	if err != nil {
		return nil, fmt.Errorf("kernel modules: %w (run tools/kernel/fetch.sh)", err)
	}
	md, err := ParseModulesDep(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", depFile, err)
	}
	builtin := map[string]bool{}
	var builtinRaw []byte
	if b, err := os.ReadFile(filepath.Join(kdir, "modules.builtin")); err == nil {
		builtinRaw = b
		if builtin, err = ParseBuiltin(bytes.NewReader(b)); err != nil {
			return nil, fmt.Errorf("%s: %w", kdir, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("kernel modules: %w", err)
	}
	files, builtins, err := md.Resolve(append(append([]string{}, cfg.Modules...), cfg.OnDemand...), builtin)
	if err != nil {
		if errors.Is(err, ErrModuleNotFound) {
			return nil, fmt.Errorf("%v in %s", err, depFile)
		}
		return nil, fmt.Errorf("%s: %w", depFile, err)
	}
	if len(builtins) > 0 {
		slog.Info("initrd: modules built into the kernel", "modules", builtins)
	}
	dstDir := path.Join("lib/modules", cfg.KernelVersion)
	names := map[string]bool{}
	for _, f := range files {
		src := filepath.Join(kdir, filepath.FromSlash(f))
		fi, err := os.Stat(src)
		if err != nil {
			return nil, fmt.Errorf("module %s listed in %s: %w", ModuleName(f), depFile, err)
		}
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("module %s: %s is not a regular file", ModuleName(f), src)
		}
		if err := s.add(path.Join(dstDir, f), src); err != nil {
			return nil, err
		}
		names[ModuleName(f)] = true
	}

	stageK := filepath.Join(stage, "lib", "modules", cfg.KernelVersion)
	if err := os.MkdirAll(stageK, 0o755); err != nil {
		return nil, fmt.Errorf("stage modules: %w", err)
	}
	var dep bytes.Buffer
	if err := md.WriteSubset(&dep, files); err != nil {
		return nil, fmt.Errorf("modules.dep subset: %w", err)
	}
	gen := map[string][]byte{"modules.dep": dep.Bytes()}
	if builtinRaw != nil {
		gen["modules.builtin"] = builtinRaw
	}
	for _, idx := range moduleIndexes {
		b, err := os.ReadFile(filepath.Join(kdir, idx))
		if errors.Is(err, os.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("kernel modules: %w", err)
		}
		var out bytes.Buffer
		if err := FilterModuleLines(&out, bytes.NewReader(b), names); err != nil {
			return nil, fmt.Errorf("%s/%s: %w", kdir, idx, err)
		}
		gen[idx] = out.Bytes()
	}
	for name, b := range gen {
		p := filepath.Join(stageK, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return nil, fmt.Errorf("stage %s: %w", name, err)
		}
		if err := os.Chmod(p, 0o644); err != nil { // umask-proof
			return nil, fmt.Errorf("stage %s: %w", name, err)
		}
		if err := s.add(path.Join(dstDir, name), p); err != nil {
			return nil, err
		}
	}
	slog.Info("initrd: kernel modules", "kver", cfg.KernelVersion, "requested", len(cfg.Modules), "included", len(files))
	return files, nil
}
