// Package rawdisk builds the lab's iSCSI disk image the way the Ocean
// recipe lays it out: a GPT disk whose partition 1 is the root file system
// and whose partition 2 is an LVM physical volume holding VG "system" with
// LV "var"; the whole disk is then encrypted as one LUKS2 volume (the
// node opens LUKS first, then finds the partitions and the VG inside).
//
// The lab host has no device-mapper, so nothing here activates anything:
//
//   - file systems are made on plain files with `mkfs.ext4 -d DIR`;
//   - the PV and VG are written by `lvm pvcreate`/`vgcreate` on a loop
//     device (loop is in the host kernel), and the LV is added by
//     restoring edited VG metadata with `lvm vgcfgrestore` (lvcreate
//     insists on device-mapper); the LV's data is then copied to its
//     extents at pe_start;
//   - the LUKS2 header is written by `cryptsetup luksFormat` with a volume
//     key we choose, and the payload is encrypted here in Go with
//     AES-XTS-plain64 (512-byte sectors, IV = sector number): exactly what
//     dm-crypt reads.
//
// Secrets: the passphrase reaches cryptsetup on stdin and the volume key
// through a pipe (/dev/fd/3); neither touches the disk or a command line.
package rawdisk

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// MiB is the alignment of every region.
const MiB = 1 << 20

// Spec describes the plaintext disk.
type Spec struct {
	// RootDir is the tree copied into partition 1 (ext4, label "root").
	RootDir string
	// VarDir is the tree copied into LV VG/LV (ext4, label "var"); empty
	// makes an empty file system.
	VarDir string
	// RootSize and VarSize are the file system sizes (MiB multiples;
	// defaults 48 MiB and 16 MiB).
	RootSize, VarSize int64
	// VG and LV name the volume group and logical volume (defaults
	// "system" and "var", the Ocean names: /dev/mapper/system-var).
	VG, LV string
}

// Partition is one GPT partition of the built disk.
type Partition struct {
	Index int    // 1-based
	Name  string // GPT partition name
	Start int64  // bytes from the start of the disk
	Size  int64  // bytes
}

// Layout says where everything landed in the plaintext disk.
type Layout struct {
	Size       int64
	Partitions []Partition
	// LVStart is the LV's first byte, from the start of the disk.
	LVStart, LVSize int64
	// PEStart is the first physical extent's offset inside the PV.
	PEStart int64
}

func (s *Spec) defaults() error {
	if s.RootSize == 0 {
		s.RootSize = 48 * MiB
	}
	if s.VarSize == 0 {
		s.VarSize = 16 * MiB
	}
	if s.VG == "" {
		s.VG = "system"
	}
	if s.LV == "" {
		s.LV = "var"
	}
	if s.RootSize%MiB != 0 || s.VarSize%(4*MiB) != 0 || s.RootSize < 8*MiB || s.VarSize < 4*MiB {
		return fmt.Errorf("rawdisk: sizes root %d var %d: want MiB multiples (var: 4 MiB extents), root >= 8 MiB", s.RootSize, s.VarSize)
	}
	for _, n := range []string{s.VG, s.LV} {
		if !lvmNameOK(n) {
			return fmt.Errorf("rawdisk: LVM name %q: want [a-z0-9_] without a leading '-'", n)
		}
	}
	if st, err := os.Stat(s.RootDir); err != nil || !st.IsDir() {
		return fmt.Errorf("rawdisk: root tree %q: not a directory (%v)", s.RootDir, err)
	}
	return nil
}

func lvmNameOK(n string) bool {
	if n == "" || len(n) > 64 || n[0] == '-' {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// run runs a command and returns its output; stdin may be nil.
func run(ctx context.Context, stdin []byte, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "LVM_SUPPRESS_FD_WARNINGS=1")
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// mkext4 makes an ext4 file system of size bytes in file path from dir
// (dir empty: an empty file system).
func mkext4(ctx context.Context, path, label, dir string, size int64) error {
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		return err
	}
	if err := os.Truncate(path, size); err != nil {
		return err
	}
	args := []string{"-q", "-F", "-L", label, "-E", "root_owner=0:0"}
	if dir != "" {
		args = append(args, "-d", dir)
	}
	args = append(args, path)
	if _, err := run(ctx, nil, "mkfs.ext4", args...); err != nil {
		return fmt.Errorf("rawdisk: mkfs %s: %w", label, err)
	}
	return nil
}
