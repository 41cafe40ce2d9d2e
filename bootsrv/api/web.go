package api

// The cluster at a glance (docs/web.md): a read-only page served by
// bootsrv, behind the admin credential.
//
//	GET  /ui                 the page (html/template, one small inline script, no external assets)
//	GET  /ui/state?since=T   JSON: nodes whose status changed since T (unix ms), errors, swarms
//	GET  /ui/events?node=N   JSON: the node's last events (shown on click)
//	POST /ui/login           form field token=dtk_...: over TLS only; sets the session cookie
//	POST /ui/logout          ends the session
//
// A browser cannot speak to the admin socket nor add an Authorization
// header to a page load, so it logs in once with an admin token over TLS:
// bootsrv checks the token as the admin API does and answers with a
// session cookie (random 256-bit id, only its SHA-256 kept in memory;
// Secure, HttpOnly, SameSite=Strict, Path=/ui, at most 8 h and never past
// the token's expiry). Every request with the cookie checks the token
// again, so revoking the token ends its sessions. Without a credential the
// page is a login form and nothing else; the JSON routes answer 401.
// Callers with an admin credential (the admin socket, a bearer token over
// TLS) get the page without a session. Logins are audited.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/disklesstrap/disklesstrap/bootsrv/admintoken"
	"github.com/disklesstrap/disklesstrap/bootsrv/state"
)

const (
	webCookie     = "dt_ui"
	webSessionTTL = 8 * time.Hour
	maxWebLogin   = 4 << 10
)

type webSession struct {
	tokenID string
	who     string
	expires time.Time
}

// webSessions are the browser sessions, in memory (a bootsrv restart logs
// everyone out), keyed by the SHA-256 of the cookie's id.
var webSessions = struct {
	sync.Mutex
	m map[string]webSession
}{m: map[string]webSession{}}

func sessionKey(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// webAuth wraps a page route: a session cookie, or any admin credential.
// Without one, page answers the login form, JSON routes 401.
func (a *API) webAuth(fn func(http.ResponseWriter, *http.Request) error, page bool) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; form-action 'self'; frame-ancestors 'none'")
		if adm, ok := a.webSession(r); ok {
			return fn(w, r.WithContext(context.WithValue(r.Context(), adminKey{}, &adminCall{Admin: adm})))
		}
		if r.Header.Get("Authorization") != "" || r.Context().Value(localPeerKey{}) != nil {
			return a.requireAdmin(fn)(w, r)
		}
		if !page {
			return errorf(http.StatusUnauthorized, "%s needs an admin session: log in at /ui with an admin token over TLS", r.URL.Path)
		}
		return a.loginPage(w, r, http.StatusUnauthorized, "")
	}
}

// webSession returns the admin of r's session cookie, checking its token.
func (a *API) webSession(r *http.Request) (Admin, bool) {
	ck, err := r.Cookie(webCookie)
	if err != nil || ck.Value == "" || r.TLS == nil {
		return Admin{}, false
	}
	key := sessionKey(ck.Value)
	webSessions.Lock()
	s, ok := webSessions.m[key]
	webSessions.Unlock()
	if !ok {
		return Admin{}, false
	}
	now := a.cfg.Now()
	t, err := a.cfg.Store.TokenByID(s.tokenID)
	if !now.Before(s.expires) || err != nil || !t.Revoked.IsZero() || (!t.Expires.IsZero() && !now.Before(t.Expires)) {
		webSessions.Lock()
		delete(webSessions.m, key)
		webSessions.Unlock()
		return Admin{}, false
	}
	return Admin{Who: s.who + " (web session)", From: r.RemoteAddr}, true
}

// webLogin serves POST /ui/login: the token is checked as on the admin API
// (over TLS only), then a session cookie is set.
func (a *API) webLogin(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	if r.TLS == nil {
		return a.loginPage(w, r, http.StatusForbidden, "Log in over TLS only (https on bootsrv's --tls-listen port): a token sent over plain HTTP may be exposed.")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxWebLogin)
	if err := r.ParseForm(); err != nil {
		return a.loginPage(w, r, http.StatusBadRequest, "Bad login form.")
	}
	tok := strings.TrimSpace(r.PostForm.Get("token"))
	probe := r.Clone(r.Context())
	probe.Header = http.Header{"Authorization": {"Bearer " + tok}}
	adm, err := a.authenticate(probe)
	rec := state.AuditRecord{Time: a.cfg.Now().UTC(), Who: adm.Who, From: r.RemoteAddr, Method: r.Method, Path: r.URL.Path, Summary: "web login"}
	if err != nil {
		rec.Who, rec.Status, rec.Summary = "-", http.StatusUnauthorized, "web login refused"
		a.cfg.Store.AddAudit(rec)
		return a.loginPage(w, r, http.StatusUnauthorized, "Login refused: "+err.Error())
	}
	id, _, _ := admintoken.Parse(tok)
	t, err := a.cfg.Store.TokenByID(id)
	if err != nil {
		return err
	}
	b := make([]byte, 32)
	rand.Read(b)
	sid := hex.EncodeToString(b)
	exp := a.cfg.Now().Add(webSessionTTL)
	if !t.Expires.IsZero() && t.Expires.Before(exp) {
		exp = t.Expires
	}
	webSessions.Lock()
	webSessions.m[sessionKey(sid)] = webSession{tokenID: id, who: adm.Who, expires: exp}
	webSessions.Unlock()
	rec.Status = http.StatusSeeOther
	if err := a.cfg.Store.AddAudit(rec); err != nil {
		a.log.Error("audit record not stored", "summary", rec.Summary, "err", err)
	}
	http.SetCookie(w, &http.Cookie{Name: webCookie, Value: sid, Path: "/ui", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: int(time.Until(exp) / time.Second)})
	http.Redirect(w, r, "/ui", http.StatusSeeOther)
	return nil
}

// webLogout serves POST /ui/logout.
func (a *API) webLogout(w http.ResponseWriter, r *http.Request) error {
	if ck, err := r.Cookie(webCookie); err == nil {
		webSessions.Lock()
		delete(webSessions.m, sessionKey(ck.Value))
		webSessions.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: webCookie, Value: "", Path: "/ui", Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, "/ui", http.StatusSeeOther)
	return nil
}

func (a *API) loginPage(w http.ResponseWriter, r *http.Request, status int, msg string) error {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	return pageTemplates.ExecuteTemplate(w, "login", struct{ Msg string }{msg})
}
