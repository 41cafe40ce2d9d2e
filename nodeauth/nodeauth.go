// Package nodeauth is the per-boot node credential: the one contract, beside
// package manifest, between the agent and bootsrv for proving that a request
// comes from the node it speaks for.
//
// Each boot the agent makes a fresh ed25519 key pair in memory and registers
// the public half at RegisterPath, from the node's own address and a
// privileged source port (< 1024: only root on the node can bind one), while
// the boot bootsrv just served an iPXE script for is open. bootsrv answers
// with a boot id. Every later node request of that boot (events, host key,
// discovery report, secret pulls) carries the Dt-Node, Dt-Boot, Dt-Seq and
// Dt-Signature headers: an ed25519 signature over Message (method, request
// URI, node, boot, sequence number, SHA-256 of the body). bootsrv checks it
// against the boot's key and refuses replays with a Window.
//
// After switch_root the key is gone with the agent. The booted OS reports
// events with an OS token: a random value the agent writes to OSTokenFile
// (root only, in /run) and whose SHA-256 it registers, signed, at
// OSTokenPath; the OS sends it in the Dt-Os-Token header.
//
// The package imports only the standard library so the agent stays small.
package nodeauth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// Routes and headers of the protocol.
const (
	RegisterPath = "/api/v1/boot/register" // POST Registration -> Registered
	OSTokenPath  = "/api/v1/boot/os-token" // POST OSToken (signed)

	HeaderNode      = "Dt-Node"
	HeaderBoot      = "Dt-Boot"
	HeaderSeq       = "Dt-Seq"
	HeaderSignature = "Dt-Signature"
	HeaderOSToken   = "Dt-Os-Token"

	// RegisterBoot is the boot id a registration request is signed with
	// (it proves possession of the key before bootsrv assigns the id).
	RegisterBoot = "register"

	// OSTokenFile is where the agent leaves the OS token (mode 0600, in
	// the initramfs's /run, which switch_root moves into the new root).
	OSTokenFile = "/run/dt/os-token"

	// MaxSecurePort is the highest source port a registration may come
	// from (Warewulf's "secure port" check: binding one needs root).
	MaxSecurePort = 1023
)

// Registration is the body of POST RegisterPath.
type Registration struct {
	// Node is the node's name (dt.node= on its kernel command line);
	// empty for an unknown node in discovery, which is named by MAC.
	Node string `json:"node,omitempty"`
	// MAC is the boot interface's MAC address (BOOTIF).
	MAC string `json:"mac"`
	// Key is the boot's ed25519 public key (base64 in JSON).
	Key []byte `json:"key"`
}

// Registered is bootsrv's answer to a Registration.
type Registered struct {
	Node string `json:"node"` // the name later requests must carry in Dt-Node
	Boot string `json:"boot"` // the boot id for Dt-Boot
}

// OSToken is the body of POST OSTokenPath: the SHA-256 (hex) of the token
// the booted OS will present.
type OSToken struct {
	SHA256 string `json:"sha256"`
}

// Claims are what a signed request says about itself.
type Claims struct {
	Node string
	Boot string
	Seq  uint64
}

// Message is the byte string a request's signature covers.
func Message(method, requestURI string, c Claims, body []byte) []byte {
	sum := sha256.Sum256(body)
	return fmt.Appendf(nil, "disklesstrap-node-v1\n%s\n%s\n%s\n%s\n%d\n%s",
		method, requestURI, c.Node, c.Boot, c.Seq, hex.EncodeToString(sum[:]))
}

// NewKey makes a boot key pair.
func NewKey() (ed25519.PublicKey, ed25519.PrivateKey, error) {
	return ed25519.GenerateKey(rand.Reader)
}

// Signer signs a boot's requests. Safe for concurrent use.
type Signer struct {
	key ed25519.PrivateKey
	mu  sync.Mutex
	c   Claims
}

// NewSigner returns a signer for node's boot with key.
func NewSigner(key ed25519.PrivateKey, node, boot string) *Signer {
	return &Signer{key: key, c: Claims{Node: node, Boot: boot}}
}

