package api

import (
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/manifest"
)

const hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIINWH6AJ49rJcWVbW2UEqp3hgnz9gl05UASfH2j75fvx root@cn001"

func TestEventsToStatus(t *testing.T) {
	e := newEnv(t)
	// One event as an object, then a batch as an array.
	e.mustDo("POST", "/api/v1/events", manifest.Event{Node: "cn001", Phase: manifest.PhaseAgentStart}, 204, nil)
	e.mustDo("POST", "/api/v1/events", []manifest.Event{
		{Node: "cn001", Phase: manifest.PhaseNetUp, Data: map[string]string{"address": "198.18.0.11/24"}},
		{MAC: "52-54-00-00-00-02", Phase: manifest.PhaseStepFailed, Message: "wrong passphrase", Data: map[string]string{"step": "luks"}},
		{Node: "cn001", Phase: manifest.PhaseHostKey, Data: map[string]string{"key": hostKey}},
		{Node: "cn001", Phase: manifest.PhaseTrapped},
	}, 204, nil)

	var st []api.Status
	e.mustDo("GET", "/api/v1/status?range=cn[001-002]", nil, 200, &st)
	if st[0].Phase != "trapped" || st[0].Address != "198.18.0.11/24" || st[0].LastSeen.IsZero() {
		t.Errorf("cn001 status = %+v", st[0])
	}
	if st[1].Phase != "step-failed" || st[1].LastEvent != "step-failed luks: wrong passphrase" {
		t.Errorf("cn002 status (event by MAC) = %+v", st[1])
	}

	var evs []manifest.Event
	e.mustDo("GET", "/api/v1/events?node=cn001&limit=2", nil, 200, &evs)
	if len(evs) != 2 || evs[0].Phase != "ssh-hostkey" || evs[1].Phase != "trapped" {
		t.Errorf("last 2 events of cn001 = %+v", evs)
	}

	keys := e.mustDo("GET", "/api/v1/hostkeys?range=cn[001-004]", nil, 200, nil)
	want := "cn001,198.18.0.11 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIINWH6AJ49rJcWVbW2UEqp3hgnz9gl05UASfH2j75fvx\n"
	if keys != want {
		t.Errorf("hostkeys = %q, want %q", keys, want)
	}
}

func TestDiscoveredEvents(t *testing.T) {
	e := newEnv(t)
	ev := manifest.Event{Node: "mac-525400aabbcc", Phase: manifest.PhaseDiscovered, Data: map[string]string{"inventory": `{"cpus":2}`}}
	if code, body := e.do("POST", "/api/v1/events", ev); code != 404 {
		t.Fatalf("event from a never seen MAC = %d %s, want 404", code, body)
	}
	e.mustDo("GET", "/ipxe?mac=52:54:00:aa:bb:cc", nil, 200, nil)
	e.mustDo("POST", "/api/v1/events", ev, 204, nil)
	// By MAC only: the discovery name is filled in.
	e.mustDo("POST", "/api/v1/events", manifest.Event{MAC: "52:54:00:aa:bb:cc", Phase: manifest.PhaseTrapped}, 204, nil)
	var evs []manifest.Event
	e.mustDo("GET", "/api/v1/events?node=mac-525400aabbcc", nil, 200, &evs)
	var phases []string
	for _, ev := range evs {
		phases = append(phases, ev.Phase)
	}
	if got := strings.Join(phases, ","); got != "ipxe,discovered,trapped" {
		t.Errorf("discovered node events = %s, want ipxe,discovered,trapped", got)
	}
	d, ok, err := e.store.DiscoveredNode("52:54:00:aa:bb:cc")
	if err != nil || !ok || string(d.Inventory) != `{"cpus":2}` {
		t.Errorf("discovered inventory = %+v %v %v", d, ok, err)
	}
}

func TestBadInputs(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, method, path string
		body               any
		code               int
		msg                string // substring of the api.Error message
	}{
		{"events bad json", "POST", "/api/v1/events", "{", 400, "request body"},
		{"events empty array", "POST", "/api/v1/events", "[]", 400, "no events"},
		{"events no phase", "POST", "/api/v1/events", manifest.Event{Node: "cn001"}, 400, "field phase"},
		{"events no node", "POST", "/api/v1/events", manifest.Event{Phase: "x"}, 400, "node and mac"},
		{"events bad mac", "POST", "/api/v1/events", manifest.Event{MAC: "zz", Phase: "x"}, 400, "field mac"},
		{"events unknown node", "POST", "/api/v1/events", manifest.Event{Node: "cn999", Phase: "x"}, 404, "cn999"},
		{"events unknown mac", "POST", "/api/v1/events", manifest.Event{MAC: "52:54:00:99:99:99", Phase: "x"}, 404, "52:54:00:99:99:99"},
		{"events batch half bad", "POST", "/api/v1/events", []manifest.Event{{Node: "cn001", Phase: "x"}, {Node: "nope", Phase: "x"}}, 404, "event 1"},
		{"events no node param", "GET", "/api/v1/events", nil, 400, "node"},
		{"events bad limit", "GET", "/api/v1/events?node=cn001&limit=x", nil, 400, "limit"},
		{"events unknown node get", "GET", "/api/v1/events?node=zz9", nil, 404, "zz9"},
		{"ipxe no mac", "GET", "/ipxe", nil, 400, "mac"},
		{"ipxe bad mac", "GET", "/ipxe?mac=nope", nil, 400, "mac"},
		{"ipxe bad platform", "GET", "/ipxe?mac=52:54:00:00:00:01&platform=a%20b", nil, 400, "platform"},
		{"manifest unknown", "GET", "/manifest/zz9", nil, 404, "zz9"},
		{"manifest bad mac", "GET", "/manifest?mac=1", nil, 400, "mac"},
		{"nodes bad range", "GET", "/api/v1/nodes?range=cn[1-", nil, 400, "range"},
		{"nodes unknown range", "GET", "/api/v1/nodes?range=cn[001-009]", nil, 404, "cn[005-009]"},
		{"nodes bad blame", "GET", "/api/v1/nodes?blame=maybe", nil, 400, "blame"},
		{"node unknown", "GET", "/api/v1/nodes/zz9", nil, 404, "zz9"},
		{"mode bad json", "POST", "/api/v1/mode", "{", 400, "request body"},
		{"mode unknown field", "POST", "/api/v1/mode", `{"range":"cn001","mode":"trap","x":1}`, 400, "unknown field"},
		{"mode no range", "POST", "/api/v1/mode", api.ModeSet{Mode: "trap"}, 400, "field range"},
		{"mode bad mode", "POST", "/api/v1/mode", api.ModeSet{Range: "cn001", Mode: "warp"}, 400, "field mode"},
		{"status unknown", "GET", "/api/v1/status?range=zz1", nil, 404, "zz1"},
		{"hostkeys bad range", "GET", "/api/v1/hostkeys?range=[", nil, 400, "range"},
		{"no route", "GET", "/nothing", nil, 404, "no route"},
		{"wrong method", "PUT", "/api/v1/mode", "{}", 405, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			code, body := e.do(tc.method, tc.path, tc.body)
			if code != tc.code {
				t.Fatalf("%s %s = %d %s, want %d", tc.method, tc.path, code, body, tc.code)
			}
			if tc.msg != "" && !strings.Contains(body, `"error"`) || !strings.Contains(body, tc.msg) {
				t.Errorf("%s %s body = %s, want a JSON error containing %q", tc.method, tc.path, body, tc.msg)
			}
		})
	}
}
