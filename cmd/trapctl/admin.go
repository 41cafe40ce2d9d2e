package main

import (
	"flag"
	"fmt"
	"time"

	"github.com/disklesstrap/disklesstrap/bootsrv/tlscert"
	"github.com/disklesstrap/disklesstrap/client"
)

// Admin credentials (docs/threat-model.md, "Admin credentials"): named
// bearer tokens for remote admins, made on bootsrv's host over its admin
// socket (or by another admin over TLS), and the audit log.

var (
	tokenExpires string
	tokenOut     string
	tokenServer  string
	auditLimit   int
)

var adminTokenCreate = &command{
	name: "admin token create", args: "NAME [flags]",
	summary: "make a named admin token and write its credentials file (0600)",
	help: "The file holds bootsrv's https URL, the token and bootsrv's TLS certificate to pin;\n" +
		"use it elsewhere with trapctl --credentials FILE (or $TRAPCTL_CREDENTIALS).\n" +
		"The token is shown this once: bootsrv keeps only its hash. Revoke it with trapctl admin token revoke NAME.",
	minArgs: 1, maxArgs: 1,
	flags: func(fs *flag.FlagSet) {
		fs.StringVar(&tokenExpires, "expires", "", "lifetime, a Go duration like 720h (default: until revoked)")
		fs.StringVar(&tokenOut, "out", "", "credentials file to write (default NAME.credentials.json; must not exist)")
		fs.StringVar(&tokenServer, "url", "", "https URL the admin reaches bootsrv at (default: bootsrv's first boot network address)")
	},
	run: func(e *env, args []string) error {
		if tokenExpires != "" {
			if d, err := time.ParseDuration(tokenExpires); err != nil || d <= 0 {
				return usagef("--expires: want a positive duration like 720h, got %q", tokenExpires)
			}
		}
		out := tokenOut
		if out == "" {
			out = args[0] + ".credentials.json"
		}
		created, err := e.client().CreateToken(e.ctx, args[0], tokenExpires)
		if err != nil {
			return err
		}
		server := tokenServer
		if server == "" && len(created.Servers) > 0 {
			server = created.Servers[0]
		}
		creds := &client.Credentials{Name: created.Name, Server: server, Token: created.Text, CertPEM: created.CertPEM}
		if err := client.WriteCredentials(out, creds); err != nil {
			return fmt.Errorf("token %s was made but its credentials are not written (revoke it: trapctl admin token revoke %s): %w", created.Name, created.Name, err)
		}
		if e.output == "json" {
			return writeJSON(e.stdout, created.Token)
		}
		expires := "never"
		if created.Expires != nil {
			expires = created.Expires.Format(time.RFC3339)
		}
		fp, err := tlscert.Fingerprint([]byte(created.CertPEM))
		if err != nil {
			return fmt.Errorf("token %s: bootsrv's certificate: %w", created.Name, err)
		}
		_, err = fmt.Fprintf(e.stdout, "token %s (expires %s) written to %s (mode 0600), pinning bootsrv certificate sha256 %s\n"+
			"use it: trapctl --credentials %s status   (server %s; boot networks: %v)\n",
			created.Name, expires, out, fp, out, server, created.Servers)
		return err
	},
}

var adminTokenList = &command{
	name: "admin token list", summary: "admin tokens (names and dates, never secrets)",
	run: func(e *env, args []string) error {
		ts, err := e.client().Tokens(e.ctx)
		if err != nil {
			return err
		}
		if e.output == "json" {
			return writeJSON(e.stdout, ts)
		}
		t := newTable(e.stdout, "NAME", "CREATED", "CREATED-BY", "EXPIRES", "STATE")
		now := e.now()
		for _, x := range ts {
			expires, state := "never", "valid"
			if x.Expires != nil {
				expires = x.Expires.Format(time.RFC3339)
				if !now.Before(*x.Expires) {
					state = "expired"
				}
			}
			if x.Revoked != nil {
				state = "revoked " + x.Revoked.Format(time.RFC3339) + " by " + x.RevokedBy
			}
			t.row(x.Name, x.Created.Format(time.RFC3339), x.CreatedBy, expires, state)
		}
		return t.flush()
	},
}

var adminTokenRevoke = &command{
	name: "admin token revoke", args: "NAME", summary: "revoke an admin token (refused from its next request on)",
	minArgs: 1, maxArgs: 1,
	run: func(e *env, args []string) error {
		x, err := e.client().RevokeToken(e.ctx, args[0])
		if err != nil {
			return err
		}
		if e.output == "json" {
			return writeJSON(e.stdout, x)
		}
		_, err = fmt.Fprintf(e.stdout, "token %s revoked at %s by %s\n", x.Name, x.Revoked.Format(time.RFC3339), x.RevokedBy)
		return err
	},
}

var adminWhoami = &command{
	name: "admin whoami", summary: "the admin identity bootsrv sees for this trapctl",
	run: func(e *env, args []string) error {
		w, err := e.client().WhoAmI(e.ctx)
		if err != nil {
			return err
		}
		if e.output == "json" {
			return writeJSON(e.stdout, w)
		}
		_, err = fmt.Fprintf(e.stdout, "%s from %s (server %s)\n", w.Who, w.From, e.server)
		return err
	},
}

var auditCmd = &command{
	name: "audit", args: "[--limit N]", summary: "the audit log of admin changes (who, from where, what, when)",
	flags: func(fs *flag.FlagSet) {
		fs.IntVar(&auditLimit, "limit", 50, "last N records (0: all)")
	},
	run: func(e *env, args []string) error {
		if auditLimit < 0 {
			return usagef("--limit: want N >= 0, got %d", auditLimit)
		}
		recs, err := e.client().Audit(e.ctx, auditLimit)
		if err != nil {
			return err
		}
		if e.output == "json" {
			return writeJSON(e.stdout, recs)
		}
		t := newTable(e.stdout, "TIME", "WHO", "FROM", "STATUS", "WHAT", "SUMMARY")
		for _, r := range recs {
			t.row(r.Time.Format(time.RFC3339), r.Who, r.From, fmt.Sprint(r.Status), r.Method+" "+r.Path, r.Summary)
		}
		return t.flush()
	},
}
