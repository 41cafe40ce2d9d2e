package iscsi

import (
	"context"
	"errors"
	"strings"
	"testing"
)

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

type discoveryRunner struct {
	out string
	err error
}

func (r discoveryRunner) Run(context.Context, string, ...string) ([]byte, error) {
	return []byte(r.out), r.err
}

func TestDiscover(t *testing.T) {
	for _, tt := range []struct {
		name, out string
		err       error
		wantErr   string
	}{
		{"offered", "198.18.0.1:3260,1 iqn.a:other\n198.18.0.1:3260,1 iqn.a:testos\n", nil, ""},
		{"not offered", "198.18.0.1:3260,1 iqn.a:other\n", nil, "198.18.0.1:3260: sendtargets discovery does not offer iqn.a:testos to this initiator (offered: iqn.a:other"},
		{"nothing", "", nil, "(offered: nothing;"},
		{"unreachable", "iscsiadm: cannot make connection to 198.18.0.1: No route to host", errors.New("exit status 4"),
			"198.18.0.1:3260: sendtargets discovery: exit status 4: iscsiadm: cannot make connection"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := discover(context.Background(), discoveryRunner{tt.out, tt.err}, "iqn.a:testos", "198.18.0.1:3260")
			if (tt.wantErr == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("discover(%q) = %v, want %q", tt.out, err, tt.wantErr)
			}
		})
	}
}

func FuzzDiscover(f *testing.F) {
	f.Add("198.18.0.1:3260,1 iqn.a:testos\n")
	f.Add("[fe80::1]:3260,1 iqn.a:testos\n198.18.0.1:3260,1 iqn.a:b c\n")
	f.Fuzz(func(t *testing.T, out string) {
		err := discover(context.Background(), discoveryRunner{out, nil}, "iqn.a:testos", "198.18.0.1:3260")
		if err == nil && !strings.Contains(out, " iqn.a:testos") {
			t.Errorf("discover(%q) = nil without the target in the output", out)
		}
	})
}
