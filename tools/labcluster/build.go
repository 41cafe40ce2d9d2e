package labcluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// RepoRoot is the directory holding the project's go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/disklesstrap/disklesstrap\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errNoRepo
		}
		dir = parent
	}
}

// Kernel is the cached guest kernel (make lab-deps fetches it).
type Kernel struct {
	Version     string
	Vmlinuz     string
	ModulesRoot string // contains lib/modules/Version
}

// CacheDir is $DT_CACHE or REPO/.cache.
func CacheDir() (string, error) {
	if d := os.Getenv("DT_CACHE"); d != "" {
		return d, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, ".cache"), nil
}

// FindKernel locates the guest kernel cache.
func FindKernel() (*Kernel, error) {
	cache, err := CacheDir()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(cache, "kernel")
	v, err := os.ReadFile(filepath.Join(dir, "KVER"))
	if err != nil {
		return nil, fmt.Errorf("guest kernel cache %s missing (run make lab-deps): %w", dir, err)
	}
	k := &Kernel{Version: strings.TrimSpace(string(v)), Vmlinuz: filepath.Join(dir, "vmlinuz"), ModulesRoot: filepath.Join(dir, "root")}
	if _, err := os.Stat(k.Vmlinuz); err != nil {
		return nil, fmt.Errorf("guest kernel (run make lab-deps): %w", err)
	}
	return k, nil
}

// BuildInitrd builds the trap initramfs for the cached guest kernel.
func BuildInitrd(ctx context.Context, out string) (string, error) {
	return BuildInitrdExtra(ctx, out, InitrdExtra{})
}

// BuildInitrdWith is BuildInitrd with helper binaries (initrd.Config.Helpers,
// e.g. initrd.TorrentHelper) in /bin.
func BuildInitrdWith(ctx context.Context, out string, helpers []string) (string, error) {
	return BuildInitrdExtra(ctx, out, InitrdExtra{Helpers: helpers})
}

// GoBuild builds a command of this module into dir and returns its path.
func GoBuild(ctx context.Context, pkg, dir string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w: %s", pkg, err, b)
	}
	return out, nil
}

// GrubCache is tools/grub/fetch.sh's folder: $DT_GRUB_CACHE, else
// CACHE/grub (make lab-deps fills it).
func GrubCache() (string, error) {
	if d := os.Getenv("DT_GRUB_CACHE"); d != "" {
		return d, nil
	}
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "grub")
	if _, err := os.Stat(filepath.Join(dir, "root", "usr", "sbin", "grub-install")); err != nil {
		return "", fmt.Errorf("grub cache %s missing (run make lab-deps): %w", dir, err)
	}
	return dir, nil
}

// BuildDiskOS builds the lab's installable disk OS (images/diskos/build.sh:
// the test OS with the guest kernel, its own initramfs and grub) into dir.
func BuildDiskOS(ctx context.Context, dir string) error {
	root, err := RepoRoot()
	if err != nil {
		return err
	}
	k, err := FindKernel()
	if err != nil {
		return err
	}
	g, err := GrubCache()
	if err != nil {
		return err
	}
	kdir := filepath.Dir(k.Vmlinuz)
	out, err := exec.CommandContext(ctx, filepath.Join(root, "images/diskos/build.sh"), dir, kdir, g).CombinedOutput()
	if err != nil {
		return fmt.Errorf("images/diskos/build.sh: %w\n%s", err, out)
	}
	return nil
}
