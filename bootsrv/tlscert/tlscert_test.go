package tlscert

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/internal/labreq"
)

func mode(t *testing.T, p string) os.FileMode {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

// TestEnsureCreateReuse: the first call makes the files with their modes,
// the second returns the same certificate even with other addresses.
func TestEnsureCreateReuse(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "tls")
	ips := []netip.Addr{netip.MustParseAddr("198.18.0.1"), netip.MustParseAddr("198.19.0.1")}
	first, err := Ensure(dir, ips...)
	if err != nil {
		t.Fatalf("Ensure(%s) = %v", dir, err)
	}
	for _, c := range []struct {
		path string
		want os.FileMode
	}{
		{dir, 0o700},
		{filepath.Join(dir, CertFile), 0o644},
		{filepath.Join(dir, KeyFile), 0o600},
	} {
		if got := mode(t, c.path); got != c.want {
			t.Errorf("mode of %s = %04o, want %04o", c.path, got, c.want)
		}
	}
	c, err := ParsePEM(first)
	if err != nil {
		t.Fatalf("ParsePEM(Ensure output) = %v", err)
	}
	if c.Subject.CommonName != CommonName {
		t.Errorf("CN = %q, want %q", c.Subject.CommonName, CommonName)
	}
	if pk, ok := c.PublicKey.(*ecdsa.PublicKey); !ok || pk.Curve != elliptic.P256() {
		t.Errorf("public key = %T, want ECDSA P-256", c.PublicKey)
	}
	var gotIPs []string
	for _, ip := range c.IPAddresses {
		gotIPs = append(gotIPs, ip.String())
	}
	if strings.Join(gotIPs, ",") != "198.18.0.1,198.19.0.1" {
		t.Errorf("IP SANs = %v, want 198.18.0.1,198.19.0.1", gotIPs)
	}
	if d := c.NotAfter.Sub(c.NotBefore); d < Validity || d > Validity+2*time.Hour {
		t.Errorf("validity = %v, want about 10 years", d)
	}
	if err := c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature); err != nil {
		t.Errorf("not self-signed: %v", err)
	}
	if _, err := Load(dir); err != nil {
		t.Errorf("Load(%s) = %v", dir, err)
	}

	again, err := Ensure(dir, netip.MustParseAddr("10.0.0.1"))
	if err != nil {
		t.Fatalf("second Ensure(%s) = %v", dir, err)
	}
	if !bytes.Equal(first, again) {
		t.Errorf("second Ensure made a new certificate; want the first one reused")
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestEnsureRefuses: broken or unsafe directories are errors naming the
// problem, never silently regenerated.
func TestEnsureRefuses(t *testing.T) {
	cases := []struct {
		name  string
		spoil func(dir string) error
		want  string
	}{
		{"key readable by others", func(dir string) error { return os.Chmod(filepath.Join(dir, KeyFile), 0o644) }, "want 0600"},
		{"key missing", func(dir string) error { return os.Remove(filepath.Join(dir, KeyFile)) }, "no such file"},
		{"cert garbage", func(dir string) error { return os.WriteFile(filepath.Join(dir, CertFile), []byte("junk"), 0o644) }, "tls certificate"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := Ensure(dir); err != nil {
				t.Fatal(err)
			}
			if err := c.spoil(dir); err != nil {
				t.Fatal(err)
			}
			_, err := Ensure(dir)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Ensure(%s) = %v, want an error containing %q", c.name, err, c.want)
			}
		})
	}
}

// TestEnsureLeftoverKey: a key.pem without cert.pem (interrupted first
// run) is replaced by a fresh pair.
func TestEnsureLeftoverKey(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, KeyFile), []byte("stale"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Ensure(dir); err != nil {
		t.Fatalf("Ensure with a leftover key = %v", err)
	}
	if _, err := Load(dir); err != nil {
		t.Errorf("Load after replacing the leftover key = %v", err)
	}
}

// TestFingerprint checks the format and, where openssl exists, the value.
func TestFingerprint(t *testing.T) {
	dir := t.TempDir()
	pemBytes, err := Ensure(dir)
	if err != nil {
		t.Fatal(err)
	}
	other, err := Ensure(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fp, err := Fingerprint(pemBytes)
	if err != nil {
		t.Fatalf("Fingerprint = %v", err)
	}
	if !regexp.MustCompile(`^([0-9A-F]{2}:){31}[0-9A-F]{2}$`).MatchString(fp) {
		t.Errorf("Fingerprint = %q, want 32 colon-separated hex bytes", fp)
	}
	if fp2, _ := Fingerprint(other); fp2 == fp {
		t.Errorf("two certificates have the same fingerprint %s", fp)
	}
	withKey := append(append([]byte("junk\n"), pemBytes...), "-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n"...)
	if fp3, err := Fingerprint(withKey); err != nil || fp3 != fp {
		t.Errorf("Fingerprint(with surrounding junk) = %q, %v, want %q", fp3, err, fp)
	}
	for _, bad := range []string{"", "junk", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"} {
		if _, err := Fingerprint([]byte(bad)); err == nil {
			t.Errorf("Fingerprint(%q) = nil error, want one", bad)
		}
	}
	labreq.Check(t, labreq.Tools("openssl")) // the cross-check of the value
	openssl, _ := exec.LookPath("openssl")
	out, err := exec.Command(openssl, "x509", "-noout", "-fingerprint", "-sha256", "-in", filepath.Join(dir, CertFile)).Output()
	if err != nil {
		t.Fatalf("openssl: %v", err)
	}
	if want := strings.TrimSpace(string(out[bytes.IndexByte(out, '=')+1:])); fp != want {
		t.Errorf("Fingerprint = %s, openssl says %s", fp, want)
	}
}

// FuzzParsePEM: no input panics.
func FuzzParsePEM(f *testing.F) {
	good, err := Ensure(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(""))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParsePEM(b)
		if err == nil && c == nil {
			t.Fatalf("ParsePEM(%q) = nil, nil", b)
		}
		Fingerprint(b)
	})
}
