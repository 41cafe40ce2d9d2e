package hwinfo

import (
	"reflect"
	"testing"
)

func TestCollect(t *testing.T) {
	got := Collect("testdata/node")
	want := Inventory{
		CPUs: 2, CPUModel: "QEMU Virtual CPU version 2.5+", MemoryKB: 768000,
		NICs:   []NIC{{Name: "eth0", MAC: "52:54:00:aa:bb:cc", Speed: 1000}},
		Disks:  []Disk{{Name: "vda", Bytes: 2097152 * 512}},
		Vendor: "QEMU", Product: "Standard PC (i440FX + PIIX, 1996)", Firmware: "bios",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Collect(testdata/node) = %+v\nwant %+v", got, want)
	}
	if empty := Collect("testdata/nonexistent"); !reflect.DeepEqual(empty, Inventory{}) {
		t.Errorf("Collect(missing root) = %+v, want the zero Inventory", empty)
	}
}

// TestCollectDisks: a UEFI node with two virtio disks (one partitioned
// with a GPT, one blank): serials, udev-style names, partitions and
// signatures; the NIC's driver and PCI address.
func TestCollectDisks(t *testing.T) {
	got := Collect("testdata/twodisks")
	want := []Disk{
		{Name: "vda", Bytes: 4194304 * 512, Serial: "DT-DISK-A", ByPath: []string{"pci-0000:00:05.0", "virtio-pci-0000:00:05.0"},
			ByID: []string{"virtio-DT-DISK-A"}, Partitions: []string{"vda1"}, Signatures: []string{"gpt"}},
		{Name: "vdb", Bytes: 2097152 * 512, Serial: "DT-DISK-B", ByPath: []string{"pci-0000:00:06.0", "virtio-pci-0000:00:06.0"},
			ByID: []string{"virtio-DT-DISK-B"}},
	}
	if !reflect.DeepEqual(got.Disks, want) {
		t.Errorf("disks = %+v\nwant %+v", got.Disks, want)
	}
	nics := []NIC{{Name: "eth0", MAC: "52:54:00:00:00:01", Driver: "virtio_net", PCI: "0000:00:03.0"}}
	if !reflect.DeepEqual(got.NICs, nics) {
		t.Errorf("nics = %+v, want %+v", got.NICs, nics)
	}
	if got.Firmware != "uefi" || got.BIOSVendor != "SeaBIOS" {
		t.Errorf("firmware %q, bios vendor %q; want uefi, SeaBIOS", got.Firmware, got.BIOSVendor)
	}
}

func TestSignatures(t *testing.T) {
	blk := func(set func(b []byte)) []byte {
		b := make([]byte, sigBytes)
		set(b)
		return b
	}
	tests := []struct {
		name string
		b    []byte
		want []string
	}{
		{"blank", make([]byte, sigBytes), nil},
		{"gpt", blk(func(b []byte) { copy(b[512:], "EFI PART"); b[510], b[511], b[450] = 0x55, 0xAA, 0xEE }), []string{"gpt"}},
		{"mbr", blk(func(b []byte) { b[510], b[511], b[450] = 0x55, 0xAA, 0x83 }), []string{"mbr"}},
		{"ext4", blk(func(b []byte) { b[1080], b[1081], b[1024+0x60] = 0x53, 0xEF, 0x40 }), []string{"ext4"}},
		{"ext3", blk(func(b []byte) { b[1080], b[1081], b[1024+0x5c] = 0x53, 0xEF, 0x4 }), []string{"ext3"}},
		{"xfs", blk(func(b []byte) { copy(b, "XFSB") }), []string{"xfs"}},
		{"vfat not mbr", blk(func(b []byte) { copy(b[82:], "FAT32   "); b[510], b[511], b[450] = 0x55, 0xAA, 0x01 }), []string{"vfat"}},
		{"luks", blk(func(b []byte) { copy(b, "LUKS\xba\xbe") }), []string{"luks"}},
		{"lvm2", blk(func(b []byte) { copy(b[512:], "LABELONE"); copy(b[512+24:], "LVM2 001") }), []string{"lvm2"}},
		{"swap", blk(func(b []byte) { copy(b[4086:], "SWAPSPACE2") }), []string{"swap"}},
		{"short", []byte{1, 2, 3}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Signatures(tt.b); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Signatures = %q, want %q", got, tt.want)
			}
		})
	}
}

// FuzzSignatures: any first blocks of a disk are read without a panic.
func FuzzSignatures(f *testing.F) {
	f.Add(make([]byte, 4096))
	f.Add([]byte("XFSB"))
	f.Fuzz(func(t *testing.T, b []byte) {
		Signatures(b)
	})
}
