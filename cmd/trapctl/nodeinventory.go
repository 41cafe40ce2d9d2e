package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/disklesstrap/disklesstrap/api"
)

var nodeInventory = &command{
	name: "node inventory", args: "NAME", summary: "a node's hardware report (disks, NICs, firmware) from mode service or install",
	minArgs: 1, maxArgs: 1,
	run: func(e *env, args []string) error {
		inv, err := e.client().NodeInventory(e.ctx, args[0])
		if err != nil {
			return err
		}
		if e.output == "json" {
			return writeJSON(e.stdout, inv)
		}
		return writeInventory(e, inv)
	},
}

func writeInventory(e *env, inv api.NodeInventory) error {
	hw := inv.Hardware
	fmt.Fprintf(e.stdout, "node %s, reported %s\n", inv.Node, inv.Time.UTC().Format(time.RFC3339))
	fmt.Fprintf(e.stdout, "firmware %s; %s %s; BIOS %s %s %s; %d CPU(s) %s; memory %d MiB\n\n",
		dash(hw.Firmware), dash(hw.Vendor), dash(hw.Product), dash(hw.BIOSVendor), dash(hw.BIOSVersion), dash(hw.BIOSDate),
		hw.CPUs, hw.CPUModel, hw.MemoryKB/1024)
	t := newTable(e.stdout, "DISK", "SIZE", "MODEL", "SERIAL", "BY-PATH", "BY-ID", "PARTITIONS", "SIGNATURES")
	for _, d := range hw.Disks {
		t.row(d.Name, sizeString(d.Bytes), dash(d.Model), dash(d.Serial), dash(strings.Join(d.ByPath, ",")),
			dash(strings.Join(d.ByID, ",")), dash(strings.Join(d.Partitions, ",")), dash(strings.Join(d.Signatures, ",")))
	}
	if err := t.flush(); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout)
	t = newTable(e.stdout, "NIC", "MAC", "DRIVER", "SPEED", "PCI")
	for _, n := range hw.NICs {
		speed := "-"
		if n.Speed > 0 {
			speed = strconv.Itoa(n.Speed) + " Mb/s"
		}
		t.row(n.Name, n.MAC, dash(n.Driver), speed, dash(n.PCI))
	}
	return t.flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// sizeString prints bytes in GiB/MiB with one decimal.
func sizeString(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d B", n)
}
