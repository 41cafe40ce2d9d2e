package api

import (
	"fmt"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/manifest"
)

func TestModeSetAndStatus(t *testing.T) {
	e := newEnv(t)
	var res api.ModeSetResult
	e.mustDo("POST", "/api/v1/mode", api.ModeSet{Range: "cn[002-003]", Mode: "local"}, 200, &res)
	if res.Count != 2 {
		t.Errorf("mode set count = %d, want 2", res.Count)
	}
	e.mustDo("POST", "/api/v1/mode", api.ModeSet{Range: "cn003", Mode: "trap", Once: true}, 200, &res)
	var st []api.Status
	e.mustDo("GET", "/api/v1/status", nil, 200, &st)
	var got []string
	for _, s := range st {
		r := fmt.Sprintf("%s=%s", s.Node, s.Mode)
		if s.Once {
			r += "+once"
		}
		got = append(got, r)
	}
	want := "cn001=ramroot cn002=local cn003=trap+once cn004=ramroot login1=local"
	if strings.Join(got, " ") != want {
		t.Errorf("status modes = %s\nwant %s", strings.Join(got, " "), want)
	}
	e.mustDo("GET", "/api/v1/status?range=cn004,cn002", nil, 200, &st)
	if len(st) != 2 || st[0].Node != "cn002" || st[1].Node != "cn004" {
		t.Errorf("status of cn004,cn002 = %+v, want cn002 then cn004", st)
	}

	// Unknown names: 404 naming them, nothing written.
	code, body := e.do("POST", "/api/v1/mode", api.ModeSet{Range: "cn[001-006]", Mode: "iscsi"})
	if code != 404 || !strings.Contains(body, "cn[005-006]") {
		t.Errorf("mode set with unknown nodes = %d %s, want 404 naming cn[005-006]", code, body)
	}
	e.mustDo("GET", "/api/v1/status?range=cn001", nil, 200, &st)
	if st[0].Mode != "ramroot" {
		t.Errorf("after a refused mode set cn001 mode = %s, want ramroot (nothing written)", st[0].Mode)
	}
}

// TestModeSet10k: one API call switches 10,000 nodes.
func TestModeSet10k(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	e := newEnv(t)
	code, body := e.do("POST", "/api/v1/nodes", api.NodeEdit{Name: "big[00001-10000]", Fields: map[string]any{"groups": []string{"compute"}}})
	if code != 201 {
		t.Fatalf("add 10000 nodes = %d %.200s", code, body)
	}
	var res api.ModeSetResult
	e.mustDo("POST", "/api/v1/mode", api.ModeSet{Range: "big[00001-10000]", Mode: "iscsi"}, 200, &res)
	if res.Count != 10000 {
		t.Errorf("count = %d, want 10000", res.Count)
	}
	var st []api.Status
	e.mustDo("GET", "/api/v1/status?range=big[09999-10000]", nil, 200, &st)
	if len(st) != 2 || st[1].Mode != "iscsi" {
		t.Errorf("status = %+v", st)
	}
}

// TestContinueMode: a node held in the trap continues, when the admin leaves
// the trap, with its persistent mode (override, else inventory).
func TestContinueMode(t *testing.T) {
	e := newEnv(t)
	var res api.ModeSetResult
	manifestOf := func(node string) manifest.Manifest {
		t.Helper()
		var m manifest.Manifest
		e.mustDo("GET", "/manifest/"+node, nil, 200, &m)
		return m
	}
	// cn001's inventory mode is ramroot.
	e.mustDo("POST", "/api/v1/mode", api.ModeSet{Range: "cn001", Mode: "trap", Once: true}, 200, &res)
	if m := manifestOf("cn001"); m.Mode != "trap" || m.Continue != "ramroot" {
		t.Errorf("cn001 trap --once over inventory ramroot: mode %q continue %q, want trap, ramroot", m.Mode, m.Continue)
	}
	// A persistent override wins over the inventory for Continue.
	e.mustDo("POST", "/api/v1/mode", api.ModeSet{Range: "cn002", Mode: "iscsi"}, 200, &res)
	e.mustDo("POST", "/api/v1/mode", api.ModeSet{Range: "cn002", Mode: "service", Once: true}, 200, &res)
	if m := manifestOf("cn002"); m.Mode != "service" || m.Continue != "iscsi" {
		t.Errorf("cn002 service --once over persistent iscsi: mode %q continue %q, want service, iscsi", m.Mode, m.Continue)
	}
	// Persistently trapped: nothing to continue to.
	e.mustDo("POST", "/api/v1/mode", api.ModeSet{Range: "cn003", Mode: "trap"}, 200, &res)
	if m := manifestOf("cn003"); m.Mode != "trap" || m.Continue != "" {
		t.Errorf("cn003 persistent trap: mode %q continue %q, want trap and no continue", m.Mode, m.Continue)
	}
	// Not trapped: no continue.
	if m := manifestOf("cn004"); m.Mode != "ramroot" || m.Continue != "" {
		t.Errorf("cn004: mode %q continue %q, want ramroot and no continue", m.Mode, m.Continue)
	}
}
