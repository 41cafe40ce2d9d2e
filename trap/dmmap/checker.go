package dmmap

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Checker is the path checker the kernel lacks: every Interval it reads
// the map's status and, for each failed path, reads the first sector of
// the path's device directly; when that works it sends
// "reinstate_path MAJ:MIN". (multipathd does this in the booted OS; in
// the initramfs there is no udev for multipathd.)
type Checker struct {
	Map      string
	Interval time.Duration
	Log      *slog.Logger
	// Status, Probe and Reinstate default to the real device-mapper and
	// block devices; tests replace them.
	Status    func(name string) (string, error)
	Probe     func(devno string) error
	Reinstate func(name, devno string) error

	down map[string]bool // paths seen failed (logged once per outage)
}

// Run checks until ctx ends.
func (c *Checker) Run(ctx context.Context) {
	iv := c.Interval
	if iv <= 0 {
		iv = 5 * time.Second
	}
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		if n, err := c.Once(); err != nil {
			c.log().Warn("multipath check", "map", c.Map, "err", err)
		} else if n > 0 {
			c.log().Info("multipath paths reinstated", "map", c.Map, "paths", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Once runs one check and returns how many paths it reinstated.
func (c *Checker) Once() (int, error) {
	status := c.Status
	if status == nil {
		status = func(name string) (string, error) {
			ts, err := Status(name, false)
			if err != nil {
				return "", err
			}
			if len(ts) != 1 || ts[0].Type != "multipath" {
				return "", fmt.Errorf("dm %s: not a single multipath target", name)
			}
			return ts[0].Params, nil
		}
	}
	probe, reinstate := c.Probe, c.Reinstate
	if probe == nil {
		probe = probeDevno
	}
	if reinstate == nil {
		reinstate = func(name, dev string) error { return Message(name, "reinstate_path "+dev) }
	}
	s, err := status(c.Map)
	if err != nil {
		return 0, err
	}
	paths, err := ParseMultipathStatus(s)
	if err != nil {
		return 0, err
	}
	if c.down == nil {
		c.down = map[string]bool{}
	}
	n := 0
	for _, p := range paths {
		if p.Active {
			delete(c.down, p.Dev)
			continue
		}
		if err := probe(p.Dev); err != nil {
			if !c.down[p.Dev] {
				c.log().Warn("multipath path down", "map", c.Map, "path", p.Dev, "err", err)
			}
			c.down[p.Dev] = true
			continue
		}
		if err := reinstate(c.Map, p.Dev); err != nil {
			return n, err
		}
		c.log().Info("multipath path reinstated", "map", c.Map, "path", p.Dev)
		delete(c.down, p.Dev)
		n++
	}
	return n, nil
}

func (c *Checker) log() *slog.Logger {
	if c.Log == nil {
		return slog.Default()
	}
	return c.Log
}

// probeDevno reads sector 0 of the block device MAJ:MIN with O_DIRECT
// (through /sys/dev/block/MAJ:MIN's node in /dev).
func probeDevno(dev string) error {
	ma, mi, err := ParseDevno(dev)
	if err != nil {
		return err
	}
	p := fmt.Sprintf("/dev/.dt-probe-%d-%d", ma, mi)
	_ = os.Remove(p)
	if err := unix.Mknod(p, unix.S_IFBLK|0o600, int(unix.Mkdev(ma, mi))); err != nil {
		return fmt.Errorf("probe %s: mknod: %w", dev, err)
	}
	defer os.Remove(p)
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_DIRECT, 0)
	if err != nil {
		return fmt.Errorf("probe %s: %w", dev, err)
	}
	defer unix.Close(fd)
	buf, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return err
	}
	defer unix.Munmap(buf)
	if _, err := unix.Pread(fd, buf, 0); err != nil {
		return fmt.Errorf("probe %s: read: %w", dev, err)
	}
	return nil
}
