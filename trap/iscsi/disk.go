package iscsi

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/dmmap"
	"github.com/disklesstrap/disklesstrap/trap/plan"
)

// Map names (the Ocean recipe's: luks_root, luks_root1, system-var).
const (
	MultipathName   = "mpatha"
	DefaultLUKSName = "luks_root"
)

// Multipath is the "multipath" step: wait for one disk per portal, read
// the WWID, build a dm-multipath map (queue_if_no_path, DM UUID
// mpath-WWID) read-only, and start the path checker. With one portal and
// multipath off it does nothing (the disk is used directly).
type Multipath struct {
	Config manifest.ISCSI
	// Wait is how long to wait for the paths (default 30 s).
	Wait time.Duration
}

// Name implements plan.Step.
func (s *Multipath) Name() string { return "multipath" }

// String implements plan.Step.
func (s *Multipath) String() string {
	if !multipath(&s.Config) {
		return "single path: none"
	}
	return fmt.Sprintf("%s over %d path(s) of %s LUN %d, queue_if_no_path, uuid mpath-<WWID>, ro; path checker",
		MultipathName, len(s.Config.Portals), s.Config.Target, lunOf(&s.Config))
}

func lunOf(c *manifest.ISCSI) int {
	if c.LUN > 0 {
		return c.LUN
	}
	return 1
}

// paths waits until every portal has a disk (or Wait passes; then it
// goes on with what it has, at least one).
func paths(ctx context.Context, st Storage, c *manifest.ISCSI, wait time.Duration) ([]Path, error) {
	if wait <= 0 {
		wait = 30 * time.Second
	}
	deadline := time.Now().Add(wait)
	for {
		ps, err := st.Paths(c.Target, lunOf(c))
		if err != nil {
			return nil, err
		}
		if len(ps) >= len(c.Portals) || len(ps) > 0 && time.Now().After(deadline) {
			return ps, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no disk for %s LUN %d after %s", c.Target, lunOf(c), wait)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Run implements plan.Step.
func (s *Multipath) Run(ctx context.Context, env *plan.Env) error {
	c := &s.Config
	if !multipath(c) {
		return nil
	}
	st := storage(env)
	ps, err := paths(ctx, st, c, s.Wait)
	if err != nil {
		return err
	}
	if len(ps) < len(c.Portals) {
		env.Logger().Warn("multipath map with fewer paths than portals", "target", c.Target, "paths", len(ps), "portals", len(c.Portals))
	}
	wwid, err := st.ReadFile("/sys/block/" + ps[0].Disk + "/device/wwid")
	if err != nil {
		return fmt.Errorf("wwid of %s: %w", ps[0].Disk, err)
	}
	sizeText, err := st.ReadFile("/sys/block/" + ps[0].Disk + "/size")
	if err != nil {
		return fmt.Errorf("size of %s: %w", ps[0].Disk, err)
	}
	sectors, err := strconv.ParseUint(strings.TrimSpace(string(sizeText)), 10, 64)
	if err != nil || sectors == 0 {
		return fmt.Errorf("size of %s: %q", ps[0].Disk, sizeText)
	}
	var devs []string
	for _, p := range ps {
		devs = append(devs, p.Devno)
	}
	t, err := dmmap.MultipathTarget(sectors, devs, true)
	if err != nil {
		return err
	}
	id := SCSIID(string(wwid))
	if err := st.DMCreate(MultipathName, dmmap.MultipathUUID(id), true, []dmmap.Target{t}); err != nil {
		return err
	}
	st.StartChecker(MultipathName)
	return nil
}

// diskDevice is the device the LUKS volume (or the partitions) sits on:
// the multipath map, or the single path's disk.
func diskDevice(ctx context.Context, st Storage, c *manifest.ISCSI) (string, error) {
	if multipath(c) {
		d, err := st.DMDevno(MultipathName)
		if err != nil {
			return "", err
		}
		return DevPath(d), nil
	}
	ps, err := paths(ctx, st, c, 30*time.Second)
	if err != nil {
		return "", err
	}
	return "/dev/" + ps[0].Disk, nil
}

// LUKSOpen is the "luks open" step: fetch the passphrase by reference
// (memory only; the Ocean recipe's /dev/shm key file is not needed) and
// open the disk as the dm-crypt map Name with anatol/luks.go.
type LUKSOpen struct {
	Config manifest.ISCSI
}

// Name implements plan.Step.
func (s *LUKSOpen) Name() string { return "luks open" }

func luksName(c *manifest.ISCSI) string {
	if c.LUKS != nil && c.LUKS.Name != "" {
		return c.LUKS.Name
	}
	return DefaultLUKSName
}

// String implements plan.Step.
func (s *LUKSOpen) String() string {
	if s.Config.LUKS == nil {
		return "not encrypted: none"
	}
	dev := "the disk"
	if multipath(&s.Config) {
		dev = MultipathName
	}
	return fmt.Sprintf("%s as %s, key from secret %s (memory only)", dev, luksName(&s.Config), s.Config.LUKS.Key.Name)
}

// Run implements plan.Step.
func (s *LUKSOpen) Run(ctx context.Context, env *plan.Env) error {
	c := &s.Config
	if c.LUKS == nil {
		return nil
	}
	st := storage(env)
	if _, err := st.DMDevno(luksName(c)); err == nil {
		return nil
	}
	dev, err := diskDevice(ctx, st, c)
	if err != nil {
		return err
	}
	key, err := secret(ctx, st, env, c.LUKS.Key.Name)
	if err != nil {
		return fmt.Errorf("luks key %s: %w", c.LUKS.Key.Name, err)
	}
	defer zero(key)
	if err := st.LUKSOpen(dev, key, luksName(c)); err != nil {
		return fmt.Errorf("luks open %s: %w", dev, err)
	}
	return nil
}

// topDevice is what holds the partitions: the LUKS map or the disk.
func topDevice(ctx context.Context, st Storage, c *manifest.ISCSI) (string, string, error) {
	if c.LUKS != nil {
		d, err := st.DMDevno(luksName(c))
		if err != nil {
			return "", "", err
		}
		return DevPath(d), luksName(c), nil
	}
	dev, err := diskDevice(ctx, st, c)
	name := MultipathName
	if !multipath(c) {
		name = strings.TrimPrefix(dev, "/dev/")
	}
	return dev, name, err
}

// SCSIID turns the kernel's sysfs wwid ("naa.6000…", "eui.…", "t10.…")
// into the WWID multipath-tools use (udev's ID_SERIAL from scsi_id: the
// designator type digit then the identifier: "36000…"), so the booted OS's
// multipathd recognises the map by its DM UUID mpath-<WWID> and adopts it.
// Anything else is kept, spaces turned into '_'.
func SCSIID(wwid string) string {
	w := strings.TrimSpace(wwid)
	for prefix, typ := range map[string]string{"naa.": "3", "eui.": "2", "t10.": "1"} {
		if rest, ok := strings.CutPrefix(w, prefix); ok && rest != "" {
			if typ == "1" {
				return typ + strings.Join(strings.Fields(rest), "_")
			}
			return typ + strings.ToLower(rest)
		}
	}
	return strings.ReplaceAll(w, " ", "_")
}
