package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTLSListener: bootsrv makes its certificate in STATE/tls, serves the
// same handler over TLS with it, hands the PEM to loopback for pinning,
// and refuses secret pulls over plain HTTP.
func TestTLSListener(t *testing.T) {
	tlsAddr := freePort(t)
	ts := startServer(t, func(c *Config) { c.TLSAddr, c.SecretsPull = tlsAddr, true })
	if code, body := ts.get("/api/v1/tls/cert"); code != 401 {
		t.Errorf("GET /api/v1/tls/cert over plain HTTP = %d %s, want 401", code, body)
	}
	pemBytes, err := ts.admin().TLSCert(context.Background())
	if err != nil {
		t.Fatalf("GET /api/v1/tls/cert on the admin socket: %v", err)
	}
	pemText := string(pemBytes)
	file, err := os.ReadFile(filepath.Join(ts.dir, "state", "tls", "cert.pem"))
	if err != nil {
		t.Fatalf("certificate file: %v", err)
	}
	if pemText != string(file) {
		t.Errorf("GET /api/v1/tls/cert = %q, want STATE/tls/cert.pem %q", pemText, file)
	}

	var presented []byte
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		InsecureSkipVerify: true, // checked by hand below
		MinVersion:         tls.VersionTLS13,
		VerifyConnection: func(cs tls.ConnectionState) error {
			presented = cs.PeerCertificates[0].Raw
			return nil
		},
	}}}
	resp, err := hc.Get("https://" + tlsAddr + "/manifest/cn001")
	if err != nil {
		t.Fatalf("GET https://%s/manifest/cn001: %v", tlsAddr, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "cn001") {
		t.Errorf("GET /manifest/cn001 over TLS = %d %s, want cn001's manifest", resp.StatusCode, body)
	}
	want, _ := tls.X509KeyPair(file, mustRead(t, filepath.Join(ts.dir, "state", "tls", "key.pem")))
	if len(want.Certificate) == 0 || !bytes.Equal(presented, want.Certificate[0]) {
		t.Errorf("TLS listener presented a certificate other than STATE/tls/cert.pem")
	}

	code, body2 := ts.get("/api/v1/secrets/cn001/luks")
	if code != 403 || !strings.Contains(body2, "secret pull needs TLS: use https://") {
		t.Errorf("GET /api/v1/secrets/cn001/luks over plain HTTP = %d %s, want 403 naming the https URL", code, body2)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTLSBadConfig: certificate flag mistakes stop Run with a message.
func TestTLSBadConfig(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "cluster.yaml")
	if err := os.WriteFile(cfgPath, []byte(inv), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"cert without key", func(c *Config) { c.TLSCertFile = filepath.Join(dir, "c.pem") }, "--tls-cert and --tls-key go together"},
		{"missing files", func(c *Config) {
			c.TLSCertFile, c.TLSKeyFile = filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
		}, "--tls-cert"},
		{"no port", func(c *Config) { c.TLSAddr = "127.0.0.1" }, "--tls-listen"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := Config{ConfigPath: cfgPath, StateDir: filepath.Join(t.TempDir(), "state"), DataDir: dir, HTTPAddr: freePort(t),
				TLSAddr: freePort(t), DHCPAddr: "off", TFTPAddr: "off", Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			c.mutate(&cfg)
			s, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err = s.Run(ctx)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Run with %s = %v, want an error containing %q", c.name, err, c.want)
			}
		})
	}
}
