// Package hwinfo collects the hardware inventory a node in discovery mode
// registers with bootsrv: CPUs, memory, NICs, disks and DMI identity, all
// read from /proc and /sys (no outside tools).
package hwinfo

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Inventory is what discovery reports (JSON in the discovered event).
type Inventory struct {
	CPUs     int    `json:"cpus"`
	CPUModel string `json:"cpu_model,omitempty"`
	MemoryKB int64  `json:"memory_kb"`
	NICs     []NIC  `json:"nics"`
	Disks    []Disk `json:"disks,omitempty"`
	Vendor   string `json:"vendor,omitempty"`
	Product  string `json:"product,omitempty"`
	Serial   string `json:"serial,omitempty"`
	UUID     string `json:"uuid,omitempty"`
}

// NIC is one network interface.
type NIC struct {
	Name  string `json:"name"`
	MAC   string `json:"mac"`
	Speed int    `json:"speed_mbps,omitempty"`
}

// Disk is one block device (no partitions, loop, ram or zram devices).
type Disk struct {
	Name  string `json:"name"`
	Bytes int64  `json:"bytes"`
	Model string `json:"model,omitempty"`
}

// Collect reads the inventory under root ("/" on a node; a fixture in
// tests). Missing files leave fields empty: discovery must never fail.
func Collect(root string) Inventory {
	var inv Inventory
	rd := func(p string) string {
		b, _ := os.ReadFile(filepath.Join(root, p))
		return strings.TrimSpace(string(b))
	}
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
	nets, _ := os.ReadDir(filepath.Join(root, "sys/class/net"))
	for _, e := range nets {
		name := e.Name()
		mac := rd("sys/class/net/" + name + "/address")
		if name == "lo" || mac == "" || mac == "00:00:00:00:00:00" {
			continue
		}
		n := NIC{Name: name, MAC: mac}
		if s, err := strconv.Atoi(rd("sys/class/net/" + name + "/speed")); err == nil && s > 0 {
			n.Speed = s
		}
		inv.NICs = append(inv.NICs, n)
	}
	blocks, _ := os.ReadDir(filepath.Join(root, "sys/block"))
	for _, e := range blocks {
		name := e.Name()
		if strings.HasPrefix(name, "loop") || strings.HasPrefix(name, "ram") || strings.HasPrefix(name, "zram") || strings.HasPrefix(name, "dm-") {
			continue
		}
		sectors, _ := strconv.ParseInt(rd("sys/block/"+name+"/size"), 10, 64)
		inv.Disks = append(inv.Disks, Disk{Name: name, Bytes: sectors * 512, Model: rd("sys/block/" + name + "/device/model")})
	}
	sort.Slice(inv.NICs, func(i, j int) bool { return inv.NICs[i].Name < inv.NICs[j].Name })
	sort.Slice(inv.Disks, func(i, j int) bool { return inv.Disks[i].Name < inv.Disks[j].Name })
	inv.Vendor = rd("sys/class/dmi/id/sys_vendor")
	inv.Product = rd("sys/class/dmi/id/product_name")
	inv.Serial = rd("sys/class/dmi/id/product_serial")
	inv.UUID = rd("sys/class/dmi/id/product_uuid")
	return inv
}
