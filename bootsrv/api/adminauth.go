package api

// Admin authentication (docs/threat-model.md, "Admin credentials"):
//
//   - Local admins talk to bootsrv's admin socket (bootsrv --admin-socket,
//     a Unix socket 0600 in a 0700 folder). The server that accepts on it
//     puts the peer's SO_PEERCRED credentials in the request context
//     (WithLocalPeer); uid 0 and bootsrv's own effective uid are admins,
//     named "local:USER(uid N)".
//   - Remote admins present a named bearer token (package
//     bootsrv/admintoken) in "Authorization: Bearer dtk_...", accepted over
//     the TLS listener only. The token's record is read from the state at
//     every request, so a revocation counts at the next one.
//
// Anything else on an admin route is 401 (no or a bad credential) or 403
// (a local user who is not an admin), with a JSON api.Error saying how to
// get a credential. Every admin request that changes something (any
// method but GET and HEAD) leaves an audit record (audit.go).

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/bootsrv/admintoken"
	"github.com/disklesstrap/disklesstrap/bootsrv/state"
)

// LocalPeer is the process at the other end of the admin socket, as the
// kernel reports it (SO_PEERCRED).
type LocalPeer struct {
	UID, PID int
}

type localPeerKey struct{}
type adminKey struct{}

// WithLocalPeer marks ctx as a request on the admin socket from p; the
// admin socket's http.Server sets it in ConnContext. Nothing else may.
func WithLocalPeer(ctx context.Context, p LocalPeer) context.Context {
	return context.WithValue(ctx, localPeerKey{}, p)
}

// Admin is an authenticated admin caller.
type Admin struct {
	Who  string // "token:NAME" or "local:root(uid 0)"
	From string // remote address, or "unix"
}

// adminCall is what an admin request carries in its context.
type adminCall struct {
	Admin
	summary string // set by the handler for the audit record
}

// AdminOf returns the admin a request was authenticated as.
func AdminOf(ctx context.Context) (Admin, bool) {
	c, ok := ctx.Value(adminKey{}).(*adminCall)
	if !ok {
		return Admin{}, false
	}
	return c.Admin, true
}

// auditf sets the summary of r's audit record (never a secret value).
func auditf(r *http.Request, format string, args ...any) {
	if c, ok := r.Context().Value(adminKey{}).(*adminCall); ok {
		c.summary = fmt.Sprintf(format, args...)
	}
}

