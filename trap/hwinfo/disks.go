package hwinfo

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// skipDisk: devices that are never install targets nor disks to report.
var skipDisk = regexp.MustCompile(`^(loop|ram|zram|dm-|sr|fd|md|nbd)`)

// Disks lists the block devices under root's /sys/block with their
// identity, partitions and signatures, by name.
func Disks(root string) []Disk {
	var out []Disk
	blocks, _ := os.ReadDir(filepath.Join(root, "sys/block"))
	for _, e := range blocks {
		name := e.Name()
		if skipDisk.MatchString(name) {
			continue
		}
		out = append(out, disk(root, name))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func disk(root, name string) Disk {
	base := "sys/block/" + name
	rd := func(p string) string { return readTrim(root, base+"/"+p) }
	sectors, _ := strconv.ParseInt(rd("size"), 10, 64)
	d := Disk{
		Name:       name,
		Bytes:      sectors * 512,
		Model:      rd("device/model"),
		Removable:  rd("removable") == "1",
		ReadOnly:   rd("ro") == "1",
		Rotational: rd("queue/rotational") == "1",
	}
	d.Serial = rd("serial") // virtio-blk
	if d.Serial == "" {
		d.Serial = rd("device/serial") // nvme
	}
	if d.Serial == "" {
		d.Serial = vpdSerial(root, base+"/device/vpd_pg80") // scsi, ata
	}
	entries, _ := os.ReadDir(filepath.Join(root, base))
	for _, p := range entries {
		if _, err := os.Stat(filepath.Join(root, base, p.Name(), "partition")); err == nil {
			d.Partitions = append(d.Partitions, p.Name())
		}
	}
	sort.Strings(d.Partitions)
	dev, _ := filepath.EvalSymlinks(filepath.Join(root, base))
	d.ByPath = byPath(root, name, dev)
	d.ByID = byID(root, name, dev, d)
	if b, err := readHead(filepath.Join(root, "dev", name), sigBytes); err == nil {
		d.Signatures = Signatures(b)
	}
	return d
}

// vpdSerial reads the unit serial number VPD page (0x80): a 4-byte header,
// then the serial.
func vpdSerial(root, p string) string {
	b, err := os.ReadFile(filepath.Join(root, p))
	if err != nil || len(b) < 4 {
		return ""
	}
	n := int(b[2])<<8 | int(b[3])
	if 4+n > len(b) {
		n = len(b) - 4
	}
	return strings.TrimSpace(string(b[4 : 4+n]))
}

var pciRE = regexp.MustCompile(`^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$`)

// pciAddr is the last PCI address in a resolved sysfs device path.
func pciAddr(dev string) string {
	addr := ""
	for _, el := range strings.Split(dev, "/") {
		if pciRE.MatchString(el) {
			addr = el
		}
	}
	return addr
}

var hctlRE = regexp.MustCompile(`^\d+:\d+:\d+:\d+$`)

// byPath is what udev's path_id names the disk (the common cases):
// virtio "pci-ADDR" and "virtio-pci-ADDR", NVMe "pci-ADDR-nvme-NSID",
// ATA "pci-ADDR-ata-PORT", other SCSI "pci-ADDR-scsi-H:C:T:L".
func byPath(root, name, dev string) []string {
	pci := pciAddr(dev)
	if pci == "" {
		return nil
	}
	p := "pci-" + pci
	switch {
	case strings.Contains(dev, "/virtio"):
		return []string{p, "virtio-" + p}
	case strings.HasPrefix(name, "nvme"):
		if ns := readTrim(root, "sys/block/"+name+"/nsid"); ns != "" {
			return []string{p + "-nvme-" + ns}
		}
		return []string{p + "-nvme-1"}
	}
	var port, hctl string
	for _, el := range strings.Split(dev, "/") {
		if strings.HasPrefix(el, "ata") {
			if _, err := strconv.Atoi(el[3:]); err == nil {
				port = el[3:]
			}
		}
		if hctlRE.MatchString(el) {
			hctl = el
		}
	}
	switch {
	case port != "":
		return []string{p + "-ata-" + port}
	case hctl != "":
		return []string{p + "-scsi-" + hctl}
	}
	return []string{p}
}

// byID is what udev names the disk under /dev/disk/by-id (the common
// cases): "virtio-SERIAL" (20 characters at most), "nvme-MODEL_SERIAL",
// "ata-MODEL_SERIAL", "scsi-0MODEL_SERIAL" and "wwn-0x…" from the WWID.
func byID(root, name, dev string, d Disk) []string {
	if d.Serial == "" {
		return nil
	}
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r <= ' ' || r == '/' || r > '~' {
				return '_'
			}
			return r
		}, strings.TrimSpace(s))
	}
	var out []string
	switch {
	case strings.Contains(dev, "/virtio"):
		s := d.Serial
		if len(s) > 20 {
			s = s[:20]
		}
		out = append(out, "virtio-"+clean(s))
	case strings.HasPrefix(name, "nvme"):
		out = append(out, "nvme-"+clean(d.Model)+"_"+clean(d.Serial))
	case strings.Contains(dev, "/ata"):
		out = append(out, "ata-"+clean(d.Model)+"_"+clean(d.Serial))
	default:
		out = append(out, "scsi-0"+clean(readTrim(root, "sys/block/"+name+"/device/vendor"))+"_"+clean(d.Model)+"_"+clean(d.Serial))
	}
	if w := readTrim(root, "sys/block/"+name+"/device/wwid"); strings.HasPrefix(w, "naa.") {
		out = append(out, "wwn-0x"+strings.TrimPrefix(w, "naa."))
	}
	return out
}
