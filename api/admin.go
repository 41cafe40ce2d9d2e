package api

import "time"

// DefaultAdminSocket is where bootsrv listens for local admins unless
// told otherwise (bootsrv --admin-socket), and where trapctl looks for it.
const DefaultAdminSocket = "/run/disklesstrap/admin.sock"

// TokenCreate asks bootsrv for a new admin token (POST /api/v1/admin/tokens).
type TokenCreate struct {
	Name string `json:"name"`
	// Expires is a Go duration ("720h"); empty: never.
	Expires string `json:"expires,omitempty"`
}

// Token is an admin token's record (never its secret).
type Token struct {
	Name      string     `json:"name"`
	ID        string     `json:"id"`
	Created   time.Time  `json:"created"`
	CreatedBy string     `json:"created_by"`
	Expires   *time.Time `json:"expires,omitempty"`
	Revoked   *time.Time `json:"revoked,omitempty"`
	RevokedBy string     `json:"revoked_by,omitempty"`
}

// TokenCreated answers a token creation: the only time the token's text
// exists outside the admin's hands (bootsrv keeps its hash only).
type TokenCreated struct {
	Token
	// Text is the bearer token, "dtk_<id>_<secret>".
	Text string `json:"text"`
	// Servers are the https base URLs of bootsrv's TLS listener, one per
	// boot network, and CertPEM its certificate to pin.
	Servers []string `json:"servers"`
	CertPEM string   `json:"cert_pem"`
}

// AuditRecord is one admin change (GET /api/v1/audit).
type AuditRecord struct {
	ID      int64     `json:"id"`
	Time    time.Time `json:"time"`
	Who     string    `json:"who"`
	From    string    `json:"from"`
	Method  string    `json:"method"`
	Path    string    `json:"path"`
	Summary string    `json:"summary,omitempty"`
	Status  int       `json:"status"`
}

// WhoAmI is the caller's admin identity (GET /api/v1/admin/whoami).
type WhoAmI struct {
	Who  string `json:"who"`
	From string `json:"from"`
}
