// Package admintoken makes and parses bootsrv's admin bearer tokens.
//
// A token's text is "dtk_<id>_<secret>": id is 16 hex digits (8 random
// bytes) that name the record in bootsrv's state, secret is 43 base64url
// characters (32 random bytes, 256 bits). bootsrv stores only the
// SHA-256 of the secret and compares it in constant time; the text is
// shown once, when the token is made.
package admintoken

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Prefix starts every token's text.
const Prefix = "dtk_"

const (
	idLen     = 16 // hex digits
	secretLen = 43 // base64url characters (32 bytes, no padding)
)

// New makes a token: its text (to hand to the admin once), its id and the
// hash to store.
func New() (text, id string, hash []byte, err error) {
	var idb [8]byte
	var sec [32]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return "", "", nil, fmt.Errorf("admin token: random: %w", err)
	}
	if _, err := rand.Read(sec[:]); err != nil {
		return "", "", nil, fmt.Errorf("admin token: random: %w", err)
	}
	id = hex.EncodeToString(idb[:])
	secret := base64.RawURLEncoding.EncodeToString(sec[:])
	h := sha256.Sum256([]byte(secret))
	return Prefix + id + "_" + secret, id, h[:], nil
}

// ErrMalformed is returned by Parse for text that is not a token.
var ErrMalformed = errors.New("malformed token: want dtk_<16 hex digits>_<43 base64url characters>")

// Parse splits a token's text into its id and the hash of its secret.
func Parse(text string) (id string, hash []byte, err error) {
	rest, ok := strings.CutPrefix(text, Prefix)
	if !ok || len(rest) != idLen+1+secretLen || rest[idLen] != '_' {
		return "", nil, ErrMalformed
	}
	id, secret := rest[:idLen], rest[idLen+1:]
	if _, err := hex.DecodeString(id); err != nil || strings.ToLower(id) != id {
		return "", nil, ErrMalformed
	}
	if b, err := base64.RawURLEncoding.Strict().DecodeString(secret); err != nil || len(b) != 32 {
		return "", nil, ErrMalformed
	}
	h := sha256.Sum256([]byte(secret))
	return id, h[:], nil
}

// Match compares a presented secret's hash with the stored one in
// constant time.
func Match(presented, stored []byte) bool {
	return len(stored) == sha256.Size && subtle.ConstantTimeCompare(presented, stored) == 1
}
