package api

import (
	"bytes"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
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
	do := func(a *API, method, path, from, body string, plain bool) (int, string) {
		t.Helper()
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.RemoteAddr = net.JoinHostPort(from, "40000")
		if from == "unix" { // root on the admin socket
			r = asRoot(r)
			r.RemoteAddr = "@"
		}
		if !plain {
			r.TLS = &tls.ConnectionState{Version: tls.VersionTLS13, HandshakeComplete: true}
		}
		w := httptest.NewRecorder()
		a.ServeHTTP(w, r)
		return w.Code, w.Body.String()
	}
	const luks, chap = "luks-VALUE-7f3a", "chap-VALUE-91b2"
	e.mustDo("PATCH", "/api/v1/nodes/cn001", map[string]any{"fields": map[string]any{
		"mode": "iscsi", "iscsi_portals": []string{"198.18.0.1"}, "iscsi_target": "iqn.2026-11.lab:root",
		"luks_key": "luks", "chap_user": "node", "chap_secret": "iscsi-chap",
	}}, 200, nil)
	e.mustDo("PATCH", "/api/v1/nodes/cn002", map[string]any{"fields": map[string]any{"luks_key": "luks"}}, 200, nil)

	steps := []struct {
		name, method, path, from, body string
		plain                          bool // plain HTTP, not TLS
		api                            *API
		code                           int
		want                           string // in the answer
	}{
		{"set from a node", "PUT", "/api/v1/secrets/luks?range=cn001", "198.18.0.11", luks, false, a, 401, "needs an admin credential"},
		{"set from loopback, no credential", "PUT", "/api/v1/secrets/luks?range=cn001", "127.0.0.1", luks, true, a, 401, "admin socket"},
		{"set luks", "PUT", "/api/v1/secrets/luks?range=cn[001-002]", "unix", luks, true, a, 200, `"count": 2`},
		{"set chap all", "PUT", "/api/v1/secrets/iscsi-chap", "unix", chap, true, a, 200, `"count": 1`},
		{"set bad name", "PUT", "/api/v1/secrets/a..b%2Fc", "unix", luks, true, a, 400, "secret name"},
		{"show from a node", "GET", "/api/v1/secrets/luks?node=cn001", "198.18.0.11", "", false, a, 401, "needs an admin credential"},
		{"show from loopback, no credential", "GET", "/api/v1/secrets/luks?node=cn001", "::1", "", true, a, 401, "needs an admin credential"},
		{"show", "GET", "/api/v1/secrets/luks?node=cn001", "unix", "", true, a, 200, luks},
		{"plain http", "GET", "/api/v1/secrets/cn001/luks", "198.18.0.11", "", true, a, 403, "secret pull needs TLS: use https://example.com:8443/api/v1/secrets/cn001/luks"},
		{"plain http, no TLS listener", "GET", "/api/v1/secrets/cn001/luks", "198.18.0.11", "", true, noTLS, 403, "bootsrv serves none (--tls-listen)"},
		{"pull off", "GET", "/api/v1/secrets/cn001/luks", "198.18.0.11", "", false, newAPI(false), 403, "pulling secrets is off"},
		{"wrong source", "GET", "/api/v1/secrets/cn001/luks", "198.18.0.12", "", false, a, 403, "not from the node's reserved address"},
		{"loopback is not the node", "GET", "/api/v1/secrets/cn001/luks", "127.0.0.1", "", false, a, 403, "not from the node's reserved address"},
		{"mode not iscsi", "GET", "/api/v1/secrets/cn002/luks", "198.18.0.12", "", false, a, 403, "mode is ramroot"},
		{"unreferenced", "GET", "/api/v1/secrets/cn001/other", "198.18.0.11", "", false, a, 404, "not referenced"},
		{"unknown node", "GET", "/api/v1/secrets/cn999/luks", "198.18.0.11", "", false, a, 404, "not in the inventory"},
		{"pull luks", "GET", "/api/v1/secrets/cn001/luks", "198.18.0.11", "", false, a, 200, luks},
		{"pull chap (all nodes)", "GET", "/api/v1/secrets/cn001/iscsi-chap", "198.18.0.11", "", false, a, 200, chap},
		{"second pull", "GET", "/api/v1/secrets/cn001/luks", "198.18.0.11", "", false, a, 403, "already released in this boot"},
		{"next boot", "GET", "/ipxe?mac=52:54:00:00:00:01&platform=pcbios", "198.18.0.11", "", false, a, 200, ""},
		{"pull in the next boot", "GET", "/api/v1/secrets/cn001/luks", "198.18.0.11", "", false, a, 200, luks},
		{"second pull again", "GET", "/api/v1/secrets/cn001/luks", "198.18.0.11", "", false, a, 403, "already released"},
	}
	for _, s := range steps {
		code, body := do(s.api, s.method, s.path, s.from, s.body, s.plain)
		if code != s.code || !strings.Contains(body, s.want) {
			t.Errorf("%s: %s %s from %s = %d %q, want %d containing %q", s.name, s.method, s.path, s.from, code, body, s.code, s.want)
		}
		if code != 200 && (strings.Contains(body, "VALUE")) {
			t.Errorf("%s: refusal reveals a secret: %q", s.name, body)
		}
	}
	if strings.Contains(logs.String(), "VALUE") {
		t.Errorf("a secret value is in the log:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "secret released") || !strings.Contains(logs.String(), "already released") {
		t.Errorf("log lacks the release audit lines:\n%s", logs.String())
	}
}
