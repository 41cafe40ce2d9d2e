package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/bootsrv/inventory"
	"github.com/disklesstrap/disklesstrap/manifest"
)

const discoveryPools = `
discovery:
  - nodes: cn[005-010]
    network: lab
    ip: "198.18.0.{index+10}"
    groups: [compute]
    serials:
      cn009: "SER-9"
`

// discoveryEnv is nodeAuthEnv with a discovery pool in the inventory.
func discoveryEnv(t *testing.T) (*testEnv, *API) {
	e, a, _ := nodeAuthEnv(t)
	f, err := os.OpenFile(e.invPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(discoveryPools)
	f.Close()
	c, err := inventory.Load(e.invPath)
	if err != nil {
		t.Fatal(err)
	}
	e.cluster.Store(c)
	return e, a
}

// discoverNode boots an unknown MAC with a lease and reports its hardware.
func discoverNode(t *testing.T, a *API, mac, addr, serial string) *testNode {
	t.Helper()
	if err := a.cfg.Store.PutLeases(leaseFor(t, mac, addr)); err != nil {
		t.Fatal(err)
	}
	n := newTestNode(t, a, "", mac, addr)
	n.boot()
	hw, _ := json.Marshal(manifest.Hardware{CPUs: 2, MemoryKB: 786432, Serial: serial, UUID: "uuid-" + serial,
		NICs:  []manifest.HardwareNIC{{Name: "eth0", MAC: mac}},
		Disks: []manifest.HardwareDisk{{Name: "vda", Bytes: 8 << 30}}})
	ev := event("", manifest.PhaseDiscovered, map[string]string{"inventory": string(hw)})
	ev = strings.Replace(ev, `"node":""`, `"mac":"`+mac+`"`, 1)
	if code, got := serve(a, n.req("POST", "/api/v1/events", ev, false)); code != 204 {
		t.Fatalf("discovered event of %s = %d %s", mac, code, got)
	}
	return n
}

func adminReq(method, path, body string) *http.Request {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r = asRoot(r)
	r.RemoteAddr = "@"
	return r
}

// TestDiscoveryAssign: a waiting manifest request wakes with the new
// name's manifest, the node signs as its new name from its reserved
// address only, --next takes the next free name, a listed serial names on
// sight, bad input is refused naming the field, and everything is audited.
func TestDiscoveryAssign(t *testing.T) {
	e, a := discoveryEnv(t)
	n1 := discoverNode(t, a, "52:54:00:00:0a:01", "198.18.0.201", "S-1")
	discoverNode(t, a, "52:54:00:00:0a:02", "198.18.0.202", "S-2")

	code, body := serve(a, adminReq("GET", "/api/v1/discovery", ""))
	var list []api.Discovered
	if code != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list) != 2 {
		t.Fatalf("discovery list = %d %s", code, body)
	}
	if d := list[0]; d.Node != "mac-525400000a01" || d.Serial != "S-1" || d.CPUs != 2 || d.Address != "198.18.0.201" ||
		len(d.Disks) != 1 || d.Disks[0] != "vda 8G" || d.Named {
		t.Errorf("discovery list[0] = %+v", d)
	}

	// The agent waits for its name.
	type answer struct {
		m    manifest.Manifest
		code int
		took time.Duration
	}
	got := make(chan answer, 1)
	go func() {
		start := time.Now()
		code, body := serve(a, httptest.NewRequest("GET", "/manifest?mac=52:54:00:00:0a:01&wait=20", nil))
		var m manifest.Manifest
		json.Unmarshal([]byte(body), &m)
		got <- answer{m, code, time.Since(start)}
	}()
	time.Sleep(100 * time.Millisecond)
	code, body = serve(a, adminReq("POST", "/api/v1/discovery/assign", `{"mac":"52:54:00:00:0a:01","name":"cn007"}`))
	if code != 200 || !strings.Contains(body, `"address": "198.18.0.17"`) {
		t.Fatalf("assign cn007 = %d %s", code, body)
	}
	ans := <-got
	if ans.code != 200 || ans.m.Node != "cn007" || ans.m.Mode != manifest.ModeRAMRoot || ans.m.Network == nil ||
		ans.m.Network.Address != "198.18.0.17/24" || ans.took > 5*time.Second {
		t.Errorf("waiting manifest = %d %+v after %v; want cn007's (ramroot, 198.18.0.17/24) at once", ans.code, ans.m, ans.took)
	}

	// The node signs as cn007, from its reserved address only.
	n1.signer = n1.signer.As("cn007")
	ev := event("cn007", manifest.PhaseTrapped, nil)
	if code, got := serve(a, n1.req("POST", "/api/v1/events", ev, false)); code != 403 || !strings.Contains(got, "not from the node's address 198.18.0.17") {
		t.Errorf("cn007's event from its old lease = %d %s, want 403", code, got)
	}
	n1.addr = "198.18.0.17"
	if code, got := serve(a, n1.req("POST", "/api/v1/events", ev, false)); code != 204 {
		t.Errorf("cn007's event from its reserved address = %d %s", code, got)
	}

	code, body = serve(a, adminReq("POST", "/api/v1/discovery/assign", `{"mac":"52:54:00:00:0a:02","next":"cn[005-010]"}`))
	if code != 200 || !strings.Contains(body, `"node": "cn005"`) || !strings.Contains(body, `"by": "next"`) {
		t.Fatalf("assign --next = %d %s", code, body)
	}

	// A listed serial is named as soon as its report arrives.
	discoverNode(t, a, "52:54:00:00:0a:03", "198.18.0.203", "SER-9")
	if n, ok := e.cluster.Load().Node("cn009"); !ok || n.BootInterface().MAC.String() != "52:54:00:00:0a:03" {
		t.Errorf("serial SER-9 did not name cn009: %v", ok)
	}

	discoverNode(t, a, "52:54:00:00:0a:04", "198.18.0.204", "S-4")
	bad := []struct {
		name, body string
		code       int
		want       string
	}{
		{"no name", `{"mac":"52:54:00:00:0a:04"}`, 400, "fields name and next are both empty"},
		{"both", `{"mac":"52:54:00:00:0a:04","name":"cn006","next":"cn[005-010]"}`, 400, "both set"},
		{"bad mac", `{"mac":"zz","name":"cn006"}`, 400, `field mac: \"zz\"`},
		{"unknown field", `{"mac":"52:54:00:00:0a:04","nam":"cn006"}`, 400, "unknown field"},
		{"never discovered", `{"mac":"52:54:00:00:0b:01","name":"cn006"}`, 404, "has not booted the discovery trap"},
		{"already named", `{"mac":"52:54:00:00:0a:01","name":"cn006"}`, 409, "already in the inventory as node cn007"},
		{"name taken", `{"mac":"52:54:00:00:0a:04","name":"cn001"}`, 409, "node cn001 is already in the inventory"},
		{"not in a pool", `{"mac":"52:54:00:00:0a:04","name":"gpu1"}`, 400, "node gpu1 is in no discovery pool"},
		{"a range", `{"mac":"52:54:00:00:0a:04","name":"cn[006-007]"}`, 400, "is not one node name"},
		{"next none free", `{"mac":"52:54:00:00:0a:04","next":"cn[005,007,009]"}`, 409, "every name of cn[005,007,009] in a discovery pool is taken"},
		{"next no pool", `{"mac":"52:54:00:00:0a:04","next":"gpu[1-4]"}`, 409, "no name of gpu[1-4] is in a discovery pool"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := os.ReadFile(e.invPath)
			code, got := serve(a, adminReq("POST", "/api/v1/discovery/assign", tt.body))
			if code != tt.code || !strings.Contains(got, tt.want) {
				t.Errorf("assign %s = %d %s, want %d containing %q", tt.body, code, got, tt.code, tt.want)
			}
			if after, _ := os.ReadFile(e.invPath); string(after) != string(before) {
				t.Errorf("a refused assignment changed the inventory")
			}
		})
	}

	code, body = serve(a, adminReq("GET", "/api/v1/discovery", ""))
	if code != 200 || strings.Count(body, `"named": true`) != 3 {
		t.Errorf("discovery list after naming = %d %s, want 3 named", code, body)
	}
	code, body = serve(a, adminReq("GET", "/api/v1/audit?limit=0", ""))
	for _, want := range []string{"discover assign 52:54:00:00:0a:01 cn007", "discover assign 52:54:00:00:0a:02 --next cn[005-010]",
		"bootsrv (discovery serial match)", `discover assign 52:54:00:00:0a:03 cn009 (DMI serial \"SER-9\")`} {
		if !strings.Contains(body, want) {
			t.Errorf("audit log lacks %q:\n%s", want, body)
		}
	}
	if code, got := serve(a, httptest.NewRequest("GET", "/manifest?mac=52:54:00:00:0a:04&wait=99", nil)); code != 400 || !strings.Contains(got, "query parameter wait") {
		t.Errorf("wait=99 = %d %s", code, got)
	}
	if code, got := serve(a, httptest.NewRequest("POST", "/api/v1/discovery/assign", strings.NewReader(`{}`))); code != 401 {
		t.Errorf("assign without a credential = %d %s, want 401", code, got)
	}
}
