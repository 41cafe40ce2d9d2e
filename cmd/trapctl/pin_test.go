package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/bootsrv/api"
	"github.com/disklesstrap/disklesstrap/bootsrv/state"
	"github.com/disklesstrap/disklesstrap/bootsrv/tlscert"
	"github.com/disklesstrap/disklesstrap/initrd"
)

// TestPinnedCert: where `trapctl initrd build` gets the certificate it
// pins, and what it says when it cannot.
func TestPinnedCert(t *testing.T) {
	dir := t.TempDir()
	pemText, err := tlscert.Ensure(filepath.Join(dir, "tls"))
	if err != nil {
		t.Fatal(err)
	}
	fp, _ := tlscert.Fingerprint(pemText)
	st, err := state.Open(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	withTLSAPI := api.New(api.Config{TLSPort: 8443, TLSCert: pemText, Store: st})
	withTLS := adminSocketServer(t, withTLSAPI, filepath.Join(dir, "a", "admin.sock"))
	noTLS := adminSocketServer(t, api.New(api.Config{Store: st}), filepath.Join(dir, "b", "admin.sock"))
	plain := httptest.NewServer(withTLSAPI) // no credential over TCP
	defer plain.Close()
	gone := httptest.NewServer(api.New(api.Config{}))
	gone.Close()
	garbage := filepath.Join(dir, "garbage.pem")
	os.WriteFile(garbage, []byte("not a certificate"), 0o644)

	cases := []struct {
		name, server, flag string
		pinned             bool
		wantErr            string // error from pinnedCert
		wantStderr         string
	}{
		{"from bootsrv", withTLS, "", true, "", "sha256 " + fp},
		{"bootsrv without tls", noTLS, "", false, "", "--tls-listen is off"},
		{"bootsrv unreachable", gone.URL, "", false, "", "unreachable"},
		{"no admin credential", plain.URL, "", false, "", "needs an admin credential"},
		{"file", gone.URL, filepath.Join(dir, "tls", "cert.pem"), true, "", "sha256 " + fp},
		{"file missing", withTLS, filepath.Join(dir, "nope.pem"), false, "-bootsrv-cert", ""},
		{"file garbage", withTLS, garbage, false, "no PEM CERTIFICATE block", ""},
		{"none", withTLS, "none", false, "", "cannot pull secrets"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stderr bytes.Buffer
			e := &env{ctx: context.Background(), stdout: &bytes.Buffer{}, stderr: &stderr, server: c.server, hc: httpClient}
			if err := e.connect(); err != nil {
				t.Fatal(err)
			}
			f, err := pinnedCert(e, c.flag)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("pinnedCert(%q) = %v, want an error containing %q", c.flag, err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("pinnedCert(%q) = %v", c.flag, err)
			}
			if c.pinned != (f != nil) {
				t.Fatalf("pinnedCert(%q) pinned = %v, want %v (stderr %q)", c.flag, f != nil, c.pinned, stderr.String())
			}
			if f != nil && (f.Path != initrd.BootsrvCertPath || !bytes.Equal(f.Data, pemText)) {
				t.Errorf("pinnedCert(%q) = %s with %d bytes, want %s with the certificate", c.flag, f.Path, len(f.Data), initrd.BootsrvCertPath)
			}
			if !strings.Contains(stderr.String(), c.wantStderr) {
				t.Errorf("pinnedCert(%q) stderr = %q, want it to contain %q", c.flag, stderr.String(), c.wantStderr)
			}
			if !c.pinned && c.flag == "" && !strings.Contains(stderr.String(), "cannot pull secrets") {
				t.Errorf("pinnedCert(%q) stderr = %q, want the warning that pull is impossible", c.flag, stderr.String())
			}
		})
	}
}
