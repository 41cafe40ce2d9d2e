package ramroot

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/internal/treesnap"
	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/hostsys"
	"github.com/disklesstrap/disklesstrap/trap/plan"
)

// TestSysrootStaysInImage runs the sysroot step on the real host (hostsys)
// over image roots whose own symlinks point out of the image (absolute
// ones mean the image's paths once booted, but the initramfs's from the
// trap): every write either fails naming the path or stays inside, and
// the outside folder is byte-for-byte untouched. Before the writes went
// through plan.Tree, the first cases wrote outside.
func TestSysrootStaysInImage(t *testing.T) {
	tests := []struct {
		name    string
		image   func(root, outside string) // builds the image at root
		sysroot manifest.Sysroot
		wantErr string // "" when the step succeeds
	}{
		{"/etc is an absolute link out", func(r, o string) {
			os.Symlink(o, filepath.Join(r, "etc"))
		}, manifest.Sysroot{}, "etc"},
		{"/etc/hostname is an absolute link to an outside file", func(r, o string) {
			os.MkdirAll(filepath.Join(r, "etc"), 0o755)
			os.Symlink(filepath.Join(o, "keep"), filepath.Join(r, "etc/hostname"))
		}, manifest.Sysroot{}, "write /etc/hostname"},
		{"/etc/dt is a relative link out", func(r, o string) {
			os.MkdirAll(filepath.Join(r, "etc"), 0o755)
			os.Symlink("../../../../../../../../.."+o, filepath.Join(r, "etc/dt"))
		}, manifest.Sysroot{}, "etc/dt"},
		{"a manifest file through an absolute link", func(r, o string) {
			os.MkdirAll(filepath.Join(r, "etc"), 0o755)
			os.Symlink(o, filepath.Join(r, "opt"))
		}, manifest.Sysroot{Files: []manifest.File{{Path: "/opt/pwned", Content: "owned"}}}, "opt/pwned"},
		{"a manifest symlink through an absolute link", func(r, o string) {
			os.Symlink(o, filepath.Join(r, "srv"))
		}, manifest.Sysroot{Symlinks: []manifest.Symlink{{Path: "/srv/pwned", Target: "/x"}}}, "srv/pwned"},
		{"enable a unit with /etc/systemd/system linked out", func(r, o string) {
			os.MkdirAll(filepath.Join(r, "etc/systemd"), 0o755)
			os.MkdirAll(filepath.Join(r, "lib/systemd/system"), 0o755)
			os.WriteFile(filepath.Join(r, "lib/systemd/system/x.service"), []byte("[Install]\nWantedBy=multi-user.target\n"), 0o644)
			os.Symlink(o, filepath.Join(r, "etc/systemd/system"))
		}, manifest.Sysroot{Enable: []string{"x.service"}}, "enable x.service"},
		{"disable a unit with the wants folder linked out", func(r, o string) {
			os.MkdirAll(filepath.Join(r, "etc/systemd/system"), 0o755)
			os.Symlink(o, filepath.Join(r, "etc/systemd/system/multi-user.target.wants"))
			os.Symlink("/lib/systemd/system/keep", filepath.Join(o, "keep.service"))
		}, manifest.Sysroot{Disable: []string{"keep.service"}}, "disable keep.service"},
		{"/.autorelabel linked to an outside file: the link goes, the file stays", func(r, o string) {
			os.Symlink(filepath.Join(o, "keep"), filepath.Join(r, ".autorelabel"))
		}, manifest.Sysroot{}, ""},
		{"a plain image is written as before", func(r, o string) {
			os.MkdirAll(filepath.Join(r, "etc/systemd/system"), 0o755)
			os.MkdirAll(filepath.Join(r, "lib/systemd/system"), 0o755)
			os.WriteFile(filepath.Join(r, "lib/systemd/system/x.service"), []byte("[Install]\nWantedBy=multi-user.target\n"), 0o644)
		}, manifest.Sysroot{Enable: []string{"x.service"}, Files: []manifest.File{{Path: "/etc/motd", Content: "hi\n"}}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			top := t.TempDir()
			outside := t.TempDir()
			if err := os.WriteFile(filepath.Join(outside, "keep"), []byte("keep\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			root := filepath.Join(top, NewRoot)
			if err := os.MkdirAll(root, 0o755); err != nil {
				t.Fatal(err)
			}
			tt.image(root, outside)
			before, err := treesnap.Of(outside)
			if err != nil {
				t.Fatal(err)
			}
			step := &Sysroot{Node: "cn001", Server: "http://198.18.0.1:8080", Root: top, Sysroot: tt.sysroot,
				Network: &manifest.Network{Interface: "net0", MAC: "52:54:00:00:00:01", Address: "198.18.0.11/24"}}
			err = step.Run(context.Background(), &plan.Env{Sys: hostsys.Sys{}, Run: hostsys.Runner{}})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Run = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Run = %v, want an error naming %q", err, tt.wantErr)
			}
			if after, _ := treesnap.Of(outside); after != before {
				t.Errorf("outside folder changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			if tt.wantErr == "" {
				if b, err := os.ReadFile(filepath.Join(root, "etc/hostname")); err != nil || string(b) != "cn001\n" {
					t.Errorf("image /etc/hostname = %q, %v", b, err)
				}
			}
		})
	}
}
