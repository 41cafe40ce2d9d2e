// Package hwinfo collects a node's hardware report: CPUs, memory, NICs
// (MAC, driver, speed), disks (size, model, serial, udev-style by-path and
// by-id names, partitions, signatures on the first blocks) and firmware
// (BIOS or UEFI, DMI identity), read from /proc, /sys and the disks' first
// blocks (no outside tools). Discovery registers it; modes service and
// install report it for `trapctl node inventory`; the install plan picks
// its disk from it.
package hwinfo

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/disklesstrap/disklesstrap/manifest"
)

// Inventory is the hardware report (manifest.Hardware, the JSON bootsrv
// keeps).
type Inventory = manifest.Hardware

// NIC is one network interface.
type NIC = manifest.HardwareNIC

// Disk is one block device.
type Disk = manifest.HardwareDisk

// Collect reads the inventory under root ("/" on a node; a fixture in
// tests). Missing files leave fields empty: discovery must never fail.
func Collect(root string) Inventory {
	var inv Inventory
	rd := func(p string) string { return readTrim(root, p) }
	if b, err := os.ReadFile(filepath.Join(root, "proc/cpuinfo")); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), ":")
			if !ok {
				continue
			}
			switch strings.TrimSpace(k) {
			case "processor":
				inv.CPUs++
			case "model name":
				if inv.CPUModel == "" {
					inv.CPUModel = strings.TrimSpace(v)
				}
			}
		}
	}
	for _, line := range strings.Split(rd("proc/meminfo"), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
			inv.MemoryKB, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	inv.NICs = NICs(root)
	inv.Disks = Disks(root)
	inv.Vendor = rd("sys/class/dmi/id/sys_vendor")
	inv.Product = rd("sys/class/dmi/id/product_name")
	inv.Serial = rd("sys/class/dmi/id/product_serial")
	inv.UUID = rd("sys/class/dmi/id/product_uuid")
	inv.BIOSVendor = rd("sys/class/dmi/id/bios_vendor")
	inv.BIOSVersion = rd("sys/class/dmi/id/bios_version")
	inv.BIOSDate = rd("sys/class/dmi/id/bios_date")
	inv.Board = rd("sys/class/dmi/id/board_name")
	if _, err := os.Stat(filepath.Join(root, "sys/class/dmi")); err == nil {
		inv.Firmware = "bios"
		if _, err := os.Stat(filepath.Join(root, "sys/firmware/efi")); err == nil {
			inv.Firmware = "uefi"
		}
	}
	return inv
}

// NICs lists the network interfaces with a MAC address, by name.
func NICs(root string) []NIC {
	var out []NIC
	nets, _ := os.ReadDir(filepath.Join(root, "sys/class/net"))
	for _, e := range nets {
		name := e.Name()
		base := "sys/class/net/" + name
		mac := readTrim(root, base+"/address")
		if name == "lo" || mac == "" || mac == "00:00:00:00:00:00" {
			continue
		}
		n := NIC{Name: name, MAC: mac}
		if s, err := strconv.Atoi(readTrim(root, base+"/speed")); err == nil && s > 0 {
			n.Speed = s
		}
		n.Driver = linkBase(root, base+"/device/driver")
		if dev, err := filepath.EvalSymlinks(filepath.Join(root, base, "device")); err == nil {
			n.PCI = pciAddr(dev)
		}
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func readTrim(root, p string) string {
	b, _ := os.ReadFile(filepath.Join(root, p))
	return strings.TrimSpace(string(b))
}

// linkBase is the last element of the symlink p's target ("" if none).
func linkBase(root, p string) string {
	t, err := os.Readlink(filepath.Join(root, p))
	if err != nil {
		return ""
	}
	return filepath.Base(t)
}
