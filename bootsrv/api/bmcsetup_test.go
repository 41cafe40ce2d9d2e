package api

import (
	"reflect"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/manifest"
)

// TestBMCSetupManifest: setupbmc: yes puts the BMC's address (with its
// network's prefix length), user and password secret name into the
// manifest; a missing attribute is a problem naming it.
func TestBMCSetupManifest(t *testing.T) {
	e := newEnv(t)
	set := func(fields map[string]any) {
		t.Helper()
		e.mustDo("PATCH", "/api/v1/nodes/cn001", map[string]any{"fields": fields}, 200, nil)
	}
	get := func() (*manifest.Manifest, string) {
		t.Helper()
		body := e.mustDo("GET", "/manifest/cn001", nil, 200, nil)
		m, err := manifest.Decode([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		return m, body
	}
	set(map[string]any{"bmc_address": "198.18.0.104", "bmc_user": "admin", "bmc_password": "bmc"})
	if m, _ := get(); m.BMCSetup != nil {
		t.Fatalf("without setupbmc: BMCSetup %+v", m.BMCSetup)
	}
	set(map[string]any{"setupbmc": "yes"})
	m, body := get()
	if m.BMCSetup == nil {
		t.Fatalf("setupbmc: yes: no bmc_setup; problems %q", m.Problems)
	}
	if want := "/24"; !strings.HasSuffix(m.BMCSetup.Address, want) || !strings.HasPrefix(m.BMCSetup.Address, "198.18.0.104/") {
		t.Errorf("address %q", m.BMCSetup.Address)
	}
	want := manifest.BMCSetup{Address: m.BMCSetup.Address, Gateway: m.BMCSetup.Gateway, Channel: 1, UserID: 2, User: "admin", Password: manifest.SecretRef{Name: "bmc"}}
	if !reflect.DeepEqual(*m.BMCSetup, want) {
		t.Errorf("bmc_setup %+v, want %+v", *m.BMCSetup, want)
	}
	if !strings.Contains(body, `"password":{"name":"bmc"}`) && !strings.Contains(body, `"name": "bmc"`) {
		t.Errorf("manifest body has no password secret reference:\n%s", body)
	}
	set(map[string]any{"bmc_user": nil})
	if m, _ := get(); m.BMCSetup != nil || !strings.Contains(strings.Join(m.Problems, "\n"), "setupbmc: node cn001: needs bmc_address, bmc_user and bmc_password") {
		t.Errorf("without bmc_user: BMCSetup %+v, problems %q", m.BMCSetup, m.Problems)
	}
}
