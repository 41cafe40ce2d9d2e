package api

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/manifest"
)

// TestTLSCertAndSecretServer: the certificate goes to loopback only, and
// only iscsi nodes' manifests name the TLS secret server, only when TLS
// and pulls are on.
func TestTLSCertAndSecretServer(t *testing.T) {
	e := newEnv(t)
	const pemText = "-----BEGIN CERTIFICATE-----\nTEST\n-----END CERTIFICATE-----\n"
	newAPI := func(port int, pull bool) *API {
		return New(Config{
			Cluster: e.cluster, InventoryPath: e.invPath, Store: e.store, DataDir: filepath.Join(e.dir, "data"),
			BaseURL: func(*http.Request) string { return testBase }, Now: func() time.Time { return testNow },
			SecretsPull: pull, TLSPort: port, TLSCert: []byte(pemText),
		})
	}
	e.mustDo("PATCH", "/api/v1/nodes/cn001", map[string]any{"fields": map[string]any{
		"mode": "iscsi", "iscsi_portals": []string{"198.18.0.1"}, "iscsi_target": "iqn.2026-11.lab:root", "luks_key": "luks",
	}}, 200, nil)
	get := func(a *API, path, from string) (int, string) {
		t.Helper()
		r := httptest.NewRequest("GET", path, nil)
		r.RemoteAddr = net.JoinHostPort(from, "40000")
		if from == "unix" { // root on the admin socket
			r = asRoot(r)
		}
		w := httptest.NewRecorder()
		a.ServeHTTP(w, r)
		return w.Code, w.Body.String()
	}

	certCases := []struct {
		name string
		api  *API
		from string
		code int
		want string
	}{
		{"admin socket", newAPI(8443, true), "unix", 200, pemText},
		{"loopback, no credential", newAPI(8443, true), "127.0.0.1", 401, "needs an admin credential"},
		{"loopback v6, no credential", newAPI(8443, false), "::1", 401, "needs an admin credential"},
		{"from a node", newAPI(8443, true), "198.18.0.11", 401, "needs an admin credential"},
		{"tls off", newAPI(0, true), "unix", 404, "--tls-listen is off"},
	}
	for _, c := range certCases {
		t.Run("cert "+c.name, func(t *testing.T) {
			code, body := get(c.api, "/api/v1/tls/cert", c.from)
			if code != c.code || !strings.Contains(body, c.want) {
				t.Errorf("GET /api/v1/tls/cert from %s = %d %q, want %d containing %q", c.from, code, body, c.code, c.want)
			}
		})
	}

	manCases := []struct {
		name string
		api  *API
		node string
		want string
	}{
		{"iscsi node", newAPI(8443, true), "cn001", "https://198.18.0.1:8443"},
		{"other port", newAPI(9443, true), "cn001", "https://198.18.0.1:9443"},
		{"pull off", newAPI(8443, false), "cn001", ""},
		{"tls off", newAPI(0, true), "cn001", ""},
		{"not iscsi", newAPI(8443, true), "cn002", ""},
	}
	for _, c := range manCases {
		t.Run("manifest "+c.name, func(t *testing.T) {
			code, body := get(c.api, "/manifest/"+c.node, "198.18.0.11")
			if code != 200 {
				t.Fatalf("GET /manifest/%s = %d %s", c.node, code, body)
			}
			var m manifest.Manifest
			if err := json.Unmarshal([]byte(body), &m); err != nil {
				t.Fatal(err)
			}
			if m.SecretServer != c.want {
				t.Errorf("manifest %s: secret_server = %q, want %q", c.node, m.SecretServer, c.want)
			}
		})
	}
}
