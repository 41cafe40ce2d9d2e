package manifest

import (
	"strings"
	"testing"
)

func TestParseDiskSelector(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{in: "serial:DT-1", want: "serial:DT-1"},
		{in: "by-id:virtio-DT-1", want: "by-id:virtio-DT-1"},
		{in: "/dev/disk/by-id/ata-QEMU_HARDDISK_QM00001", want: "by-id:ata-QEMU_HARDDISK_QM00001"},
		{in: "/dev/disk/by-path/pci-0000:00:05.0", want: "by-path:pci-0000:00:05.0"},
		{in: "smallest >= 8G", want: "smallest >= 8G"},
		{in: "smallest>=8GiB", want: "smallest >= 8G"},
		{in: "largest", want: "largest"},
		{in: " largest >= 512M ", want: "largest >= 512M"},
		{in: "sda", err: "a kernel name can move"},
		{in: "/dev/nvme0n1", err: "a kernel name can move"},
		{in: "vda", err: "a kernel name can move"},
		{in: "", err: "is empty"},
		{in: "smallest >= 0", err: "want a positive number"},
		{in: "smallest 8G", err: `want smallest or "smallest >= SIZE"`},
		{in: "serial:", err: "serial needs a name"},
		{in: "by-id:a/b", err: "by-id needs a name"},
		{in: "uuid:1234", err: "want serial:S"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			d, err := ParseDiskSelector(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseDiskSelector(%q) = %v, want an error containing %q", tt.in, err, tt.err)
				}
				return
			}
			if err != nil || d.String() != tt.want {
				t.Fatalf("ParseDiskSelector(%q) = %q, %v; want %q", tt.in, d, err, tt.want)
			}
		})
	}
}

func TestScriptFile(t *testing.T) {
	for _, tt := range []struct {
		in, name  string
		file, bad bool
	}{
		{"echo hi", "", false, false},
		{"file:post/compute.sh", "post/compute.sh", true, false},
		{"file:../x", "", true, true},
		{"file:/etc/passwd", "", true, true},
		{"file:", "", true, true},
	} {
		name, file, err := ScriptFile(tt.in)
		if file != tt.file || (err != nil) != tt.bad || (!tt.bad && name != tt.name) {
			t.Errorf("ScriptFile(%q) = %q, %v, %v", tt.in, name, file, err)
		}
	}
}

// FuzzDiskSelector: parsing never panics, and a parsed selector's
// canonical form parses to the same selector.
func FuzzDiskSelector(f *testing.F) {
	for _, s := range []string{"serial:A", "by-id:virtio-x", "/dev/disk/by-path/pci-0000:00:05.0", "smallest >= 8G", "largest>=1T", "sda"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDiskSelector(s)
		if err != nil {
			return
		}
		d2, err := ParseDiskSelector(d.String())
		if err != nil || d2 != d {
			t.Fatalf("%q -> %q -> %+v, %v", s, d.String(), d2, err)
		}
	})
}
