package ramroot

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/plan"
)

// Zram is the "zram" step: for each device, create it if missing
// (/sys/class/zram-control/hot_add), write comp_algorithm BEFORE disksize,
// make the file system (mkfs.xfs -f or mkfs.ext4 -F) and mount it. Loading
// the zram module is the agent's job. A device whose mount point is
// already mounted is done; a configured but unmounted device is reset
// first, so re-running after a failed mkfs starts clean.
type Zram struct {
	Devices []manifest.Zram
	// Root prefixes the mount points (tests); sysfs and /dev are never
	// prefixed.
	Root string
}

// Name implements plan.Step.
func (s *Zram) Name() string { return "zram" }

// String implements plan.Step.
func (s *Zram) String() string {
	var parts []string
	for _, z := range s.Devices {
		dev := z.Device
		if n, err := ParseZramDevice(z.Device); err == nil {
			dev = "zram" + strconv.Itoa(n)
		}
		parts = append(parts, fmt.Sprintf("%s %s %s %s at %s", dev, z.Size, z.Algorithm, z.FS, z.Mount))
	}
	return strings.Join(parts, "; ")
}

// Run implements plan.Step.
func (s *Zram) Run(ctx context.Context, env *plan.Env) error {
	for _, z := range s.Devices {
		if err := s.one(ctx, env, z); err != nil {
			return err
		}
	}
	return nil
}

func (s *Zram) one(ctx context.Context, env *plan.Env, z manifest.Zram) error {
	n, err := ParseZramDevice(z.Device)
	if err != nil {
		return err
	}
	name := "zram" + strconv.Itoa(n)
	size, err := ParseSize(z.Size)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	mkfs, err := MkfsCommand(z.FS, "/dev/"+name)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	target := s.Root + z.Mount
	if ok, err := mounted(env, target); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	} else if ok {
		env.Logger().Info("zram already mounted", "device", name, "mount", target)
		return nil
	}
	h := host(env)
	sys := "/sys/block/" + name
	cur, err := h.ReadFile(sys + "/disksize")
	if err != nil {
		if err := hotAdd(env, n); err != nil {
			return err
		}
		cur = []byte("0")
	}
	if strings.TrimSpace(string(cur)) != "0" {
		if err := env.Sys.WriteFile(sys+"/reset", []byte("1"), 0); err != nil {
			return fmt.Errorf("%s: reset: %w", name, err)
		}
	}
	if z.Algorithm != "" {
		if err := env.Sys.WriteFile(sys+"/comp_algorithm", []byte(z.Algorithm), 0); err != nil {
			avail, _ := h.ReadFile(sys + "/comp_algorithm")
			return fmt.Errorf("%s: comp_algorithm %s (kernel offers: %s): %w", name, z.Algorithm, strings.TrimSpace(string(avail)), err)
		}
	}
	if err := env.Sys.WriteFile(sys+"/disksize", []byte(strconv.FormatInt(size, 10)), 0); err != nil {
		return fmt.Errorf("%s: disksize %d: %w", name, size, err)
	}
	if _, err := env.Run.Run(ctx, mkfs[0], mkfs[1:]...); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := env.Sys.MkdirAll(target); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := env.Sys.Mount("/dev/"+name, target, z.FS, 0, ""); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// hotAdd creates zram devices until zram<n> exists. Reading hot_add
// creates one device and returns its index.
func hotAdd(env *plan.Env, n int) error {
	h := host(env)
	for range n + 1 {
		b, err := h.ReadFile("/sys/class/zram-control/hot_add")
		if err != nil {
			return fmt.Errorf("zram%d: missing and hot_add failed (is the zram module loaded?): %w", n, err)
		}
		got, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			return fmt.Errorf("zram%d: hot_add returned %q", n, b)
		}
		if got == n {
			return nil
		}
		if got > n {
			return fmt.Errorf("zram%d: missing, and hot_add created zram%d", n, got)
		}
	}
	return fmt.Errorf("zram%d: hot_add did not reach it", n)
}

// MkfsCommand is the command line making file system fs on dev.
func MkfsCommand(fs, dev string) ([]string, error) {
	switch fs {
	case "xfs":
		return []string{"mkfs.xfs", "-f", "-q", dev}, nil
	case "ext4":
		return []string{"mkfs.ext4", "-F", "-q", dev}, nil
	}
	return nil, fmt.Errorf("file system %q not supported (want xfs or ext4)", fs)
}

// scratch is the directory holding the overlay upper/work dirs: the first
// zram device's mount point.
func scratch(m *manifest.Manifest) string {
	if len(m.Zram) == 0 {
		return manifest.DefaultZramMount
	}
	return filepath.Clean(m.Zram[0].Mount)
}
