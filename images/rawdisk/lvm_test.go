package rawdisk

import (
	"strconv"
	"strings"
	"testing"
)

func strconvI(n int64) string { return strconv.FormatInt(n, 10) }

const vgSample = `contents = "Text Format Volume Group"
version = 1

system {
	id = "GAmqj9-KaKM-6MBD-AEOM-x8kw-bscC-Ao0RBB"
	seqno = 1
	extent_size = 8192		# 4 Megabytes

	physical_volumes {

		pv0 {
			id = "m525Vt-5Qoh-ksjX-dNgc-cQ2J-RlTD-Lvrsn6"
			dev_size = 131072	# 64 Megabytes
			pe_start = 2048
			pe_count = 15	# 60 Megabytes
		}
	}


}
`

func TestAddLinearLV(t *testing.T) {
	tests := []struct {
		name    string
		meta    string
		size    int64
		wantErr string
	}{
		{"ok", vgSample, 16 << 20, ""},
		{"not extents", vgSample, 3 << 20, "multiple of the 4194304-byte extent"},
		{"too big", vgSample, 64 << 20, "needs 16 extents, the PV has 15"},
		{"no pe_start", strings.Replace(vgSample, "pe_start", "pe_x", 1), 4 << 20, "no pe_start"},
		{"has lv", vgSample + "logical_volumes {}\n", 4 << 20, "already has"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, pe, err := AddLinearLV(tt.meta, "var", tt.size)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("AddLinearLV(%s) error = %v, want %q", tt.name, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("AddLinearLV: %v", err)
			}
			if pe != 2048*512 {
				t.Errorf("pe_start = %d, want %d", pe, 2048*512)
			}
			for _, want := range []string{"seqno = 2", "\t\tvar {", "extent_count = 4", `"pv0", 0`} {
				if !strings.Contains(out, want) {
					t.Errorf("metadata lacks %q:\n%s", want, out)
				}
			}
			if strings.Count(out, "{") != strings.Count(out, "}") {
				t.Errorf("unbalanced braces:\n%s", out)
			}
		})
	}
}

func FuzzAddLinearLV(f *testing.F) {
	f.Add(vgSample, int64(4<<20))
	f.Add("seqno = 1\nextent_size = 1\npe_start = 1\npe_count = 1\n}", int64(512))
	f.Fuzz(func(t *testing.T, meta string, size int64) {
		_, _, _ = AddLinearLV(meta, "var", size)
	})
}
