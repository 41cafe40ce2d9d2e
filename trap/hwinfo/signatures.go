package hwinfo

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
)

// sigBytes is how much of a disk Signatures looks at.
const sigBytes = 68 << 10

// readHead reads the first n bytes of path (less if it is shorter).
func readHead(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, n)
	m, err := io.ReadFull(f, b)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, err
	}
	return b[:m], nil
}

// ReadSignatures reads the first blocks of the device (or image) at path
// and returns Signatures of them.
func ReadSignatures(path string) ([]string, error) {
	b, err := readHead(path, sigBytes)
	if err != nil {
		return nil, err
	}
	return Signatures(b), nil
}

// Signatures names the partition tables and file systems whose magic is
// in b, the first blocks of a disk: "gpt", "mbr" (a DOS table with at least
// one entry, unless a file system's boot sector explains the 0x55AA),
// "ext2"/"ext3"/"ext4", "xfs", "vfat", "luks", "lvm2", "swap", "btrfs",
// "squashfs", "iso9660". Blank (zeroed) blocks give none.
func Signatures(b []byte) []string {
	at := func(off int, magic string) bool {
		return off+len(magic) <= len(b) && string(b[off:off+len(magic)]) == magic
	}
	var out []string
	if at(512, "EFI PART") || at(4096, "EFI PART") {
		out = append(out, "gpt")
	}
	fs := ""
	switch {
	case len(b) >= 1082 && binary.LittleEndian.Uint16(b[1080:]) == 0xEF53:
		fs = "ext2"
		incompat := binary.LittleEndian.Uint32(b[1024+0x60:])
		compat := binary.LittleEndian.Uint32(b[1024+0x5c:])
		switch {
		case incompat&0x40 != 0: // extents
			fs = "ext4"
		case compat&0x4 != 0: // journal
			fs = "ext3"
		}
	case at(0, "XFSB"):
		fs = "xfs"
	case at(0, "LUKS\xba\xbe"):
		fs = "luks"
	case at(0, "hsqs"):
		fs = "squashfs"
	case at(82, "FAT32   ") || at(54, "FAT16   ") || at(54, "FAT12   "):
		fs = "vfat"
	case at(65536+64, "_BHRfS_M"):
		fs = "btrfs"
	case at(4086, "SWAPSPACE2") || at(4086, "SWAP-SPACE"):
		fs = "swap"
	case at(32769, "CD001"):
		fs = "iso9660"
	}
	for s := 0; fs == "" && s < 4; s++ {
		if at(s*512, "LABELONE") && at(s*512+24, "LVM2 001") {
			fs = "lvm2"
		}
	}
	if fs != "" {
		out = append(out, fs)
	}
	if len(out) == 0 && len(b) >= 512 && b[510] == 0x55 && b[511] == 0xAA {
		for i := 0; i < 4; i++ {
			if b[446+16*i+4] != 0 {
				out = append(out, "mbr")
				break
			}
		}
	}
	if len(out) == 0 && len(b) > 0 && !bytes.ContainsFunc(b[:min(len(b), 1<<20)], func(r rune) bool { return r != 0 }) {
		return nil
	}
	return out
}
