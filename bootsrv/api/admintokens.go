package api

// Admin token routes (docs/threat-model.md, "Admin credentials"):
//
//   - POST /api/v1/admin/tokens (api.TokenCreate): make a named token;
//     the answer (201, api.TokenCreated) carries its text, the only time
//     bootsrv has it, with the https URLs and certificate to pin.
//   - GET /api/v1/admin/tokens: every token's record, never a secret.
//   - DELETE /api/v1/admin/tokens/{name}: revoke; counts at the next
//     request made with it (records are read per request).
//
// Names are unique forever (a revoked token keeps its name), so the audit
// log's "token:NAME" always means one token.

import (
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/bootsrv/admintoken"
	"github.com/disklesstrap/disklesstrap/bootsrv/secrets"
	"github.com/disklesstrap/disklesstrap/bootsrv/state"
)

func (a *API) whoAmI(w http.ResponseWriter, r *http.Request) error {
	adm, _ := AdminOf(r.Context())
	return writeJSON(w, http.StatusOK, api.WhoAmI{Who: adm.Who, From: adm.From})
}

func (a *API) createToken(w http.ResponseWriter, r *http.Request) error {
	var req api.TokenCreate
	if err := decodeJSON(w, r, 4<<10, &req); err != nil {
		return err
	}
	if err := secrets.CheckName("name", req.Name); err != nil {
		return errorf(http.StatusBadRequest, "%v", err)
	}
	now := a.cfg.Now().UTC().Truncate(time.Second)
	var expires time.Time
	if req.Expires != "" {
		d, err := time.ParseDuration(req.Expires)
		if err != nil || d <= 0 {
			return errorf(http.StatusBadRequest, "expires: want a positive duration like 720h, got %q", req.Expires)
		}
		expires = now.Add(d)
	}
	if a.cfg.TLSPort == 0 {
		return errorf(http.StatusConflict, "admin tokens work over TLS only and bootsrv's TLS listener is off: start bootsrv with --tls-listen")
	}
	text, id, hash, err := admintoken.New()
	if err != nil {
		return err
	}
	adm, _ := AdminOf(r.Context())
	t := state.Token{ID: id, Name: req.Name, Hash: hash, Created: now, CreatedBy: adm.Who, Expires: expires}
	auditf(r, "create token %s (expires %s)", req.Name, orNever(expires))
	if err := a.cfg.Store.AddToken(t); err != nil {
		if errors.Is(err, state.ErrTokenExists) {
			return errorf(http.StatusConflict, "token %s exists (names are never reused; revoked ones too): choose another name", req.Name)
		}
		return err
	}
	a.log.Info("admin token created", "token", req.Name, "by", adm.Who, "expires", orNever(expires))
	return writeJSON(w, http.StatusCreated, api.TokenCreated{
		Token: tokenOut(t), Text: text, Servers: a.tokenServers(r), CertPEM: string(a.cfg.TLSCert),
	})
}

func (a *API) listTokens(w http.ResponseWriter, r *http.Request) error {
	ts, err := a.cfg.Store.Tokens()
	if err != nil {
		return err
	}
	out := make([]api.Token, len(ts))
	for i, t := range ts {
		out[i] = tokenOut(t)
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) revokeToken(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	adm, _ := AdminOf(r.Context())
	auditf(r, "revoke token %s", name)
	t, err := a.cfg.Store.RevokeToken(name, adm.Who, a.cfg.Now().UTC().Truncate(time.Second))
	if errors.Is(err, state.ErrNoToken) {
		return errorf(http.StatusNotFound, "no token named %q (trapctl admin token list)", name)
	}
	if err != nil {
		return err
	}
	a.log.Info("admin token revoked", "token", name, "by", adm.Who)
	return writeJSON(w, http.StatusOK, tokenOut(t))
}

func tokenOut(t state.Token) api.Token {
	out := api.Token{Name: t.Name, ID: t.ID, Created: t.Created, CreatedBy: t.CreatedBy, RevokedBy: t.RevokedBy}
	if !t.Expires.IsZero() {
		e := t.Expires
		out.Expires = &e
	}
	if !t.Revoked.IsZero() {
		rv := t.Revoked
		out.Revoked = &rv
	}
	return out
}

func orNever(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Format(time.RFC3339)
}

// tokenServers are the https URLs a remote admin may use: the configured
// ones, else one per inventory network server, else the request's host.
func (a *API) tokenServers(r *http.Request) []string {
	if len(a.cfg.TokenServers) > 0 {
		return a.cfg.TokenServers
	}
	port := strconv.Itoa(a.cfg.TLSPort)
	var out []string
	if c, err := a.cluster(); err == nil {
		for _, n := range c.Networks() {
			if n.Server.IsValid() {
				out = append(out, "https://"+net.JoinHostPort(n.Server.String(), port))
			}
		}
	}
	if len(out) == 0 {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if host == "" || r.Context().Value(localPeerKey{}) != nil {
			host = "127.0.0.1"
		}
		out = append(out, "https://"+net.JoinHostPort(host, port))
	}
	return out
}
