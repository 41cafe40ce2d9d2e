package api

import (
	"bytes"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/bootsrv/secrets"
)

// TestSecrets drives the secret endpoints with chosen source addresses:
// admin calls from loopback only; a node's pull only from its reserved
// address, only in mode iscsi, once per boot; no value in any log line.
func TestSecrets(t *testing.T) {
	e := newEnv(t)
	st, err := secrets.Open(filepath.Join(e.dir, "state", "secrets"))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	newAPI := func(pull bool) *API {
		return New(Config{
			Cluster: e.cluster, InventoryPath: e.invPath, Store: e.store, DataDir: filepath.Join(e.dir, "data"),
			BaseURL: func(*http.Request) string { return testBase }, Now: func() time.Time { return testNow },
			Logger:  slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			Secrets: st, SecretsPull: pull, TLSPort: 8443,
		})
	}
	a := newAPI(true)
	noTLS := newAPI(true)
	noTLS.cfg.TLSPort = 0
	const luks, chap = "luks-VALUE-7f3a", "chap-VALUE-91b2"
	e.mustDo("PATCH", "/api/v1/nodes/cn001", map[string]any{"fields": map[string]any{
		"mode": "iscsi", "iscsi_portals": []string{"198.18.0.1"}, "iscsi_target": "iqn.2026-11.lab:root",
		"luks_key": "luks", "chap_user": "node", "chap_secret": "iscsi-chap",
	}}, 200, nil)
	e.mustDo("PATCH", "/api/v1/nodes/cn002", map[string]any{"fields": map[string]any{"luks_key": "luks"}}, 200, nil)
	cn1 := newTestNode(t, a, "cn001", "52:54:00:00:00:01", "198.18.0.11").boot()
	cn2 := newTestNode(t, a, "cn002", "52:54:00:00:00:02", "198.18.0.12").boot()
	unsigned := newTestNode(t, a, "cn001", "52:54:00:00:00:01", "198.18.0.11") // never registered
	// from returns cn1's signed request sent from another address.
	from := func(addr string) *testNode {
		n := *cn1
		n.addr = addr
		return &n
	}
	admin := func(addr string) *testNode { return &testNode{t: t, a: a, addr: addr} }
	root := func() *testNode { return &testNode{t: t, a: a, root: true} }
	nextBoot := func() *testNode { // the node reboots: iPXE, a new key
		cn1.newKey()
		cn1.boot()
		return cn1
	}

	steps := []struct {
		name, method, path, body string
		by                       func() *testNode
		plain                    bool // plain HTTP, not TLS
		api                      *API
		code                     int
		want                     string // in the answer
	}{
		{"set from a node", "PUT", "/api/v1/secrets/luks?range=cn001", luks, func() *testNode { return admin("198.18.0.11") }, false, a, 401, "needs an admin credential"},
		{"set from loopback, no credential", "PUT", "/api/v1/secrets/luks?range=cn001", luks, func() *testNode { return admin("127.0.0.1") }, true, a, 401, "admin socket"},
		{"set luks", "PUT", "/api/v1/secrets/luks?range=cn[001-002]", luks, root, true, a, 200, `"count": 2`},
		{"set chap all", "PUT", "/api/v1/secrets/iscsi-chap", chap, root, true, a, 200, `"count": 1`},
		{"set bad name", "PUT", "/api/v1/secrets/a..b%2Fc", luks, root, true, a, 400, "secret name"},
		{"show from a node", "GET", "/api/v1/secrets/luks?node=cn001", "", func() *testNode { return admin("198.18.0.11") }, false, a, 401, "needs an admin credential"},
		{"show from loopback, no credential", "GET", "/api/v1/secrets/luks?node=cn001", "", func() *testNode { return admin("::1") }, true, a, 401, "needs an admin credential"},
		{"show", "GET", "/api/v1/secrets/luks?node=cn001", "", root, true, a, 200, luks},
		{"plain http", "GET", "/api/v1/secrets/cn001/luks", "", func() *testNode { return cn1 }, true, a, 403, "secret pull needs TLS: use https://example.com:8443/api/v1/secrets/cn001/luks"},
		{"plain http, no TLS listener", "GET", "/api/v1/secrets/cn001/luks", "", func() *testNode { return cn1 }, true, noTLS, 403, "bootsrv serves none (--tls-listen)"},
		{"pull off", "GET", "/api/v1/secrets/cn001/luks", "", func() *testNode { return cn1 }, false, newAPI(false), 403, "pulling secrets is off"},
		{"no boot key", "GET", "/api/v1/secrets/cn001/luks", "", func() *testNode { return unsigned }, false, a, 401, "not signed"},
		{"wrong source", "GET", "/api/v1/secrets/cn001/luks", "", func() *testNode { return from("198.18.0.12") }, false, a, 403, "not from the node's address"},
		{"loopback is not the node", "GET", "/api/v1/secrets/cn001/luks", "", func() *testNode { return from("127.0.0.1") }, false, a, 403, "not from the node's address"},
		{"another node's secret", "GET", "/api/v1/secrets/cn002/luks", "", func() *testNode { return cn1 }, false, a, 403, "node cn001 may not act for node cn002"},
		{"mode not iscsi", "GET", "/api/v1/secrets/cn002/luks", "", func() *testNode { return cn2 }, false, a, 403, "mode is ramroot"},
		{"unreferenced", "GET", "/api/v1/secrets/cn001/other", "", func() *testNode { return cn1 }, false, a, 404, "not referenced by the node's iscsi configuration, or not stored"},
		{"unknown node", "GET", "/api/v1/secrets/cn999/luks", "", func() *testNode { return cn1 }, false, a, 403, "may not act for node cn999"},
		{"pull luks", "GET", "/api/v1/secrets/cn001/luks", "", func() *testNode { return cn1 }, false, a, 200, luks},
		{"pull chap (all nodes)", "GET", "/api/v1/secrets/cn001/iscsi-chap", "", func() *testNode { return cn1 }, false, a, 200, chap},
		{"second pull", "GET", "/api/v1/secrets/cn001/luks", "", func() *testNode { return cn1 }, false, a, 403, "already released to boot"},
		{"second pull, other API (restart)", "GET", "/api/v1/secrets/cn001/luks", "", func() *testNode { return cn1 }, false, newAPI(true), 403, "already released to boot"},
		{"boot-count reset", "GET", "/ipxe?mac=52:54:00:00:00:01&platform=pcbios", "", func() *testNode { return admin("198.18.0.99") }, false, a, 200, ""},
		{"pull after a reset, old key", "GET", "/api/v1/secrets/cn001/luks", "", func() *testNode { return cn1 }, false, a, 403, "already released to boot"},
		{"pull in the next boot", "GET", "/api/v1/secrets/cn001/luks", "", nextBoot, false, a, 200, luks},
		{"second pull again", "GET", "/api/v1/secrets/cn001/luks", "", func() *testNode { return cn1 }, false, a, 403, "already released"},
	}
	for _, s := range steps {
		n := s.by()
		n.a = s.api
		code, body := serve(s.api, n.req(s.method, s.path, s.body, !s.plain))
		if code != s.code || !strings.Contains(body, s.want) {
			t.Errorf("%s: %s %s from %s = %d %q, want %d containing %q", s.name, s.method, s.path, n.addr, code, body, s.code, s.want)
		}
		if code != 200 && (strings.Contains(body, "VALUE")) {
			t.Errorf("%s: refusal reveals a secret: %q", s.name, body)
		}
	}
	// Unknown and known-but-unreferenced names get the same answer.
	_, unknown := serve(a, cn1.req("GET", "/api/v1/secrets/cn001/nosuch", "", true))
	_, unref := serve(a, cn1.req("GET", "/api/v1/secrets/cn001/other", "", true))
	if strings.ReplaceAll(unknown, "nosuch", "X") != strings.ReplaceAll(unref, "other", "X") {
		t.Errorf("unknown name answers %q, unreferenced name %q: they differ", unknown, unref)
	}
	evs, err := e.store.Events("cn001", 0)
	if err != nil {
		t.Fatal(err)
	}
	var phases []string
	for _, ev := range evs {
		if strings.HasPrefix(ev.Phase, "secret-") {
			phases = append(phases, ev.Phase+" "+ev.Data["name"])
		}
	}
	want := "secret-released luks,secret-released iscsi-chap,secret-refused luks,secret-refused luks,secret-refused luks,secret-released luks,secret-refused luks"
	if got := strings.Join(phases, ","); got != want {
		t.Errorf("secret events of cn001:\n got %s\nwant %s", got, want)
	}
	if strings.Contains(logs.String(), "VALUE") {
		t.Errorf("a secret value is in the log:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "secret released") || !strings.Contains(logs.String(), "already released") {
		t.Errorf("log lacks the release audit lines:\n%s", logs.String())
	}
}