// requireAdmin wraps an admin route: the caller must present an admin
// credential; changes are audited.
func (a *API) requireAdmin(fn func(http.ResponseWriter, *http.Request) error) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		adm, err := a.authenticate(r)
		if err != nil {
			var he *httpError
			if errors.As(err, &he) && he.status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="bootsrv admin"`)
			}
			return err
		}
		call := &adminCall{Admin: adm}
		r = r.WithContext(context.WithValue(r.Context(), adminKey{}, call))
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			return fn(w, r)
		}
		sw := &statusWriter{ResponseWriter: w}
		err = fn(sw, r)
		status := sw.status
		if err != nil {
			status = statusOf(err)
		} else if status == 0 {
			status = http.StatusOK
		}
		a.audit(r, call, status)
		return err
	}
}

// authenticate names the admin behind r, or says why r has none.
func (a *API) authenticate(r *http.Request) (Admin, error) {
	if p, ok := r.Context().Value(localPeerKey{}).(LocalPeer); ok {
		if p.UID != 0 && p.UID != os.Geteuid() {
			a.log.Warn("admin socket: refused a user who is not an admin", "uid", p.UID, "pid", p.PID)
			return Admin{}, errorf(http.StatusForbidden, "uid %d is not a bootsrv admin: the admin socket serves root and bootsrv's own user (uid %d) only", p.UID, os.Geteuid())
		}
		return Admin{Who: fmt.Sprintf("local:%s(uid %d)", userName(p.UID), p.UID), From: "unix"}, nil
	}
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return Admin{}, errorf(http.StatusUnauthorized, "%s needs an admin credential: %s", r.URL.Path, a.howToGetCredential())
	}
	text, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		return Admin{}, errorf(http.StatusUnauthorized, "Authorization header: want \"Bearer dtk_...\" (an admin token); %s", a.howToGetCredential())
	}
	if a.cfg.Store == nil {
		return Admin{}, errorf(http.StatusServiceUnavailable, "no state store: admin tokens cannot be checked")
	}
	id, hash, perr := admintoken.Parse(strings.TrimSpace(text))
	var t state.Token
	var lerr error = state.ErrNoToken
	if perr == nil {
		t, lerr = a.cfg.Store.TokenByID(id)
	}
	if r.TLS == nil {
		// Refuse before anything else: the token crossed the network in
		// clear text; whoever listened has it.
		name := "(unknown token)"
		if lerr == nil {
			name = t.Name
		}
		a.log.Warn("admin token sent over plain HTTP and refused: it may be exposed, revoke it", "token", name, "remote", r.RemoteAddr, "path", r.URL.Path)
		return Admin{}, errorf(http.StatusUnauthorized, "admin tokens are accepted over TLS only (%s); this one crossed plain HTTP and may be exposed: revoke it (trapctl admin token revoke NAME) and make a new one", a.tlsHint())
	}
	switch {
	case perr != nil:
		return Admin{}, errorf(http.StatusUnauthorized, "unknown token (%v)", perr)
	case errors.Is(lerr, state.ErrNoToken):
		a.log.Warn("admin token refused: unknown token", "remote", r.RemoteAddr)
		return Admin{}, errorf(http.StatusUnauthorized, "unknown token: this bootsrv did not issue it (or its record is gone)")
	case lerr != nil:
		return Admin{}, lerr
	case !admintoken.Match(hash, t.Hash):
		a.log.Warn("admin token refused: wrong secret for a known token id", "token", t.Name, "remote", r.RemoteAddr)
		return Admin{}, errorf(http.StatusUnauthorized, "unknown token: this bootsrv did not issue it")
	case !t.Revoked.IsZero():
		a.log.Warn("admin token refused: revoked", "token", t.Name, "remote", r.RemoteAddr)
		return Admin{}, errorf(http.StatusUnauthorized, "token %s revoked at %s by %s", t.Name, t.Revoked.Format(time.RFC3339), t.RevokedBy)
	case !t.Expires.IsZero() && !a.cfg.Now().Before(t.Expires):
		a.log.Warn("admin token refused: expired", "token", t.Name, "remote", r.RemoteAddr)
		return Admin{}, errorf(http.StatusUnauthorized, "token %s expired at %s", t.Name, t.Expires.Format(time.RFC3339))
	}
	return Admin{Who: "token:" + t.Name, From: r.RemoteAddr}, nil
}

// howToGetCredential is the tail of every 401 message.
func (a *API) howToGetCredential() string {
	sock := a.cfg.AdminSocket
	if sock == "" {
		sock = api.DefaultAdminSocket
	}
	return fmt.Sprintf("on the bootsrv host, as root, use the admin socket (trapctl --server unix://%s, or just trapctl); "+
		"for another host make a token there (trapctl admin token create NAME --out FILE) and use it over TLS (trapctl --credentials FILE, %s)",
		sock, a.tlsHint())
}

func (a *API) tlsHint() string {
	if a.cfg.TLSPort == 0 {
		return "bootsrv's TLS listener, which is off: start bootsrv with --tls-listen"
	}
	return "https://BOOTSRV:" + strconv.Itoa(a.cfg.TLSPort)
}

// userName is the login name of uid, or "uid" when it has none.
func userName(uid int) string {
	if uid == 0 {
		return "root"
	}
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username
	}
	return "uid"
}

// statusWriter records the status a handler writes.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
