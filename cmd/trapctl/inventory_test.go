package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/client"
	"github.com/disklesstrap/disklesstrap/internal/golden"
	"github.com/disklesstrap/disklesstrap/manifest"
)

// TestInstallTranscript: a node's hardware report (`node inventory`, table
// and json), an inline partscript shown line by line with --blame, and
// bootsrv switching a node to mode local on install-done (status, events),
// against the real bootsrv API; testdata/install.golden.
func TestInstallTranscript(t *testing.T) {
	url, dir, _ := server(t)
	cl := client.New(url, nil)
	ctx := context.Background()
	hw := manifest.Hardware{CPUs: 1, MemoryKB: 786432, Firmware: "bios", Vendor: "QEMU", BIOSVendor: "SeaBIOS",
		Disks: []manifest.HardwareDisk{
			{Name: "vda", Bytes: 2 << 30, Serial: "DT-A", ByPath: []string{"pci-0000:00:05.0", "virtio-pci-0000:00:05.0"}, ByID: []string{"virtio-DT-A"}},
			{Name: "vdb", Bytes: 1 << 30, Serial: "DT-B", ByPath: []string{"pci-0000:00:06.0"}, Partitions: []string{"vdb1"}, Signatures: []string{"gpt"}},
		},
		NICs: []manifest.HardwareNIC{{Name: "eth0", MAC: "52:54:00:00:00:01", Driver: "virtio_net", Speed: 1000}, {Name: "eth1", MAC: "52:54:00:00:01:01", Driver: "virtio_net"}},
	}
	b, _ := json.Marshal(hw)
	var out strings.Builder
	cmd := func(args ...string) {
		stdout, stderr, err := trapctl(t, url, args...)
		fmt.Fprintf(&out, "$ trapctl %s\n%s%s", strings.Join(args, " "), stdout, stderr)
		if err != nil {
			fmt.Fprintf(&out, "[exit: %v]\n", err)
		}
	}
	cmd("node", "inventory", "cn001")
	if err := cl.PostEvents(ctx, []manifest.Event{{Node: "cn001", Phase: manifest.PhaseInventory, Data: map[string]string{"inventory": string(b)}}}); err != nil {
		t.Fatal(err)
	}
	cmd("node", "inventory", "cn001")
	cmd("-o", "json", "node", "inventory", "cn001")
	cmd("node", "set", "cn002", "mode=install", "install_disk=serial:DT-A", "partscript=set -e\nsgdisk -Z $DT_DISK\n", "postscript=file:post.sh")
	cmd("node", "set", "cn002", "install_disk=sda")
	cmd("node", "show", "cn002", "--blame")
	if err := cl.PostEvents(ctx, []manifest.Event{{Node: "cn002", Phase: manifest.PhaseInstallDone, Message: "installed", Data: map[string]string{"disk": "/dev/vda"}}}); err != nil {
		t.Fatal(err)
	}
	cmd("status", "cn002")
	cmd("events", "cn002")
	got := ageRE.ReplaceAllString(timeRE.ReplaceAllString(strings.ReplaceAll(out.String(), dir, "DIR"), "TIME"), "AGE")
	golden.Check(t, "testdata/install.golden", got)
}
