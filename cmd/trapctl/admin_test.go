package main

import (
	"bytes"
	"context"
	"encoding/pem"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/bootsrv/admintoken"
	"github.com/disklesstrap/disklesstrap/bootsrv/api"
	"github.com/disklesstrap/disklesstrap/client"
)

// TestAdminTokens: the token life cycle through trapctl against the real
// API on an admin socket and a TLS listener: create (credentials file
// 0600 with the pinned certificate), use over TLS, list without secrets,
// revoke while in use (the next call fails naming it), expiry, a foreign
// token, plain HTTP refused, and the audit log.
func TestAdminTokens(t *testing.T) {
	tlsSrv := httptest.NewUnstartedServer(nil)
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw})
	dir, _, h, _ := apiWith(t, func(c *api.Config) { c.TLSPort, c.TLSCert = 8443, certPEM })
	tlsSrv.Config.Handler = h
	sock := adminSocketServer(t, h, filepath.Join(dir, "run", "admin.sock"))
	httpSrv := httptest.NewServer(h)
	defer httpSrv.Close()

	tc := func(args ...string) (string, error) {
		t.Helper()
		var out, errb bytes.Buffer
		err := run(context.Background(), args, &out, &errb)
		if err != nil {
			errb.WriteString(err.Error())
		}
		return out.String() + errb.String(), err
	}
	creds := filepath.Join(dir, "ops.json")
	out, err := tc("--server", sock, "admin", "token", "create", "ops", "--out", creds, "--url", tlsSrv.URL)
	if err != nil || !strings.Contains(out, "token ops (expires never) written to "+creds+" (mode 0600), pinning bootsrv certificate sha256 ") {
		t.Fatalf("token create: %v\n%s", err, out)
	}
	if fi, err := os.Stat(creds); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v %v", fi, err)
	}
	cr, err := client.ReadCredentials(creds)
	if err != nil || cr.Server != tlsSrv.URL || cr.CertPEM != string(certPEM) || !strings.HasPrefix(cr.Token, "dtk_") {
		t.Fatalf("credentials: %+v %v", cr, err)
	}
	if out, err := tc("--server", sock, "admin", "token", "create", "ops", "--out", filepath.Join(dir, "x.json")); err == nil || !strings.Contains(out, "never reused") {
		t.Errorf("second token ops: %v %s", err, out)
	}

	// Remote use: the credentials file alone (server from the file), or
	// through $TRAPCTL_CREDENTIALS.
	if out, err := tc("--credentials", creds, "admin", "whoami"); err != nil || !strings.HasPrefix(out, "token:ops from 127.0.0.1:") {
		t.Errorf("whoami with the token: %v %s", err, out)
	}
	old := getenv
	t.Cleanup(func() { getenv = old })
	getenv = func(k string) string {
		if k == "TRAPCTL_CREDENTIALS" {
			return creds
		}
		return ""
	}
	if out, err := tc("mode", "set", "cn001", "local"); err != nil || !strings.Contains(out, "mode local set on 1 node(s)") {
		t.Errorf("mode set with $TRAPCTL_CREDENTIALS: %v %s", err, out)
	}
	getenv = old
	out, err = tc("--server", sock, "admin", "token", "list")
	if err != nil || !strings.Contains(out, "ops") || !strings.Contains(out, "local:root(uid 0)") || strings.Contains(out, cr.Token[4:]) || strings.Contains(out, "dtk_") {
		t.Errorf("token list: %v\n%s", err, out)
	}

	// The token over plain HTTP: trapctl will not send it.
	if out, err := tc("--server", httpSrv.URL, "--credentials", creds, "status"); err == nil || !strings.Contains(out, "https:// only") {
		t.Errorf("token with an http:// server: %v %s", err, out)
	}
	// Plain HTTP without a credential: bootsrv's 401 says how to get one.
	if out, err := tc("--server", httpSrv.URL, "status"); err == nil || !strings.Contains(out, "trapctl admin token create NAME") || !strings.Contains(out, "HTTP 401") {
		t.Errorf("status over plain HTTP: %v %s", err, out)
	}

	// Revoked while in use: the next call fails, naming why.
	if out, err := tc("--server", sock, "admin", "token", "revoke", "ops"); err != nil || !strings.Contains(out, "token ops revoked at") {
		t.Fatalf("revoke: %v %s", err, out)
	}
	if out, err := tc("--credentials", creds, "status"); err == nil || !strings.Contains(out, "token ops revoked at") || !strings.Contains(out, "by local:root(uid 0)") {
		t.Errorf("status with the revoked token: %v %s", err, out)
	}

	// Expired.
	short := filepath.Join(dir, "short.json")
	if out, err := tc("--server", sock, "admin", "token", "create", "short", "--expires", "1s", "--out", short, "--url", tlsSrv.URL); err != nil {
		t.Fatalf("token create --expires: %v %s", err, out)
	}
	time.Sleep(1100 * time.Millisecond)
	if out, err := tc("--credentials", short, "status"); err == nil || !strings.Contains(out, "token short expired at") {
		t.Errorf("status with the expired token: %v %s", err, out)
	}

	// Foreign: a token this bootsrv never issued.
	text, _, _, _ := admintoken.New()
	foreign := filepath.Join(dir, "foreign.json")
	client.WriteCredentials(foreign, &client.Credentials{Name: "x", Server: tlsSrv.URL, Token: text, CertPEM: string(certPEM)})
	if out, err := tc("--credentials", foreign, "status"); err == nil || !strings.Contains(out, "unknown token") {
		t.Errorf("status with a foreign token: %v %s", err, out)
	}
	// A credentials file others may read is refused.
	os.Chmod(foreign, 0o644)
	if out, err := tc("--credentials", foreign, "status"); err == nil || !strings.Contains(out, "chmod 600") {
		t.Errorf("world-readable credentials: %v %s", err, out)
	}

	out, err = tc("--server", sock, "audit")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"create token ops", "token:ops", "mode local on cn001", "revoke token ops", "create token short"} {
		if !strings.Contains(out, want) {
			t.Errorf("audit lacks %q:\n%s", want, out)
		}
	}
}
