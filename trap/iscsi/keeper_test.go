package iscsi

import (
	"strings"
	"testing"
)

func (f *fake) StartKeeper(root string, maps []string) error {
	f.rec("keeper %s %s", f.rel(root), strings.Join(maps, " "))
	return nil
}

func TestSCSIID(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"naa.60000000000000000e00000000010001\n", "360000000000000000e00000000010001"},
		{"eui.0123456789ABCDEF", "20123456789abcdef"},
		{"t10.IET     VIRTUAL-DISK    beaf11", "1IET_VIRTUAL-DISK_beaf11"},
		{"odd id", "odd_id"},
	} {
		if got := SCSIID(tt.in); got != tt.want {
			t.Errorf("SCSIID(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
