package iscsi

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/manifest"
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
	plain := &manifest.ISCSI{Target: "iqn.a:testos"}
	withCHAP := &manifest.ISCSI{Target: "iqn.a:testos",
		DiscoveryCHAP:       &manifest.CHAP{User: "disco", Secret: manifest.SecretRef{Name: "disco-secret"}},
		DiscoveryMutualCHAP: &manifest.CHAP{User: "disco_target", Secret: manifest.SecretRef{Name: "disco-mutual"}}}
	// iscsiadm's words when tgtd refuses a discovery login.
	refused := "iscsiadm: Login failed to authenticate with target \niscsiadm: discovery login to 198.18.0.1 rejected: initiator failed authorization\n\niscsiadm: Could not perform SendTargets discovery: iSCSI login failed due to authorization failure"
	for _, tt := range []struct {
		name, out string
		err       error
		wantErr   string
		c         *manifest.ISCSI
	}{
		{"auth refused, discovery CHAP", refused, errors.New("exit status 24"),
			"198.18.0.1:3260: sendtargets discovery: authentication failed: the portal refused discovery CHAP user disco (secret disco-secret): exit status 24: iscsiadm: Login failed", withCHAP},
		{"auth failed, mutual", "iscsiadm: Login failed to authenticate with target", errors.New("exit status 24"),
			"authentication failed: check discovery CHAP user disco (secret disco-secret) and the portal's mutual CHAP user disco_target (secret disco-mutual)", withCHAP},
		{"auth refused, no discovery CHAP", refused, errors.New("exit status 24"),
			"the portal asks for authentication and the node has no discovery CHAP (discovery_chap_user, discovery_chap_secret)", plain},
		{"offered", "198.18.0.1:3260,1 iqn.a:other\n198.18.0.1:3260,1 iqn.a:testos\n", nil, "", withCHAP},
		{"not offered", "198.18.0.1:3260,1 iqn.a:other\n", nil, "198.18.0.1:3260: sendtargets discovery does not offer iqn.a:testos to this initiator (offered: iqn.a:other", nil},
		{"nothing", "", nil, "(offered: nothing;", nil},
		{"unreachable", "iscsiadm: cannot make connection to 198.18.0.1: No route to host", errors.New("exit status 4"),
			"198.18.0.1:3260: sendtargets discovery: exit status 4: iscsiadm: cannot make connection", withCHAP},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			if c == nil {
				c = plain
			}
			err := discover(context.Background(), discoveryRunner{tt.out, tt.err}, c, "198.18.0.1:3260")
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
		err := discover(context.Background(), discoveryRunner{out, nil}, &manifest.ISCSI{Target: "iqn.a:testos"}, "198.18.0.1:3260")
		if err == nil && !strings.Contains(out, " iqn.a:testos") {
			t.Errorf("discover(%q) = nil without the target in the output", out)
		}
	})
}
