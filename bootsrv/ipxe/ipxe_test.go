package ipxe

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/internal/golden"
	"github.com/disklesstrap/disklesstrap/manifest"
)

const server = "http://198.18.0.1:8080"

func trapParams() Params {
	return Params{
		Node:     "cn001",
		Mode:     manifest.ModeTrap,
		Server:   server,
		Kernel:   server + "/boot/vmlinuz-6.1.0-56-amd64",
		Initrd:   server + "/boot/trap-initrd.cpio.gz",
		Cmdline:  "console=ttyS0,115200  quiet",
		MAC:      "52:54:00:AA:BB:01",
		Platform: PlatformBIOS,
	}
}

func TestScriptGolden(t *testing.T) {
	tests := []struct {
		golden string
		edit   func(p *Params)
	}{
		{"trap-bios.ipxe", func(p *Params) {}},
		{"trap-efi.ipxe", func(p *Params) { p.Platform = PlatformEFI }},
		{"ramroot-efi.ipxe", func(p *Params) { p.Platform, p.Mode, p.Cmdline = PlatformEFI, manifest.ModeRAMRoot, "" }},
		{"local-bios.ipxe", func(p *Params) { p.Mode = manifest.ModeLocal }},
		{"local-efi.ipxe", func(p *Params) { p.Mode, p.Platform = manifest.ModeLocal, PlatformEFI }},
		{"local-unknown-platform.ipxe", func(p *Params) { p.Mode, p.Platform = manifest.ModeLocal, "" }},
		{"discovery.ipxe", func(p *Params) { p.Node, p.Mode, p.MAC, p.Cmdline = "", "", "", "console=ttyS0,115200" }},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			p := trapParams()
			tt.edit(&p)
			got, err := Script(p)
			if err != nil {
				t.Fatalf("Script(%+v): %v", p, err)
			}
			golden.Check(t, filepath.Join("testdata", tt.golden), got)
			checkScript(t, got)
		})
	}
}

func TestChainGolden(t *testing.T) {
	got, err := Chain(server + "/")
	if err != nil {
		t.Fatalf("Chain: %v", err)
	}
	golden.Check(t, filepath.Join("testdata", "boot.ipxe"), got)
	checkScript(t, got)
	if !strings.Contains(got, "sleep 30") || !strings.Contains(got, "reboot") {
		t.Errorf("Chain script lacks the sleep before reboot:\n%s", got)
	}
}

// checkScript holds for every script: the iPXE magic, and every command
// that can fail either has "|| ..." or is a control statement.
func checkScript(t *testing.T, s string) {
	t.Helper()
	if !strings.HasPrefix(s, "#!ipxe\n") {
		t.Errorf("script does not start with #!ipxe")
	}
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			t.Errorf("empty line in script")
			continue
		}
		switch f[0] {
		case "kernel", "initrd", "boot", "chain", "sanboot":
			if !strings.Contains(line, "||") {
				t.Errorf("line %q has no failure branch", line)
			}
		}
	}
}

func TestScriptContents(t *testing.T) {
	p := trapParams()
	p.Platform = PlatformEFI
	s, err := Script(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"kernel " + p.Kernel + " initrd=initrd.img BOOTIF=01-52-54-00-aa-bb-01 dt.server=" + server + " dt.node=cn001 dt.mode=trap console=ttyS0,115200 quiet || goto failed",
		"initrd --name initrd.img " + p.Initrd + " || goto failed",
		"boot || goto failed",
	} {
		if !strings.Contains(s, want+"\n") {
			t.Errorf("Script(trap efi) lacks line %q:\n%s", want, s)
		}
	}
	p.Node, p.Mode = "", ""
	s, _ = Script(p)
	if !strings.Contains(s, " dt.node= dt.mode=discovery ") || !strings.Contains(s, "BOOTIF=01-52-54-00-aa-bb-01") {
		t.Errorf("Script(unknown node) lacks empty dt.node / discovery mode:\n%s", s)
	}
}

func TestScriptErrors(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(p *Params)
		field string
	}{
		{"space in kernel URL", func(p *Params) { p.Kernel = server + "/boot/vm linuz" }, "field kernel"},
		{"newline in initrd URL", func(p *Params) { p.Initrd = server + "/i\nboot" }, "field initrd"},
		{"relative server", func(p *Params) { p.Server = "198.18.0.1:8080" }, "field server"},
		{"ftp kernel", func(p *Params) { p.Kernel = "ftp://198.18.0.1/vmlinuz" }, "field kernel"},
		{"empty initrd", func(p *Params) { p.Initrd = "" }, "field initrd"},
		{"newline in cmdline", func(p *Params) { p.Cmdline = "quiet\nshell" }, "field cmdline"},
		{"iPXE operator in cmdline", func(p *Params) { p.Cmdline = "quiet || shell" }, "field cmdline"},
		{"setting expansion in cmdline", func(p *Params) { p.Cmdline = "x=${root-path}" }, "field cmdline"},
		{"single quote in cmdline", func(p *Params) { p.Cmdline = `acpi_osi='Linux'` }, "field cmdline"},
		{"unpaired quote in cmdline", func(p *Params) { p.Cmdline = `acpi_osi="Linux` }, "field cmdline"},
		{"bad MAC", func(p *Params) { p.MAC = "52:54:00:zz:00:01" }, "field mac"},
		{"space in node", func(p *Params) { p.Node = "cn 001" }, "field node"},
		{"unknown mode", func(p *Params) { p.Mode = "party" }, "field mode"},
		{"unknown node, not discovery", func(p *Params) { p.Node = "" }, "field node"},
		{"bad platform", func(p *Params) { p.Platform = "efi\nreboot" }, "field platform"},
		{"long platform", func(p *Params) { p.Platform = "pcbios-pcbios-pcbios" }, "field platform"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := trapParams()
			tt.edit(&p)
			s, err := Script(p)
			if err == nil {
				t.Fatalf("Script(%s) = %q, want an error naming %s", tt.name, s, tt.field)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Errorf("Script(%s) error %q does not name %s", tt.name, err, tt.field)
			}
		})
	}
	if _, err := Chain("http://198.18.0.1:8080/a b"); err == nil || !strings.Contains(err.Error(), "field server") {
		t.Errorf("Chain(URL with a space) error = %v, want one naming field server", err)
	}
}
