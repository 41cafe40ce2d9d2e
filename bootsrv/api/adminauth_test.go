package api

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/api"
)

// authEnv is an API with a TLS port and a clock the test moves.
type authEnv struct {
	*testEnv
	a    *API
	now  time.Time
	logs bytes.Buffer
}

func newAuthEnv(t testing.TB) *authEnv {
	e := &authEnv{testEnv: newEnv(t), now: testNow}
	cfg := e.api.cfg
	cfg.TLSPort, cfg.TLSCert = 8443, []byte("CERT")
	cfg.Now = func() time.Time { return e.now }
	cfg.Logger = slog.New(slog.NewTextHandler(&e.logs, nil))
	e.a = New(cfg)
	return e
}

// call sends a request as root on the admin socket (how "unix"), with a
// bearer token over TLS (how "tls") or over plain HTTP (how "http").
func (e *authEnv) call(how, token, method, path, body string) (int, string, http.Header) {
	e.t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.RemoteAddr = "198.18.0.200:40000"
	switch how {
	case "unix":
		r = asRoot(r)
		r.RemoteAddr = "@"
	case "nobody":
		r = r.WithContext(WithLocalPeer(r.Context(), LocalPeer{UID: 65534, PID: 2}))
		r.RemoteAddr = "@"
	case "tls":
		r.TLS = &tls.ConnectionState{Version: tls.VersionTLS13, HandshakeComplete: true}
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	e.a.ServeHTTP(w, r)
	return w.Code, w.Body.String(), w.Header()
}

func (e *authEnv) token(name, expires string) string {
	e.t.Helper()
	body := `{"name":"` + name + `"` + map[bool]string{true: `,"expires":"` + expires + `"`}[expires != ""] + `}`
	code, out, _ := e.call("unix", "", "POST", "/api/v1/admin/tokens", body)
	if code != 201 {
		e.t.Fatalf("create token %s: %d %s", name, code, out)
	}
	var c api.TokenCreated
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		e.t.Fatal(err)
	}
	if c.CertPEM != "CERT" || len(c.Servers) == 0 || !strings.HasPrefix(c.Servers[0], "https://198.18.0.1:8443") {
		e.t.Errorf("token %s: cert %q servers %v", name, c.CertPEM, c.Servers)
	}
	return c.Text
}

func TestAdminAuth(t *testing.T) {
	e := newAuthEnv(t)
	ops := e.token("ops", "")
	short := e.token("short", "1h")
	revoked := e.token("gone", "")
	if code, out, _ := e.call("unix", "", "DELETE", "/api/v1/admin/tokens/gone", ""); code != 200 {
		t.Fatalf("revoke: %d %s", code, out)
	}
	e.now = testNow.Add(2 * time.Hour)
	foreign := "dtk_0123456789abcdef_" + ops[len(ops)-43:]
	wrongSecret := ops[:len(ops)-43] + short[len(short)-43:]

	for _, c := range []struct {
		name, how, token string
		code             int
		want             string
	}{
		{"root on the socket", "unix", "", 200, `"who": "local:root(uid 0)"`},
		{"another local user", "nobody", "", 403, "uid 65534 is not a bootsrv admin"},
		{"no credential", "http", "", 401, "needs an admin credential: on the bootsrv host, as root, use the admin socket"},
		{"no credential over TLS", "tls", "", 401, "trapctl admin token create NAME"},
		{"token over TLS", "tls", ops, 200, `"who": "token:ops"`},
		{"token over plain HTTP", "http", ops, 401, "accepted over TLS only"},
		{"revoked", "tls", revoked, 401, "token gone revoked at 2026-11-22T12:00:00Z by local:root(uid 0)"},
		{"expired", "tls", short, 401, "token short expired at 2026-11-22T13:00:00Z"},
		{"foreign", "tls", foreign, 401, "unknown token"},
		{"wrong secret", "tls", wrongSecret, 401, "unknown token"},
		{"malformed", "tls", "abc", 401, "unknown token (malformed token"},
		{"not bearer", "tls", "", 401, "want \\\"Bearer dtk_...\\\""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var code int
			var out string
			var hdr http.Header
			if c.name == "not bearer" {
				req := httptest.NewRequest("GET", "/api/v1/admin/whoami", nil)
				req.TLS = &tls.ConnectionState{Version: tls.VersionTLS13}
				req.Header.Set("Authorization", "Basic YTpi")
				w := httptest.NewRecorder()
				e.a.ServeHTTP(w, req)
				code, out, hdr = w.Code, w.Body.String(), w.Header()
			} else {
				code, out, hdr = e.call(c.how, c.token, "GET", "/api/v1/admin/whoami", "")
			}
			if code != c.code || !strings.Contains(out, c.want) {
				t.Errorf("= %d %s, want %d containing %q", code, out, c.code, c.want)
			}
			if code == 401 && hdr.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if code != 200 && strings.Contains(out, ops[4:]) {
				t.Error("answer repeats the token")
			}
		})
	}
	if !strings.Contains(e.logs.String(), `msg="admin token sent over plain HTTP and refused: it may be exposed, revoke it" token=ops`) {
		t.Errorf("no warning for the token over plain HTTP:\n%s", e.logs.String())
	}
	if strings.Contains(e.logs.String(), ops[len(ops)-43:]) {
		t.Error("a log line holds a token's secret")
	}

	// Listing never shows a secret; names are not reused.
	code, out, _ := e.call("tls", ops, "GET", "/api/v1/admin/tokens", "")
	if code != 200 || strings.Contains(out, "dtk_") || !strings.Contains(out, `"revoked_by": "local:root(uid 0)"`) {
		t.Errorf("token list: %d %s", code, out)
	}
	if code, out, _ := e.call("unix", "", "POST", "/api/v1/admin/tokens", `{"name":"gone"}`); code != 409 || !strings.Contains(out, "never reused") {
		t.Errorf("reuse a revoked name: %d %s", code, out)
	}
	if code, out, _ := e.call("unix", "", "POST", "/api/v1/admin/tokens", `{"name":"x","expires":"-1h"}`); code != 400 || !strings.Contains(out, "expires") {
		t.Errorf("negative expiry: %d %s", code, out)
	}
	if code, out, _ := e.call("unix", "", "DELETE", "/api/v1/admin/tokens/nope", ""); code != 404 || !strings.Contains(out, `no token named \"nope\"`) {
		t.Errorf("revoke unknown: %d %s", code, out)
	}
}

