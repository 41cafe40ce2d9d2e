package tlscert

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// ParsePEM returns the first CERTIFICATE block of certPEM (the leaf, for a
// file holding a chain), parsed.
func ParsePEM(certPEM []byte) (*x509.Certificate, error) {
	rest := certPEM
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, errors.New("no PEM CERTIFICATE block")
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate: %w", err)
		}
		return c, nil
	}
}

// Fingerprint is the SHA-256 of the first certificate in certPEM, in the
// form `openssl x509 -noout -fingerprint -sha256` prints ("AB:CD:…"), so
// an admin can compare bootsrv's start-up line, trapctl's output and the
// file pinned in an image.
func Fingerprint(certPEM []byte) (string, error) {
	c, err := ParsePEM(certPEM)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(c.Raw)
	var b strings.Builder
	for i, x := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", x)
	}
	return b.String(), nil
}
