package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func FuzzDiscoveryName(f *testing.F) {
	for _, s := range []string{"mac-525400aabbcc", "mac-525400AABBCC", "mac-", "cn001", "mac-zz5400aabbcc", "mac-525400aabbcc0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		mac, ok := parseDiscoveryName(name)
		if !ok {
			return
		}
		if got := discoveryName(mac); got != name {
			t.Fatalf("discoveryName(parseDiscoveryName(%q)) = %q", name, got)
		}
		if len(mac) != 6 {
			t.Fatalf("parseDiscoveryName(%q) = %v, not 6 bytes", name, mac)
		}
	})
}

// FuzzRequests throws arbitrary requests at the handler: it must never
// answer 5xx, and every error must be a JSON api.Error.
func FuzzRequests(f *testing.F) {
	seeds := []struct{ method, target, body string }{
		{"POST", "/api/v1/events", `{"node":"cn001","phase":"trapped"}`},
		{"POST", "/api/v1/events", `[{"mac":"52:54:00:00:00:02","phase":"x","data":{"address":"1.2.3.4"}}]`},
		{"POST", "/api/v1/mode", `{"range":"cn[001-002]","mode":"local","once":true}`},
		{"PATCH", "/api/v1/nodes/cn001", `{"fields":{"mode":"iscsi"}}`},
		{"POST", "/api/v1/nodes", `{"name":"x[1-2]","fields":{"groups":["compute"]}}`},
		{"DELETE", "/api/v1/nodes/login1", ``},
		{"GET", "/ipxe?mac=52:54:00:00:00:01&platform=efi", ``},
		{"GET", "/manifest?mac=52:54:00:aa:bb:cc", ``},
		{"GET", "/api/v1/status?range=cn[001-", ``},
		{"GET", "/boot/../../etc/passwd", ``},
		{"PUT", "/api/v1/images/os?format=squashfs&sha256=" + sha256Hex("hsqs-fuzz"), "hsqs-fuzz"},
		{"PUT", "/api/v1/images/os?format=squashfs&sha256=" + sha256Hex("hsqs-other") + "&replace=1", "hsqs-fuzz"},
		{"GET", "/images/os", ``},
		{"GET", "/api/v1/images", ``},
		{"DELETE", "/api/v1/images/os?force=1", ``},
	}
	for _, s := range seeds {
		f.Add(s.method, s.target, s.body)
	}
	// One environment per fuzzing process: state accumulates across inputs,
	// which is what a long-running server sees too.
	env := newEnv(f).api
	f.Fuzz(func(t *testing.T, method, target, body string) {
		switch method {
		case "GET", "POST", "PATCH", "DELETE", "PUT":
		default:
			return
		}
		if !strings.HasPrefix(target, "/") || strings.ContainsAny(target, " \r\n\t#") {
			return
		}
		req, err := http.NewRequest(method, "http://x"+target, strings.NewReader(body))
		if err != nil {
			return
		}
		rec := httptest.NewRecorder()
		env.ServeHTTP(rec, asRoot(req)) // past the admin check, into the handlers
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q = %d %s", method, target, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 {
			var e struct{ Error string }
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" {
				t.Fatalf("%s %s = %d with body %q, want a JSON api.Error", method, target, rec.Code, rec.Body)
			}
		}
	})
}

// FuzzRegister throws arbitrary registrations and signature headers at
// POST /api/v1/boot/register (node authentication on, from cn001's
// address and a privileged port): never a 5xx, never a registration
// without a valid signature.
func FuzzRegister(f *testing.F) {
	f.Add(`{"node":"cn001","mac":"52:54:00:00:00:01","key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}`, "cn001", "register", "1", "AAAA")
	f.Add(`{"mac":"52:54:00:00:00:01","key":""}`, "", "", "", "")
	f.Add(`[]`, "cn001\n", "x", "18446744073709551615", "!!")
	_, a, _ := nodeAuthEnv(f)
	f.Fuzz(func(t *testing.T, body, node, boot, seq, sig string) {
		r := httptest.NewRequest("POST", "/api/v1/boot/register", strings.NewReader(body))
		r.RemoteAddr = "198.18.0.11:700"
		r.Header.Set("Dt-Node", node)
		r.Header.Set("Dt-Boot", boot)
		r.Header.Set("Dt-Seq", seq)
		r.Header.Set("Dt-Signature", sig)
		code, got := serve(a, r)
		if code >= 500 || code == 200 {
			t.Fatalf("register %q = %d %s", body, code, got)
		}
	})
}
