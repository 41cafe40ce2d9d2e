package manifest

// Hardware is a node's hardware report (trap/hwinfo): what discovery
// registers and what mode service (and install) report in a
// PhaseInventory event for `trapctl node inventory`.
type Hardware struct {
	CPUs     int            `json:"cpus"`
	CPUModel string         `json:"cpu_model,omitempty"`
	MemoryKB int64          `json:"memory_kb"`
	NICs     []HardwareNIC  `json:"nics"`
	Disks    []HardwareDisk `json:"disks,omitempty"`
	Vendor   string         `json:"vendor,omitempty"`
	Product  string         `json:"product,omitempty"`
	Serial   string         `json:"serial,omitempty"`
	UUID     string         `json:"uuid,omitempty"`
	// Firmware is "uefi" or "bios" (/sys/firmware/efi present or not).
	Firmware    string `json:"firmware,omitempty"`
	BIOSVendor  string `json:"bios_vendor,omitempty"`
	BIOSVersion string `json:"bios_version,omitempty"`
	BIOSDate    string `json:"bios_date,omitempty"`
	Board       string `json:"board,omitempty"`
}

// HardwareNIC is one network interface.
type HardwareNIC struct {
	Name   string `json:"name"`
	MAC    string `json:"mac"`
	Speed  int    `json:"speed_mbps,omitempty"`
	Driver string `json:"driver,omitempty"`
	// PCI is the PCI address ("0000:00:03.0") when the NIC is on PCI.
	PCI string `json:"pci,omitempty"`
}

// HardwareDisk is one block device (no partitions, loop, ram, zram, dm or
// optical devices).
type HardwareDisk struct {
	Name  string `json:"name"`
	Bytes int64  `json:"bytes"`
	Model string `json:"model,omitempty"`
	// Serial as the device reports it (virtio serial, SCSI/ATA/NVMe serial).
	Serial string `json:"serial,omitempty"`
	// ByPath and ByID are the names udev would link under /dev/disk/by-path
	// and /dev/disk/by-id (the trap has no udev: computed from sysfs).
	ByPath []string `json:"by_path,omitempty"`
	ByID   []string `json:"by_id,omitempty"`
	// Partitions are the kernel's partition names ("vda1", "nvme0n1p2").
	Partitions []string `json:"partitions,omitempty"`
	// Signatures are what the disk's first blocks hold: "gpt", "mbr",
	// "ext4", "xfs", "vfat", "luks", "lvm2", "swap", "btrfs", "squashfs".
	Signatures []string `json:"signatures,omitempty"`
	Removable  bool     `json:"removable,omitempty"`
	ReadOnly   bool     `json:"read_only,omitempty"`
	Rotational bool     `json:"rotational,omitempty"`
}