// Node and Boot return what the signer signs as.
func (s *Signer) Node() string { return s.c.Node }
func (s *Signer) Boot() string { return s.c.Boot }

// Sign sets the signature headers on r, whose body is body. Each call uses
// the next sequence number.
func (s *Signer) Sign(r *http.Request, body []byte) {
	s.mu.Lock()
	s.c.Seq++
	c := s.c
	s.mu.Unlock()
	sig := ed25519.Sign(s.key, Message(r.Method, r.URL.RequestURI(), c, body))
	r.Header.Set(HeaderNode, c.Node)
	r.Header.Set(HeaderBoot, c.Boot)
	r.Header.Set(HeaderSeq, strconv.FormatUint(c.Seq, 10))
	r.Header.Set(HeaderSignature, base64.StdEncoding.EncodeToString(sig))
}

// ErrUnsigned is returned by ParseHeaders for a request without any
// signature header.
var ErrUnsigned = errors.New("request is not signed (no " + HeaderSignature + " header)")

// ParseHeaders reads the claims and signature of a signed request.
func ParseHeaders(h http.Header) (Claims, []byte, error) {
	sigText := h.Get(HeaderSignature)
	if sigText == "" {
		return Claims{}, nil, ErrUnsigned
	}
	sig, err := base64.StdEncoding.DecodeString(sigText)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return Claims{}, nil, fmt.Errorf("header %s: not a base64 ed25519 signature", HeaderSignature)
	}
	c := Claims{Node: h.Get(HeaderNode), Boot: h.Get(HeaderBoot)}
	if c.Node == "" || len(c.Node) > 253 {
		return Claims{}, nil, fmt.Errorf("header %s: missing or too long", HeaderNode)
	}
	if c.Boot == "" || len(c.Boot) > 128 || strings.ContainsAny(c.Boot, "\n\r") {
		return Claims{}, nil, fmt.Errorf("header %s: missing or invalid", HeaderBoot)
	}
	if strings.ContainsAny(c.Node, "\n\r") {
		return Claims{}, nil, fmt.Errorf("header %s: invalid", HeaderNode)
	}
	c.Seq, err = strconv.ParseUint(h.Get(HeaderSeq), 10, 64)
	if err != nil || c.Seq == 0 {
		return Claims{}, nil, fmt.Errorf("header %s: want a positive decimal number", HeaderSeq)
	}
	return c, sig, nil
}

// Verify checks that r (with body) is signed by pub and returns its claims.
// The caller checks that the claims name the node and boot pub belongs to,
// and the sequence number against the boot's Window.
func Verify(pub ed25519.PublicKey, r *http.Request, body []byte) (Claims, error) {
	c, sig, err := ParseHeaders(r.Header)
	if err != nil {
		return Claims{}, err
	}
	if len(pub) != ed25519.PublicKeySize {
		return Claims{}, errors.New("no valid key registered for this boot")
	}
	if !ed25519.Verify(pub, Message(r.Method, r.URL.RequestURI(), c, body), sig) {
		return Claims{}, errors.New("bad signature: not signed with this boot's key")
	}
	return c, nil
}

// Window refuses replayed sequence numbers: it accepts each number once,
// in any order within the last 64 (an IPsec-style anti-replay window), so
// concurrent requests of one boot may arrive out of order. The zero value
// is ready; not safe for concurrent use (bootsrv guards it with the
// boot's lock).
type Window struct {
	max  uint64 // highest accepted
	seen uint64 // bit i: max-i was accepted
}

// Accept reports whether seq is new, and records it.
func (w *Window) Accept(seq uint64) bool {
	switch {
	case seq == 0:
		return false
	case seq > w.max:
		shift := seq - w.max
		if shift >= 64 {
			w.seen = 0
		} else {
			w.seen <<= shift
		}
		w.seen |= 1
		w.max = seq
		return true
	case w.max-seq >= 64:
		return false
	default:
		bit := uint64(1) << (w.max - seq)
		if w.seen&bit != 0 {
			return false
		}
		w.seen |= bit
		return true
	}
}

// TokenHash is the hex SHA-256 bootsrv stores for an OS token.
func TokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// NewToken returns a random OS token (32 bytes, base64url).
func NewToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
