package inventory

import (
	"strconv"
	"strings"
	"testing"
)

// TestInstallAttrs loads the install attributes and checks that bad values
// fail with file:line: field errors.
func TestInstallAttrs(t *testing.T) {
	good := "defaults:\n  mode: install\n  image: compute\n  install_disk: smallest >= 8G\n  install_wipe: \"yes\"\n  bootloader: grub\n" +
		"  install_cmdline: console=ttyS0,115200\n  partscript: |\n    set -e\n    sgdisk -Z \"$DT_DISK\"\n    \tmount /dev/x /sysroot\n  postscript: file:post/compute.sh\n"
	c, err := Parse("cluster.yaml", []byte(netYAML+good))
	if err != nil {
		t.Fatalf("Parse(good) = %v", err)
	}
	if got := Val(c.defaults.Partscript); !strings.Contains(got, "sgdisk -Z \"$DT_DISK\"\n") {
		t.Errorf("defaults partscript = %q", got)
	}
	line := strconv.Itoa(strings.Count(netYAML, "\n") + 2) // the line after "defaults:"
	tests := []struct {
		name, in, want string
	}{
		{"bare sda", "defaults:\n  install_disk: sda\n", `:` + line + `: defaults.install_disk: disk selector "sda": a kernel name can move`},
		{"dev vda", "defaults:\n  install_disk: /dev/vda\n", `defaults.install_disk: disk selector "/dev/vda": a kernel name`},
		{"size rule", "defaults:\n  install_disk: smallest >= lots\n", `defaults.install_disk: disk selector "smallest >= lots": size "lots"`},
		{"by-id empty", "defaults:\n  install_disk: \"by-id:\"\n", `defaults.install_disk: disk selector "by-id:": by-id needs a name`},
		{"wipe", "defaults:\n  install_wipe: sure\n", `defaults.install_wipe: "sure": want yes or no`},
		{"bootloader", "defaults:\n  bootloader: lilo\n", `defaults.bootloader: bootloader "lilo": want grub or none`},
		{"script file", "defaults:\n  partscript: file:../etc/passwd\n", `defaults.partscript: script file "../etc/passwd": want a clean relative path`},
		{"script control", "defaults:\n  postscript: \"echo \\x01\"\n", `defaults.postscript: script: control character`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("cluster.yaml", []byte(netYAML+tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse(%q) = %v, want an error containing %q", tt.in, err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "cluster.yaml:") {
				t.Errorf("error %q does not start with file:line", err)
			}
		})
	}
}
