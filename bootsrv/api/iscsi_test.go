package api

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/manifest"
)

// TestISCSIManifest renders the iscsi attribute group into manifest.ISCSI
// and checks that secrets appear by name only.
func TestISCSIManifest(t *testing.T) {
	e := newEnv(t)
	set := func(rng string, fields map[string]any) {
		t.Helper()
		e.mustDo("PATCH", "/api/v1/nodes/"+rng, map[string]any{"fields": fields}, 200, nil)
	}
	get := func(node string) (*manifest.Manifest, string) {
		t.Helper()
		body := e.mustDo("GET", "/manifest/"+node, nil, 200, nil)
		m, err := manifest.Decode([]byte(body))
		if err != nil {
			t.Fatalf("manifest %s: %v", node, err)
		}
		return m, body
	}

	// Mode iscsi without any iscsi attribute: no section and no problem
	// (the configuration may be pushed into the agent over SSH).
	set("cn001", map[string]any{"mode": "iscsi"})
	m, _ := get("cn001")
	if m.ISCSI != nil || len(m.Problems) != 0 {
		t.Fatalf("cn001 without iscsi attributes: ISCSI %+v, Problems %q; want neither", m.ISCSI, m.Problems)
	}
	// Partly configured: a problem naming the missing attribute.
	set("cn001", map[string]any{"iscsi_portals": []string{"198.18.0.1"}})
	m, _ = get("cn001")
	if m.ISCSI != nil || len(m.Problems) != 1 || !strings.Contains(m.Problems[0], "node cn001: iscsi_target is not set") {
		t.Fatalf("cn001 with portals only: ISCSI %+v, Problems %q", m.ISCSI, m.Problems)
	}

	full := map[string]any{
		"iscsi_portals": []string{"198.18.0.1", "198.18.1.1:3261"}, "iscsi_target": "iqn.2026-11.lab:root",
		"iscsi_multipath": "yes", "iscsi_lun": "2", "iscsi_volume_groups": []string{"system"},
		"luks_key": "luks", "chap_user": "node", "chap_secret": "iscsi-chap",
		"mutual_chap_user": "target", "mutual_chap_secret": "iscsi-mutual",
		"discovery_chap_user": "disco", "discovery_chap_secret": "iscsi-disco",
		"discovery_mutual_chap_user": "disco_target", "discovery_mutual_chap_secret": "iscsi-disco-mutual",
	}
	set("cn001", full)
	m, body := get("cn001")
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(body)); err != nil {
		t.Fatal(err)
	}
	body = compact.String()
	want := &manifest.ISCSI{
		InitiatorName: DefaultInitiatorPrefix + "cn001", Target: "iqn.2026-11.lab:root",
		Portals: []string{"198.18.0.1", "198.18.1.1:3261"}, LUN: 2, Multipath: true, VolumeGroups: []string{"system"},
		LUKS:                &manifest.LUKS{Key: manifest.SecretRef{Name: "luks"}},
		CHAP:                &manifest.CHAP{User: "node", Secret: manifest.SecretRef{Name: "iscsi-chap"}},
		MutualCHAP:          &manifest.CHAP{User: "target", Secret: manifest.SecretRef{Name: "iscsi-mutual"}},
		DiscoveryCHAP:       &manifest.CHAP{User: "disco", Secret: manifest.SecretRef{Name: "iscsi-disco"}},
		DiscoveryMutualCHAP: &manifest.CHAP{User: "disco_target", Secret: manifest.SecretRef{Name: "iscsi-disco-mutual"}},
	}
	if !reflect.DeepEqual(m.ISCSI, want) || len(m.Problems) != 0 {
		t.Fatalf("cn001 ISCSI = %+v (problems %q), want %+v", m.ISCSI, m.Problems, want)
	}
	for _, s := range []string{`"key":{"name":"luks"}`, `"secret":{"name":"iscsi-chap"}`} {
		if !strings.Contains(body, s) {
			t.Errorf("manifest JSON lacks %s:\n%s", s, body)
		}
	}
	for _, s := range []string{"password", "passphrase", `"value"`} {
		if strings.Contains(body, s) {
			t.Errorf("manifest JSON contains %s:\n%s", s, body)
		}
	}

	// A templated initiator name; cn002 in mode ramroot gets no ISCSI.
	set("cn[001-002]", map[string]any{"iscsi_initiator": "iqn.2026-11.lab:{node}"})
	if m, _ := get("cn001"); m.ISCSI == nil || m.ISCSI.InitiatorName != "iqn.2026-11.lab:cn001" {
		t.Errorf("cn001 initiator = %+v, want iqn.2026-11.lab:cn001", m.ISCSI)
	}
	if m, _ := get("cn002"); m.ISCSI != nil {
		t.Errorf("cn002 (mode ramroot) ISCSI = %+v, want nil", m.ISCSI)
	}

	// Inconsistent CHAP: the problem names the attributes.
	for _, tc := range []struct {
		fields map[string]any
		want   string
	}{
		{map[string]any{"chap_user": ""}, "chap_secret is set but chap_user is not"},
		{map[string]any{"chap_user": "node", "chap_secret": ""}, "chap_user is set but chap_secret"},
		{map[string]any{"iscsi_portals": []string{}}, "iscsi_portals is not set"},
		{map[string]any{"discovery_chap_secret": ""}, "discovery_chap_user is set but discovery_chap_secret"},
		{map[string]any{"discovery_chap_user": "", "discovery_chap_secret": ""}, "discovery_mutual_chap_user needs discovery_chap_user and discovery_chap_secret"},
	} {
		set("cn003", map[string]any{"mode": "iscsi"})
		set("cn003", full)
		set("cn003", tc.fields)
		m, _ := get("cn003")
		if m.ISCSI != nil || len(m.Problems) != 1 || !strings.Contains(m.Problems[0], tc.want) {
			t.Errorf("cn003 with %v: ISCSI %+v, Problems %q, want a problem containing %q", tc.fields, m.ISCSI, m.Problems, tc.want)
		}
	}
}
