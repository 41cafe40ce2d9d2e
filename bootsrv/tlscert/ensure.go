package tlscert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"time"
)

// File names inside the directory.
const (
	CertFile = "cert.pem"
	KeyFile  = "key.pem"
)

// CommonName is the subject of the certificates Ensure makes.
const CommonName = "DisklessTrap bootsrv"

// Validity is how long a new certificate is valid.
const Validity = 10 * 365 * 24 * time.Hour

// now is the clock for new certificates (tests may move it).
var now = time.Now

// Ensure returns the PEM of the certificate in dir, creating dir (0700),
// a P-256 key (key.pem, 0600) and a self-signed certificate (cert.pem,
// 0644) with ips as IP SANs when there is none yet. An existing
// certificate is reused as it is, even if ips changed (the pins must stay
// valid; nodes compare the whole certificate, not its names). A key.pem
// readable by group or others, a key.pem without cert.pem's partner, or
// unreadable files are errors, never a silent replacement.
func Ensure(dir string, ips ...netip.Addr) ([]byte, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("tls dir %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("tls dir %s: %w", dir, err)
	}
	certPath := filepath.Join(dir, CertFile)
	certPEM, err := os.ReadFile(certPath)
	switch {
	case err == nil:
		if _, err := Load(dir); err != nil {
			return nil, err
		}
		return certPEM, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("tls certificate %s: %w", certPath, err)
	}
	// No certificate: nothing can pin one yet, so a key.pem left over from
	// an interrupted first run is replaced too.
	certPEM, keyPEM, err := generate(ips)
	if err != nil {
		return nil, err
	}
	defer clear(keyPEM)
	if err := writeAtomic(filepath.Join(dir, KeyFile), keyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := writeAtomic(certPath, certPEM, 0o644); err != nil {
		return nil, err
	}
	return certPEM, nil
}

// Load reads dir's certificate and key as a tls.Certificate. key.pem must
// not be readable by group or others.
func Load(dir string) (tls.Certificate, error) {
	keyPath := filepath.Join(dir, KeyFile)
	st, err := os.Stat(keyPath)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tls key %s: %w", keyPath, err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return tls.Certificate{}, fmt.Errorf("tls key %s: mode %04o, want 0600 (chmod 600 %s)", keyPath, st.Mode().Perm(), keyPath)
	}
	c, err := tls.LoadX509KeyPair(filepath.Join(dir, CertFile), keyPath)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tls certificate in %s: %w", dir, err)
	}
	return c, nil
}

// generate makes a P-256 key and a self-signed server certificate.
func generate(ips []netip.Addr) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("tls key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, fmt.Errorf("tls certificate serial: %w", err)
	}
	t := now().UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: CommonName},
		NotBefore:             t.Add(-time.Hour), // node clocks before NTP
		NotAfter:              t.Add(Validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, ip := range ips {
		if ip.IsValid() {
			tmpl.IPAddresses = append(tmpl.IPAddresses, net.IP(ip.Unmap().AsSlice()))
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("tls certificate: %w", err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("tls key: %w", err)
	}
	defer clear(pk)
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk})
	return certPEM, keyPEM, nil
}

// writeAtomic writes data to path with mode perm through a synced
// temporary file in the same directory and a rename.
func writeAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	defer tmp.Close()
	if err := tmp.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
