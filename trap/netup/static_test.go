package netup

import (
	"strings"
	"testing"
)

func TestUpStatic(t *testing.T) {
	net1, err := ParseStatic("net1", "52:54:00:00:00:02", "198.19.0.21/24")
	if err != nil {
		t.Fatal(err)
	}
	missing, _ := ParseStatic("net2", "52:54:00:00:00:99", "198.20.0.21/24")
	up := eth1
	up.Up = true
	tests := []struct {
		name    string
		links   []Link
		ifcs    []Static
		want    string
		wantErr string
	}{
		{name: "raise and address", links: []Link{lo, eth0, eth1}, ifcs: []Static{net1},
			want: "links -> 3\nup eth1\naddr eth1 198.19.0.21/24\n"},
		{name: "already up", links: []Link{lo, eth0, up}, ifcs: []Static{net1},
			want: "links -> 3\naddr eth1 198.19.0.21/24\n"},
		{name: "missing link, others still done", links: []Link{lo, eth0, eth1}, ifcs: []Static{missing, net1},
			want: "links -> 3\nup eth1\naddr eth1 198.19.0.21/24\n", wantErr: "interface net2: no link with MAC 52:54:00:00:00:99"},
		{name: "none", links: []Link{lo}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fake{links: [][]Link{tt.links}}
			err := UpStatic(f, tt.ifcs)
			if got := f.log.String(); got != tt.want {
				t.Errorf("UpStatic(%v) ran:\n%s\nwant:\n%s", tt.ifcs, got, tt.want)
			}
			if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("UpStatic(%v) error = %v, want %q", tt.ifcs, err, tt.wantErr)
			}
		})
	}
}

func TestParseStatic(t *testing.T) {
	for _, tt := range []struct{ mac, addr, wantErr string }{
		{"52:54:00:00:00:02", "198.19.0.21/24", ""},
		{"52:54:00:00:00:02", "198.19.0.21", "interface net1: address \"198.19.0.21\": want ADDR/BITS"},
		{"nope", "198.19.0.21/24", "interface net1: mac \"nope\""},
	} {
		_, err := ParseStatic("net1", tt.mac, tt.addr)
		if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("ParseStatic(%q, %q) error = %v, want %q", tt.mac, tt.addr, err, tt.wantErr)
		}
	}
}

func FuzzParseStatic(f *testing.F) {
	f.Add("52:54:00:00:00:02", "198.19.0.21/24")
	f.Add("", "::1/128")
	f.Fuzz(func(t *testing.T, mac, addr string) {
		s, err := ParseStatic("x", mac, addr)
		if err == nil && (!s.Address.IsValid() || len(s.MAC) == 0) {
			t.Errorf("ParseStatic(%q, %q) = %v without error", mac, addr, s)
		}
	})
}
