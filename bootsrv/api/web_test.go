package api

import (
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/bootsrv/admintoken"
	"github.com/disklesstrap/disklesstrap/bootsrv/state"
	"github.com/disklesstrap/disklesstrap/manifest"
)

// webToken adds an admin token to a's store and returns its text.
func webToken(t *testing.T, a *API, name string) string {
	text, id, hash, err := admintoken.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := a.cfg.Store.AddToken(state.Token{ID: id, Name: name, Hash: hash, Created: testNow}); err != nil {
		t.Fatal(err)
	}
	return text
}

func overTLS(r *http.Request) *http.Request {
	r.TLS = &tls.ConnectionState{Version: tls.VersionTLS13, HandshakeComplete: true}
	return r
}

func loginReq(token string) *http.Request {
	r := httptest.NewRequest("POST", "/ui/login", strings.NewReader(url.Values{"token": {token}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// TestWebAuth: no credential, no page (a login form only); a login needs
// TLS and a valid token, sets a Secure HttpOnly SameSite=Strict cookie that
// gives the page and its JSON, and stops working when the token is revoked.
func TestWebAuth(t *testing.T) {
	_, a, _ := nodeAuthEnv(t)
	if err := a.cfg.Store.AddEvents([]manifest.Event{{Node: "cn002", Phase: manifest.PhaseTrapped}, {Node: "cn003", Phase: manifest.PhaseStepFailed, Message: "image fetch: 404"}}); err != nil {
		t.Fatal(err)
	}
	code, body := serve(a, overTLS(httptest.NewRequest("GET", "/ui", nil)))
	if code != 401 || !strings.Contains(body, `action="/ui/login"`) || strings.Contains(body, "cn001") {
		t.Fatalf("GET /ui without a credential = %d\n%s", code, body)
	}
	if code, body := serve(a, overTLS(httptest.NewRequest("GET", "/ui/state", nil))); code != 401 || !strings.Contains(body, "needs an admin session") {
		t.Errorf("GET /ui/state without a credential = %d %s", code, body)
	}
	tok := webToken(t, a, "web")
	if code, body := serve(a, loginReq(tok)); code != 403 || !strings.Contains(body, "over TLS only") {
		t.Errorf("login over plain HTTP = %d %s", code, body)
	}
	if code, body := serve(a, overTLS(loginReq("dtk_nope_nope"))); code != 401 || !strings.Contains(body, "Login refused") {
		t.Errorf("login with a bad token = %d %s", code, body)
	}
	w := httptest.NewRecorder()
	a.ServeHTTP(w, overTLS(loginReq(tok)))
	ck := w.Result().Cookies()
	if w.Code != 303 || len(ck) != 1 || !ck[0].Secure || !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteStrictMode || ck[0].Path != "/ui" {
		t.Fatalf("login = %d, cookies %+v", w.Code, ck)
	}
	withCookie := func(path string) *http.Request {
		r := overTLS(httptest.NewRequest("GET", path, nil))
		r.AddCookie(ck[0])
		return r
	}
	code, body = serve(a, withCookie("/ui"))
	for _, want := range []string{`id="cn001" data-p="" data-m="ramroot"`, `id="cn002" data-p="trapped"`, `class="c6" id="cn003" data-p="step-failed"`, "image fetch: 404", "token:web (web session)"} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("GET /ui with the session = %d, lacks %q", code, want)
		}
	}
	code, body = serve(a, withCookie("/ui/state?since=0"))
	var st struct {
		Nodes  []webNode `json:"nodes"`
		Counts []int     `json:"counts"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &st) != nil || len(st.Nodes) < 4 || st.Counts[6] != 1 {
		t.Errorf("GET /ui/state = %d %s", code, body)
	}
	if code, body := serve(a, withCookie("/ui/events?node=cn003")); code != 200 || !strings.Contains(body, "image fetch: 404") {
		t.Errorf("GET /ui/events = %d %s", code, body)
	}
	if code, _ := serve(a, httptest.NewRequest("GET", "/ui/state?since=x", nil)); code != 401 {
		t.Errorf("plain HTTP with no cookie = %d, want 401", code)
	}
	if _, err := a.cfg.Store.RevokeToken("web", "test", testNow); err != nil {
		t.Fatal(err)
	}
	if code, _ := serve(a, withCookie("/ui")); code != 401 {
		t.Errorf("GET /ui after the token was revoked = %d, want 401", code)
	}
	rec, _ := a.cfg.Store.Audit(0)
	var audit []string
	for _, r := range rec {
		audit = append(audit, r.Who+" "+r.Summary)
	}
	if all := strings.Join(audit, "\n"); !strings.Contains(all, "token:web web login") || !strings.Contains(all, "web login refused") {
		t.Errorf("audit lacks the logins:\n%s", all)
	}
	// The admin socket's root gets the page without a session.
	if code, body := serve(a, adminReq("GET", "/ui", "")); code != 200 || !strings.Contains(body, `id="cn001"`) {
		t.Errorf("GET /ui as root on the admin socket = %d", code)
	}
}
