package rawdisk

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/diskfs/go-diskfs/partition/gpt"
)

// GPT partition names of the built disk.
const (
	RootPartName = "root"
	LVMPartName  = "lvm"
)

// BuildPlain writes the plaintext disk to out: GPT, partition 1 = ext4 of
// spec.RootDir, partition 2 = LVM PV with VG/LV filled from spec.VarDir.
// It needs mkfs.ext4, lvm and losetup (root, a free loop device).
func BuildPlain(ctx context.Context, out string, spec Spec) (*Layout, error) {
	if err := spec.defaults(); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(out), ".rawdisk-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	rootImg, varImg, pvImg := filepath.Join(tmp, "root.ext4"), filepath.Join(tmp, "var.ext4"), filepath.Join(tmp, "pv.img")
	if err := mkext4(ctx, rootImg, "root", spec.RootDir, spec.RootSize); err != nil {
		return nil, err
	}
	if err := mkext4(ctx, varImg, "var", spec.VarDir, spec.VarSize); err != nil {
		return nil, err
	}
	// PV = 1 MiB of metadata area + the LV's extents + one spare extent.
	pvSize := MiB + spec.VarSize + 4*MiB
	peStart, err := buildPV(ctx, pvImg, spec.VG, spec.LV, varImg, pvSize, spec.VarSize)
	if err != nil {
		return nil, err
	}

	p1 := Partition{Index: 1, Name: RootPartName, Start: MiB, Size: spec.RootSize}
	p2 := Partition{Index: 2, Name: LVMPartName, Start: p1.Start + p1.Size, Size: pvSize}
	size := p2.Start + p2.Size + MiB // room for the backup GPT
	lay := &Layout{Size: size, Partitions: []Partition{p1, p2}, PEStart: peStart,
		LVStart: p2.Start + peStart, LVSize: spec.VarSize}

	f, err := os.OpenFile(out, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		return nil, err
	}
	table := &gpt.Table{
		LogicalSectorSize:  512,
		PhysicalSectorSize: 512,
		ProtectiveMBR:      true,
		Partitions: []*gpt.Partition{
			{Index: 1, Start: uint64(p1.Start / 512), End: uint64((p1.Start+p1.Size)/512 - 1), Type: gpt.LinuxFilesystem, Name: p1.Name},
			{Index: 2, Start: uint64(p2.Start / 512), End: uint64((p2.Start+p2.Size)/512 - 1), Type: gpt.LinuxLVM, Name: p2.Name},
		},
	}
	if err := table.Write(f, size); err != nil {
		return nil, fmt.Errorf("rawdisk: write GPT to %s: %w", out, err)
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	if err := copyAt(out, rootImg, p1.Start); err != nil {
		return nil, err
	}
	if err := copyAt(out, pvImg, p2.Start); err != nil {
		return nil, err
	}
	return lay, nil
}
