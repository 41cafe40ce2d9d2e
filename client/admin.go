package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/disklesstrap/disklesstrap/api"
)

// The admin API's credential routes.

// WhoAmI is the caller's admin identity as bootsrv sees it.
func (c *Client) WhoAmI(ctx context.Context) (api.WhoAmI, error) {
	var out api.WhoAmI
	err := c.do(ctx, http.MethodGet, "/api/v1/admin/whoami", nil, nil, &out)
	return out, err
}

// CreateToken makes a named admin token; expires is a Go duration or "".
func (c *Client) CreateToken(ctx context.Context, name, expires string) (api.TokenCreated, error) {
	var out api.TokenCreated
	err := c.do(ctx, http.MethodPost, "/api/v1/admin/tokens", nil, api.TokenCreate{Name: name, Expires: expires}, &out)
	return out, err
}

// Tokens lists the admin tokens (never their secrets).
func (c *Client) Tokens(ctx context.Context) ([]api.Token, error) {
	var out []api.Token
	err := c.do(ctx, http.MethodGet, "/api/v1/admin/tokens", nil, nil, &out)
	return out, err
}

// RevokeToken revokes the token name.
func (c *Client) RevokeToken(ctx context.Context, name string) (api.Token, error) {
	var out api.Token
	err := c.do(ctx, http.MethodDelete, "/api/v1/admin/tokens/"+url.PathEscape(name), nil, nil, &out)
	return out, err
}

// Audit returns the last limit audit records (0: all).
func (c *Client) Audit(ctx context.Context, limit int) ([]api.AuditRecord, error) {
	var out []api.AuditRecord
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	err := c.do(ctx, http.MethodGet, "/api/v1/audit", q, nil, &out)
	return out, err
}

// TLSCert is bootsrv's TLS certificate (PEM), for pinning.
func (c *Client) TLSCert(ctx context.Context) ([]byte, error) {
	var out []byte
	err := c.do(ctx, http.MethodGet, "/api/v1/tls/cert", nil, nil, &out)
	return out, err
}
