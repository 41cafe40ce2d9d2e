package lab

import (
	"net"
	"testing"
)

func TestBuildParseRA(t *testing.T) {
	mac := net.HardwareAddr{0x02, 0xd7, 0x1a, 0xb0, 0x00, 0x01}
	tests := []struct {
		name string
		mac  net.HardwareAddr
		len  int
	}{
		{"with source link address", mac, 24},
		{"without", nil, 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := BuildRA(tt.mac)
			if len(b) != tt.len {
				t.Fatalf("len(BuildRA(%v)) = %d, want %d", tt.mac, len(b), tt.len)
			}
			ra, err := ParseRA(b)
			if err != nil {
				t.Fatalf("ParseRA(BuildRA(%v)): %v", tt.mac, err)
			}
			if ra.Managed || ra.Other || ra.RouterLifetime != 0 || ra.Prefixes != 0 {
				t.Errorf("ParseRA(BuildRA) = %+v, want M=0 O=0 lifetime 0 no prefix", ra)
			}
			if ra.SourceLinkAddr.String() != tt.mac.String() {
				t.Errorf("SourceLinkAddr = %v, want %v", ra.SourceLinkAddr, tt.mac)
			}
		})
	}
}

func TestParseRAErrors(t *testing.T) {
	good := BuildRA(net.HardwareAddr{2, 0, 0, 0, 0, 1})
	withPrefix := append(append([]byte(nil), good...), append([]byte{ndOptPrefixInfo, 4}, make([]byte, 30)...)...)
	managed := append([]byte(nil), good...)
	managed[5] = 0xc0
	managed[6], managed[7] = 0x07, 0x08
	tests := []struct {
		name    string
		b       []byte
		wantErr bool
		check   func(RA) bool
	}{
		{"short", good[:10], true, nil},
		{"wrong type", append([]byte{133}, good[1:]...), true, nil},
		{"zero length option", append(append([]byte(nil), good[:16]...), 1, 0), true, nil},
		{"truncated option", append(append([]byte(nil), good[:16]...), 1, 2, 0, 0), true, nil},
		{"odd byte", append(append([]byte(nil), good...), 1), true, nil},
		{"prefix", withPrefix, false, func(r RA) bool { return r.Prefixes == 1 }},
		{"flags", managed, false, func(r RA) bool { return r.Managed && r.Other && r.RouterLifetime == 0x0708 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ra, err := ParseRA(tt.b)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseRA(% x) error = %v, wantErr %v", tt.b, err, tt.wantErr)
			}
			if tt.check != nil && !tt.check(ra) {
				t.Errorf("ParseRA(% x) = %+v", tt.b, ra)
			}
		})
	}
}

func FuzzParseRA(f *testing.F) {
	f.Add(BuildRA(net.HardwareAddr{2, 0, 0, 0, 0, 1}))
	f.Add(BuildRA(nil))
	f.Add([]byte{134, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		ra, err := ParseRA(b)
		if err == nil && len(ra.SourceLinkAddr) > len(b) {
			t.Errorf("ParseRA: link address longer than input")
		}
	})
}
