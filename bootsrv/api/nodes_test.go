package api

import (
	"os"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/bootsrv/inventory"
)

func TestNodesRead(t *testing.T) {
	e := newEnv(t)
	var nodes []api.Node
	e.mustDo("GET", "/api/v1/nodes", nil, 200, &nodes)
	if len(nodes) != 5 || nodes[0].Name != "cn001" || nodes[4].Name != "login1" {
		t.Errorf("all nodes = %d, first %s", len(nodes), nodes[0].Name)
	}
	e.golden("node-cn002-blame.json.golden", e.mustDo("GET", "/api/v1/nodes/cn002?blame=1", nil, 200, nil))
	e.mustDo("GET", "/api/v1/nodes?range=login1,cn003", nil, 200, &nodes)
	if len(nodes) != 2 || nodes[0].Name != "cn003" || nodes[0].Blame != nil {
		t.Errorf("range login1,cn003 = %+v", nodes)
	}
}

func TestNodeEdits(t *testing.T) {
	e := newEnv(t)
	var nodes []api.Node
	add := api.NodeEdit{Name: "cn[005-006]", Fields: map[string]any{
		"groups": []string{"compute"},
		"interfaces": []map[string]any{{"name": "net0", "network": "lab",
			"mac": "52:54:00:00:00:{index:02x}", "ip": "198.18.0.{index+10}"}},
	}}
	e.mustDo("POST", "/api/v1/nodes", add, 201, &nodes)
	if len(nodes) != 2 || nodes[1].Interfaces[0].IP != "198.18.0.16" {
		t.Fatalf("added = %+v", nodes)
	}
	// The new node boots right away (the cluster pointer was swapped).
	script := e.mustDo("GET", "/ipxe?mac=52:54:00:00:00:06", nil, 200, nil)
	if !strings.Contains(script, "cn006") {
		t.Errorf("script for the added cn006 does not name it:\n%s", script)
	}
	if code, body := e.do("POST", "/api/v1/nodes", add); code != 409 || !strings.Contains(body, "cn[005-006]") {
		t.Errorf("adding existing nodes = %d %s, want 409 naming them", code, body)
	}

	e.mustDo("PATCH", "/api/v1/nodes/cn[004-005]", api.NodeEdit{Fields: map[string]any{"mode": "iscsi"}}, 200, &nodes)
	var n api.Node
	e.mustDo("GET", "/api/v1/nodes/cn004?blame=1", nil, 200, &n)
	if n.Attrs["mode"] != "iscsi" || n.Blame["mode"].Kind != "node" {
		t.Errorf("cn004 after set: mode %v from %+v, want iscsi from its node entry", n.Attrs["mode"], n.Blame["mode"])
	}
	e.mustDo("GET", "/api/v1/nodes/cn003", nil, 200, &n)
	if n.Attrs["mode"] != "ramroot" {
		t.Errorf("cn003 after set of cn[004-005]: mode %v, want ramroot (untouched)", n.Attrs["mode"])
	}
	// nil removes the key again: inherited from the group.
	e.mustDo("PATCH", "/api/v1/nodes/cn004", map[string]any{"fields": map[string]any{"mode": nil}}, 200, nil)
	e.mustDo("GET", "/api/v1/nodes/cn004", nil, 200, &n)
	if n.Attrs["mode"] != "ramroot" {
		t.Errorf("cn004 after unset: mode %v, want ramroot", n.Attrs["mode"])
	}

	before, _ := os.ReadFile(e.invPath)
	for _, tc := range []struct {
		method, path string
		body         any
		code         int
		msg          string
	}{
		{"PATCH", "/api/v1/nodes/cn001", api.NodeEdit{Fields: map[string]any{"mode": "warp"}}, 400, "mode"},
		{"PATCH", "/api/v1/nodes/cn001", api.NodeEdit{Fields: map[string]any{"colour": "red"}}, 400, "colour"},
		{"PATCH", "/api/v1/nodes/cn001", api.NodeEdit{}, 400, "fields"},
		{"PATCH", "/api/v1/nodes/cn009", api.NodeEdit{Fields: map[string]any{"mode": "trap"}}, 404, "cn009"},
		{"POST", "/api/v1/nodes", api.NodeEdit{}, 400, "name"},
		{"POST", "/api/v1/nodes", api.NodeEdit{Name: "x[1-"}, 400, "name"},
		{"POST", "/api/v1/nodes", api.NodeEdit{Name: "cn010", Fields: map[string]any{"interfaces": []map[string]any{{"name": "net0", "network": "lab", "mac": "52:54:00:00:00:01", "ip": "198.18.0.99"}}}}, 400, "52:54:00:00:00:01"},
		{"DELETE", "/api/v1/nodes/cn[001-009]", nil, 404, "cn[007-009]"},
	} {
		code, body := e.do(tc.method, tc.path, tc.body)
		if code != tc.code || !strings.Contains(body, tc.msg) {
			t.Errorf("%s %s %v = %d %s, want %d mentioning %q", tc.method, tc.path, tc.body, code, body, tc.code, tc.msg)
		}
	}
	if after, _ := os.ReadFile(e.invPath); string(after) != string(before) {
		t.Errorf("refused edits changed the inventory file")
	}

	e.mustDo("POST", "/api/v1/mode", api.ModeSet{Range: "cn006", Mode: "local"}, 200, nil)
	e.mustDo("DELETE", "/api/v1/nodes/cn[005-006]", nil, 200, &nodes)
	if len(nodes) != 2 {
		t.Errorf("deleted = %+v", nodes)
	}
	if code, _ := e.do("GET", "/api/v1/nodes/cn005", nil); code != 404 {
		t.Errorf("GET deleted cn005 = %d, want 404", code)
	}
	if o, ok, _ := e.store.ModeFor("cn006"); ok {
		t.Errorf("deleted cn006 still has a mode override %+v", o)
	}
	// The file on disk is valid and agrees with the API.
	c, err := inventory.Load(e.invPath)
	if err != nil {
		t.Fatalf("inventory file after edits: %v", err)
	}
	if len(c.Nodes()) != 5 {
		t.Errorf("inventory file has %d nodes, want 5", len(c.Nodes()))
	}
	if n, ok := c.Node("cn005"); ok {
		t.Errorf("cn005 still in the file: %+v", n)
	}
}
