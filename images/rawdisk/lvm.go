package rawdisk

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// lvmConfig confines lvm to one device and keeps it from writing
// backups/archives into the host's /etc/lvm or waiting for udev.
func lvmConfig(dev string) string {
	return `devices { obtain_device_list_from_udev=0 scan=["/dev"] filter=["a|^` + dev + `$|","r|.*|"] } ` +
		`activation { udev_sync=0 udev_rules=0 monitoring=0 } backup { backup=0 archive=0 } global { locking_type=0 }`
}

// buildPV writes an LVM PV of size bytes into file pv, with VG vg holding
// one linear LV lv of lvSize bytes filled from the file system image fs.
// It returns the PV's pe_start in bytes.
func buildPV(ctx context.Context, pv, vg, lv, fs string, size, lvSize int64) (int64, error) {
	if err := os.WriteFile(pv, nil, 0o600); err != nil {
		return 0, err
	}
	if err := os.Truncate(pv, size); err != nil {
		return 0, err
	}
	out, err := run(ctx, nil, "losetup", "-f", "--show", pv)
	if err != nil {
		return 0, fmt.Errorf("rawdisk: loop device for the PV: %w", err)
	}
	dev := strings.TrimSpace(out)
	if !strings.HasPrefix(dev, "/dev/loop") {
		return 0, fmt.Errorf("rawdisk: losetup printed %q", dev)
	}
	defer run(context.WithoutCancel(ctx), nil, "losetup", "-d", dev)
	cfg := lvmConfig(dev)
	if _, err := run(ctx, nil, "lvm", "pvcreate", "--config", cfg, "-y", dev); err != nil {
		return 0, fmt.Errorf("rawdisk: %w", err)
	}
	if _, err := run(ctx, nil, "lvm", "vgcreate", "--config", cfg, "-s", "4m", vg, dev); err != nil {
		return 0, fmt.Errorf("rawdisk: %w", err)
	}
	backup := filepath.Join(filepath.Dir(pv), "vg.txt")
	if _, err := run(ctx, nil, "lvm", "vgcfgbackup", "--config", cfg, "-f", backup, vg); err != nil {
		return 0, fmt.Errorf("rawdisk: %w", err)
	}
	text, err := os.ReadFile(backup)
	if err != nil {
		return 0, err
	}
	meta, peStart, err := AddLinearLV(string(text), lv, lvSize)
	if err != nil {
		return 0, err
	}
	if err := os.WriteFile(backup, []byte(meta), 0o600); err != nil {
		return 0, err
	}
	// vgcfgrestore warns that it cannot check for active LVs without
	// device-mapper, and restores anyway.
	if _, err := run(ctx, nil, "lvm", "vgcfgrestore", "--config", cfg, "-f", backup, vg); err != nil {
		return 0, fmt.Errorf("rawdisk: %w", err)
	}
	out, err = run(ctx, nil, "lvm", "lvs", "--config", cfg, "--noheadings", "-o", "lv_name,seg_pe_ranges", vg)
	if err != nil {
		return 0, fmt.Errorf("rawdisk: %w", err)
	}
	if want := dev + ":0-"; !strings.Contains(out, lv) || !strings.Contains(out, want) {
		return 0, fmt.Errorf("rawdisk: lvs after restore: %q, want LV %s on %s", strings.TrimSpace(out), lv, want)
	}
	if err := copyAt(pv, fs, peStart); err != nil {
		return 0, err
	}
	return peStart, nil
}

var (
	extentRE  = regexp.MustCompile(`(?m)^\s*extent_size = (\d+)`)
	peStartRE = regexp.MustCompile(`(?m)^\s*pe_start = (\d+)`)
	peCountRE = regexp.MustCompile(`(?m)^\s*pe_count = (\d+)`)
	seqnoRE   = regexp.MustCompile(`(?m)^(\s*seqno = )(\d+)`)
)

// AddLinearLV adds a linear LV named lv of size bytes, on pv0 from extent
// 0, to the text VG metadata of a VG with one PV and no LV (what
// vgcfgbackup writes after vgcreate), bumps seqno, and returns the new
// metadata and the PV's pe_start in bytes.
func AddLinearLV(meta, lv string, size int64) (string, int64, error) {
	num := func(re *regexp.Regexp, what string) (int64, error) {
		m := re.FindStringSubmatch(meta)
		if m == nil {
			return 0, fmt.Errorf("rawdisk: VG metadata has no %s", what)
		}
		return strconv.ParseInt(m[1], 10, 64)
	}
	ext, err := num(extentRE, "extent_size")
	if err != nil {
		return "", 0, err
	}
	peStart, err := num(peStartRE, "pe_start")
	if err != nil {
		return "", 0, err
	}
	peCount, err := num(peCountRE, "pe_count")
	if err != nil {
		return "", 0, err
	}
	if strings.Contains(meta, "logical_volumes") {
		return "", 0, fmt.Errorf("rawdisk: VG metadata already has logical volumes")
	}
	if strings.Count(meta, "pe_start") != 1 {
		return "", 0, fmt.Errorf("rawdisk: VG metadata: want exactly one PV")
	}
	extBytes := ext * 512
	if ext <= 0 || size <= 0 || size%extBytes != 0 {
		return "", 0, fmt.Errorf("rawdisk: LV size %d: want a multiple of the %d-byte extent", size, extBytes)
	}
	n := size / extBytes
	if n > peCount {
		return "", 0, fmt.Errorf("rawdisk: LV %s needs %d extents, the PV has %d", lv, n, peCount)
	}
	lvText := fmt.Sprintf(`
	logical_volumes {

		%s {
			id = "dtlvol-0000-0000-0000-0000-0000-000001"
			status = ["READ", "WRITE", "VISIBLE"]
			flags = []
			segment_count = 1

			segment1 {
				start_extent = 0
				extent_count = %d

				type = "striped"
				stripe_count = 1

				stripes = [
					"pv0", 0
				]
			}
		}
	}
`, lv, n)
	end := strings.LastIndex(meta, "}")
	if end < 0 {
		return "", 0, fmt.Errorf("rawdisk: VG metadata: no closing brace")
	}
	out := meta[:end] + lvText + meta[end:]
	seq := seqnoRE.FindStringSubmatch(out)
	if seq == nil {
		return "", 0, fmt.Errorf("rawdisk: VG metadata has no seqno")
	}
	s, _ := strconv.Atoi(seq[2])
	out = seqnoRE.ReplaceAllString(out, "${1}"+strconv.Itoa(s+1))
	return out, peStart * 512, nil
}

// copyAt copies file src into dst at offset off.
func copyAt(dst, src string, off int64) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	buf := make([]byte, MiB)
	for pos := int64(0); ; {
		n, rerr := in.Read(buf)
		if n > 0 {
			if _, err := out.WriteAt(buf[:n], off+pos); err != nil {
				out.Close()
				return fmt.Errorf("rawdisk: copy %s into %s: %w", src, dst, err)
			}
			pos += int64(n)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			out.Close()
			return fmt.Errorf("rawdisk: read %s: %w", src, rerr)
		}
	}
	return out.Close()
}
