package client

import (
	"context"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCredentialsFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.json")
	c := &Credentials{Name: "ops", Server: "https://198.18.0.1:8443", Token: "dtk_x", CertPEM: "PEM"}
	if err := WriteCredentials(p, c); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
	if err := WriteCredentials(p, c); err == nil {
		t.Error("WriteCredentials overwrote an existing file")
	}
	got, err := ReadCredentials(p)
	if err != nil || *got != *c {
		t.Errorf("ReadCredentials = %+v, %v", got, err)
	}
	for name, tc := range map[string]struct {
		text string
		mode os.FileMode
		want string
	}{
		"readable by others": {`{"token":"t","server":"s","cert_pem":"c"}`, 0o644, "chmod 600"},
		"no token":           {`{"server":"s","cert_pem":"c"}`, 0o600, "field token is empty"},
		"no server":          {`{"token":"t","cert_pem":"c"}`, 0o600, "field server is empty"},
		"no cert":            {`{"token":"t","server":"s"}`, 0o600, "field cert_pem is empty"},
		"not json":           {`token: t`, 0o600, "invalid character"},
	} {
		t.Run(name, func(t *testing.T) {
			f := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
			os.WriteFile(f, []byte(tc.text), tc.mode)
			os.Chmod(f, tc.mode)
			if _, err := ReadCredentials(f); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), f) {
				t.Errorf("ReadCredentials = %v, want an error naming %s and %q", err, f, tc.want)
			}
		})
	}
}

// TestConnect: which server and credential Connect picks.
func TestConnect(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "admin.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"who":"local:root(uid 0)","from":"unix"}`))
	})}
	go srv.Serve(ln)
	defer srv.Close()
	cl, err := Connect(Target{Socket: sock, Fallback: "http://127.0.0.1:8080"})
	if err != nil || cl.BaseURL() != "unix://"+sock {
		t.Fatalf("Connect with a socket = %v, %v", cl, err)
	}
	if w, err := cl.WhoAmI(context.Background()); err != nil || w.From != "unix" {
		t.Errorf("WhoAmI over the socket = %+v, %v", w, err)
	}
	cl, _ = Connect(Target{Socket: filepath.Join(dir, "none"), Fallback: "http://127.0.0.1:8080"})
	if cl.BaseURL() != "http://127.0.0.1:8080" {
		t.Errorf("no socket: %s, want the fallback", cl.BaseURL())
	}
	cl, _ = Connect(Target{Server: "http://198.18.0.1:8080", Socket: sock})
	if cl.BaseURL() != "http://198.18.0.1:8080" {
		t.Errorf("--server given: %s", cl.BaseURL())
	}

	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"who":"` + r.Header.Get("Authorization") + `"}`))
	}))
	defer tlsSrv.Close()
	creds := filepath.Join(dir, "c.json")
	certPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw}))
	WriteCredentials(creds, &Credentials{Name: "ops", Server: tlsSrv.URL, Token: "dtk_T", CertPEM: certPEM})
	// The file's server wins over a unix:// one (an exported TRAPCTL_SERVER).
	cl, err = Connect(Target{Server: "unix://" + sock, Credentials: creds})
	if err != nil || cl.BaseURL() != tlsSrv.URL {
		t.Fatalf("credentials with a unix server = %v, %v", cl, err)
	}
	if w, err := cl.WhoAmI(context.Background()); err != nil || w.Who != "Bearer dtk_T" {
		t.Errorf("WhoAmI with the token = %+v, %v", w, err)
	}
	if _, err := Connect(Target{Server: "http://198.18.0.1:8080", Credentials: creds}); err == nil || !strings.Contains(err.Error(), "https:// only") {
		t.Errorf("credentials with an http:// server: %v", err)
	}
}