// TestAdminRoutesRefuse: every admin route refuses a caller without a
// credential, and a local user who is not root; nothing changes.
func TestAdminRoutesRefuse(t *testing.T) {
	e := newAuthEnv(t)
	routes := [][2]string{
		{"GET", "/api/v1/events?node=cn001"}, {"GET", "/api/v1/nodes"}, {"GET", "/api/v1/nodes/cn001"},
		{"POST", "/api/v1/nodes"}, {"PATCH", "/api/v1/nodes/cn001"}, {"DELETE", "/api/v1/nodes/cn001"},
		{"POST", "/api/v1/mode"}, {"GET", "/api/v1/status"}, {"GET", "/api/v1/hostkeys"},
		{"PUT", "/api/v1/images/x"}, {"GET", "/api/v1/images"}, {"GET", "/api/v1/images/x"},
		{"DELETE", "/api/v1/images/x"}, {"GET", "/api/v1/images/x/swarm"},
		{"PUT", "/api/v1/secrets/luks"}, {"GET", "/api/v1/secrets/luks"}, {"GET", "/api/v1/tls/cert"},
		{"GET", "/api/v1/admin/whoami"}, {"POST", "/api/v1/admin/tokens"}, {"GET", "/api/v1/admin/tokens"},
		{"DELETE", "/api/v1/admin/tokens/x"}, {"GET", "/api/v1/audit"},
	}
	body := `{"range":"cn001","mode":"local","name":"cn001","fields":{"mode":"local"}}`
	for _, how := range []string{"http", "tls", "nobody"} {
		for _, rt := range routes {
			code, out, _ := e.call(how, "", rt[0], rt[1], body)
			want := 401
			if how == "nobody" {
				want = 403
			}
			if code != want || !strings.Contains(out, `"error"`) {
				t.Errorf("%s %s %s = %d %s, want %d", how, rt[0], rt[1], code, out, want)
			}
		}
	}
	if ov, err := e.store.Modes(); err != nil || len(ov) != 0 {
		t.Errorf("mode overrides after refused calls: %v %v", ov, err)
	}
	if recs, _ := e.store.Audit(0); len(recs) != 0 {
		t.Errorf("refused calls made audit records: %v", recs)
	}
}

func TestAudit(t *testing.T) {
	e := newAuthEnv(t)
	ops := e.token("ops", "")
	e.call("tls", ops, "POST", "/api/v1/mode", `{"range":"cn[001-002]","mode":"local","once":true}`)
	e.call("unix", "", "POST", "/api/v1/mode", `{"range":"cn001","mode":"nonsense"}`)
	e.call("unix", "", "PATCH", "/api/v1/nodes/cn002", `{"fields":{"image":"rocky"}}`)
	e.call("unix", "", "GET", "/api/v1/status", "")
	code, out, _ := e.call("unix", "", "GET", "/api/v1/audit?limit=0", "")
	if code != 200 {
		t.Fatalf("audit: %d %s", code, out)
	}
	var recs []api.AuditRecord
	if err := json.Unmarshal([]byte(out), &recs); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, strings.Join([]string{r.Who, r.From, r.Method, r.Path, r.Summary, http.StatusText(r.Status)}, " | "))
	}
	want := []string{
		"local:root(uid 0) | unix | POST | /api/v1/admin/tokens | create token ops (expires never) | Created",
		"token:ops | 198.18.0.200:40000 | POST | /api/v1/mode | mode local (next boot only) on cn[001-002] | OK",
		"local:root(uid 0) | unix | POST | /api/v1/mode | mode nonsense on cn001 | Bad Request",
		"local:root(uid 0) | unix | PATCH | /api/v1/nodes/cn002 | set nodes cn002 image=rocky | OK",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if code, out, _ := e.call("unix", "", "GET", "/api/v1/audit?limit=x", ""); code != 400 || !strings.Contains(out, "limit") {
		t.Errorf("bad limit: %d %s", code, out)
	}
}

// BenchmarkAdminAuth: what the admin check adds to a request (GET
// /api/v1/admin/whoami, the cheapest admin route): root on the admin
// socket (a context value), a token over TLS (parse, SQLite read,
// SHA-256, constant-time compare), and a refused caller.
func BenchmarkAdminAuth(b *testing.B) {
	e := &authEnv{testEnv: newEnv(b), now: testNow}
	cfg := e.api.cfg
	cfg.TLSPort, cfg.TLSCert = 8443, []byte("CERT")
	e.a = New(cfg)
	tok := e.token("bench", "")
	for _, c := range []struct{ name, how, token string }{
		{"socket", "unix", ""}, {"token", "tls", tok}, {"refused", "http", ""},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				e.call(c.how, c.token, "GET", "/api/v1/admin/whoami", "")
			}
		})
	}
}
