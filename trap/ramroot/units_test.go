package ramroot

import (
	"reflect"
	"strings"
	"testing"
)

func TestWantedBy(t *testing.T) {
	tests := []struct {
		name, unit string
		want       []string
	}{
		{"debian iscsid", "[Unit]\nDescription=iSCSI\n[Service]\nExecStart=/sbin/iscsid\n\n[Install]\nWantedBy=sysinit.target\n", []string{"sysinit.target"}},
		{"several, two lines", "[Install]\nWantedBy=multi-user.target  graphical.target\nWantedBy = remote-fs.target\n", []string{"multi-user.target", "graphical.target", "remote-fs.target"}},
		{"empty assignment resets", "[Install]\nWantedBy=a.target\nWantedBy=\nWantedBy=b.target\n", []string{"b.target"}},
		{"only in [Install]", "[Unit]\nWantedBy=x.target\n[Service]\nWantedBy=y.target\n", nil},
		{"comments, RequiredBy", "[Install]\n# WantedBy=no.target\n; WantedBy=no2.target\nRequiredBy=z.target\n", nil},
		{"bad names skipped", "[Install]\nWantedBy=../../etc/passwd ok.target\n", []string{"ok.target"}},
		{"no install section", "[Service]\nExecStart=/bin/true\n", nil},
		{"empty", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := WantedBy(tt.unit); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("WantedBy(%q) = %q, want %q", tt.unit, got, tt.want)
			}
		})
	}
}

// FuzzWantedBy: any unit file text gives unit names only (they become
// paths under /etc/systemd/system), never a panic.
func FuzzWantedBy(f *testing.F) {
	f.Add("[Install]\nWantedBy=sysinit.target\n")
	f.Add("[Install]\nWantedBy=a.target b.service\nWantedBy=\n[Unit]\n")
	f.Add("[Install]\nWantedBy=../x.target /etc/y.target\n")
	f.Fuzz(func(t *testing.T, unit string) {
		for _, u := range WantedBy(unit) {
			if !unitRE.MatchString(u) || strings.Contains(u, "/") {
				t.Errorf("WantedBy(%q) gave %q, not a unit name", unit, u)
			}
		}
	})
}
