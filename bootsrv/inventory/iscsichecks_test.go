package inventory

import (
	"strings"
	"testing"
)

// TestISCSIAttrs loads iscsi attributes and checks that bad values fail
// with an error naming the attribute (and never echoing a value given
// where a secret name belongs).
func TestISCSIAttrs(t *testing.T) {
	good := "defaults:\n  mode: iscsi\n  iscsi_portals: [198.18.0.1, \"198.18.1.1:3261\"]\n  iscsi_target: iqn.2026-11.lab:root\n" +
		"  iscsi_initiator: \"iqn.2026-11.lab:{node}\"\n  iscsi_multipath: \"yes\"\n  iscsi_lun: \"1\"\n  iscsi_volume_groups: [system]\n" +
		"  luks_key: luks\n  chap_user: node\n  chap_secret: iscsi-chap\n  mutual_chap_user: target\n  mutual_chap_secret: iscsi-mutual\n"
	c, err := Parse("cluster.yaml", []byte(netYAML+good))
	if err != nil {
		t.Fatalf("Parse(good) = %v", err)
	}
	if got := Val(c.defaults.ISCSITarget); got != "iqn.2026-11.lab:root" {
		t.Errorf("defaults iscsi_target = %q", got)
	}
	tests := []struct {
		name, in, want string
	}{
		{"portal", "defaults:\n  iscsi_portals: [nowhere]\n", `defaults.iscsi_portals[0]: iscsi: portal "nowhere"`},
		{"target", "defaults:\n  iscsi_target: root\n", `defaults.iscsi_target: iSCSI name "root": want iqn.`},
		{"initiator space", "defaults:\n  iscsi_initiator: iqn.2026-11.a b\n", `defaults.iscsi_initiator: iSCSI name "iqn.2026-11.a b": contains a space`},
		{"multipath", "defaults:\n  iscsi_multipath: maybe\n", `defaults.iscsi_multipath: "maybe": want yes or no`},
		{"lun", "defaults:\n  iscsi_lun: \"-1\"\n", `defaults.iscsi_lun: "-1": want a number`},
		{"vg", "defaults:\n  iscsi_volume_groups: [\"-x\"]\n", `defaults.iscsi_volume_groups[0]: volume group "-x"`},
		{"luks key value", "defaults:\n  luks_key: \"hunter2 secret!\"\n", `defaults.luks_key: want a secret name`},
		{"chap user", "defaults:\n  chap_user: a=b\n", `defaults.chap_user: CHAP user "a=b": contains a space or '='`},
		{"chap secret", "defaults:\n  chap_secret: \"p@ss/w0rd\"\n", `defaults.chap_secret: want a secret name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("cluster.yaml", []byte(netYAML+tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse(%q) = %v, want an error containing %q", tt.in, err, tt.want)
			}
			for _, secret := range []string{"hunter2", "p@ss"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("Parse(%q) error echoes the value: %v", tt.in, err)
				}
			}
		})
	}
}
