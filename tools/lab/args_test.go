package lab

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/internal/golden"
)

func TestQEMUArgsGolden(t *testing.T) {
	paths := nodePaths{ConsolePath: "/lab/n.console", SocketPath: "/lab/n.sock", QMPPath: "/lab/n.qmp", VarsPath: "/lab/n.vars.fd"}
	tests := []struct {
		name string
		spec NodeSpec
	}{
		{"bios-pxe", NodeSpec{Name: "n", MACs: []string{"52:54:00:00:00:01"}}},
		{"uefi-pxe-two-nics", NodeSpec{Name: "n", Firmware: UEFI, MACs: []string{"52:54:00:00:00:01", "52:54:00:00:00:02"}, MemoryMB: 1024}},
		{"direct-disks", NodeSpec{Name: "n", Kernel: "/k/vmlinuz", Initrd: "/k/initrd", Append: "quiet",
			Disks: []string{"/d/a.img", "/d/b.qcow2"}, NoReboot: true, ExtraArgs: []string{"-cpu", "max"}}},
		{"pxe-disk-serials", NodeSpec{Name: "n", Disks: []string{"/d/a.img", "/d/b.img"}, DiskSerials: []string{"DT-A", ""}}},
		{"bios-custom-rom", NodeSpec{Name: "n", NICROM: "/usr/lib/ipxe/qemu/pxe-virtio.rom"}},
		{"uefi-ipxe-rom", NodeSpec{Name: "n", Firmware: UEFI, NICROM: "/usr/lib/ipxe/qemu/efi-virtio.rom"}},
		{"bios-no-rom", NodeSpec{Name: "n", NICROM: "none"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := tt.spec.normalize(2, 7)
			if err != nil {
				t.Fatalf("normalize(%+v): %v", tt.spec, err)
			}
			taps := []string{"tap0", "tap1"}
			got := strings.Join(qemuArgs(s, taps[:len(s.MACs)], paths, "/fw/OVMF_CODE.fd"), "\n") + "\n"
			golden.Check(t, filepath.Join("testdata", tt.name+".args"), got)
		})
	}
}

func TestNormalizeErrors(t *testing.T) {
	tests := []struct {
		name string
		spec NodeSpec
	}{
		{"empty name", NodeSpec{}},
		{"dotted name", NodeSpec{Name: "a.b"}},
		{"slash name", NodeSpec{Name: "a/b"}},
		{"bad mac", NodeSpec{Name: "n", MACs: []string{"zz"}}},
		{"eui64 mac", NodeSpec{Name: "n", MACs: []string{"00:11:22:33:44:55:66:77"}}},
		{"multicast mac", NodeSpec{Name: "n", MACs: []string{"01:00:5e:00:00:01"}}},
		{"more nics than bridges", NodeSpec{Name: "n", MACs: []string{"52:54:00:00:00:01", "52:54:00:00:00:02", "52:54:00:00:00:03"}}},
		{"initrd without kernel", NodeSpec{Name: "n", Initrd: "/x"}},
		{"disk serial with comma", NodeSpec{Name: "n", Disks: []string{"/d/a.img"}, DiskSerials: []string{"a,b"}}},
		{"serial without disk", NodeSpec{Name: "n", DiskSerials: []string{"a"}}},
		{"tiny memory", NodeSpec{Name: "n", MemoryMB: 16}},
		{"bad firmware", NodeSpec{Name: "n", Firmware: Firmware(9)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.spec.normalize(2, 1); err == nil {
				t.Errorf("normalize(%+v) = nil error, want error", tt.spec)
			}
		})
	}
}

func TestNormalizeDefaults(t *testing.T) {
	s, err := NodeSpec{Name: "n", MACs: []string{"52-54-00-AA-BB-CC"}, Kernel: "/k", Append: "console=hvc0"}.normalize(1, 3)
	if err != nil {
		t.Fatal(err)
	}
	if s.MemoryMB != 512 || s.CPUs != 1 {
		t.Errorf("defaults = %d MB %d CPUs, want 512 1", s.MemoryMB, s.CPUs)
	}
	if s.MACs[0] != "52:54:00:aa:bb:cc" {
		t.Errorf("MAC = %q, want 52:54:00:aa:bb:cc", s.MACs[0])
	}
	if s.Append != "console=hvc0 no_timer_check" {
		t.Errorf("Append = %q, want the given console kept and no_timer_check added", s.Append)
	}
	s, err = NodeSpec{Name: "n"}.normalize(1, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.MACs) != 1 || s.MACs[0] != "52:54:00:d7:03:00" {
		t.Errorf("generated MACs = %v, want [52:54:00:d7:03:00]", s.MACs)
	}
}

func TestCleanConsole(t *testing.T) {
	tests := []struct{ in, want string }{
		{"\x1b[=3h\x1b[=3h\r\n>>Start PXE over IPv4.\r\n", "\n>>Start PXE over IPv4.\n"},
		{"\x1b[1;37;40mBdsDxe\x1b[0m", "BdsDxe"},
		{"\x1b(Bplain\x00", "plain"},
		{"a\x1b[?25lb\x1bcc", "abc"},
	}
	for _, tt := range tests {
		if got := CleanConsole(tt.in); got != tt.want {
			t.Errorf("CleanConsole(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTail(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"a\nb\nc\n", 2, "b\nc"},
		{"a", 5, "a"},
		{"", 3, ""},
	}
	for _, tt := range tests {
		if got := tail(tt.in, tt.n); got != tt.want {
			t.Errorf("tail(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}
