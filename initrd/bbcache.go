package initrd

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// The Go busybox of u-root commands is rebuilt by gobusybox with `go build
// -a` (~20 s on two cores) whatever Go's build cache holds. Its output is
// reproducible, so Build keeps the binary in a cache keyed by everything
// it depends on: the commands, the Go version, GOOS/GOARCH and the
// module's go.mod and go.sum.

// bbCacheKey returns the cache key of a Go busybox build, or "" when
// caching is off or the inputs cannot be read.
func bbCacheKey(ctx context.Context, cfg Config) string {
	if cfg.NoCache || len(cfg.UrootCommands) == 0 {
		return ""
	}
	out, err := exec.CommandContext(ctx, "go", "env", "GOVERSION").Output()
	if err != nil {
		slog.Warn("initrd: go env GOVERSION failed, not caching the Go busybox", "err", err)
		return ""
	}
	h := sha256.New()
	fmt.Fprintf(h, "gbb v1\nlinux/amd64 cgo=0\n%s\n", bytes.TrimSpace(out))
	cmds := append([]string(nil), cfg.UrootCommands...)
	sort.Strings(cmds)
	fmt.Fprintf(h, "%s\n", strings.Join(cmds, "\n"))
	for _, f := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join(cfg.ModuleDir, f))
		if err != nil {
			slog.Warn("initrd: not caching the Go busybox", "err", err)
			return ""
		}
		fmt.Fprintf(h, "%s %d\n", f, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// cacheDir returns cfg.CacheDir or the user's cache dir.
func cacheDir(cfg Config) (string, error) {
	if cfg.CacheDir != "" {
		return cfg.CacheDir, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "disklesstrap", "initrd"), nil
}

// cachedBusybox returns the path of a cached Go busybox for key, or "".
func cachedBusybox(cfg Config, key string) string {
	if key == "" {
		return ""
	}
	dir, err := cacheDir(cfg)
	if err != nil {
		return ""
	}
	p := filepath.Join(dir, "bb-"+key)
	if err := checkStaticELF(p); err != nil {
		return ""
	}
	return p
}

// addCachedBusybox adds a cached /bbin/bb and the /bbin/CMD -> bb links
// exactly as mkuimage's busybox builder would.
func (s *fileSet) addCachedBusybox(bb string, cmds []string) error {
	if err := s.add("bbin/bb", bb); err != nil {
		return err
	}
	for _, c := range cmds {
		name := path.Base(c)
		if name == "bb" {
			continue
		}
		if err := s.symlinkRel("bbin/"+name, "bb"); err != nil {
			return err
		}
	}
	return nil
}

// storeBusybox copies /bbin/bb out of a built archive into the cache.
func storeBusybox(cfg Config, key, archive string) error {
	if key == "" {
		return nil
	}
	dir, err := cacheDir(cfg)
	if err != nil {
		return err
	}
	dst := filepath.Join(dir, "bb-"+key)
	if err := extractBusybox(archive, dst); err != nil {
		return err
	}
	slog.Info("initrd: cached the Go busybox", "path", dst)
	return nil
}
