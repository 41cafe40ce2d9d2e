package nodeauth

import (
	"crypto/ed25519"
	"encoding/base64"
	"net/url"
)

// Torrent tracker announces are tied to the boot too. A BitTorrent client
// cannot sign each announce, so the agent gives the torrent helper (in its
// environment, AnnounceEnv, never its command line) an announce query:
// the node, the boot id and the announce key, an ed25519 signature by the
// boot key over AnnounceMessage. The helper appends it to the tracker
// URLs; bootsrv's tracker admits a node's announce only with a key that
// verifies against the node's current boot key, from the node's address.
const (
	AnnounceNodeParam = "dt_node"
	AnnounceBootParam = "dt_boot"
	AnnounceKeyParam  = "dt_key"
	// AnnounceEnv is the helper's environment variable with the query.
	AnnounceEnv = "DT_ANNOUNCE"
)

// AnnounceMessage is what an announce key signs.
func AnnounceMessage(node, boot string) []byte {
	return []byte("disklesstrap-announce-v1\n" + node + "\n" + boot)
}

// AnnounceQuery is the query (without "?") the boot's announces carry.
func (s *Signer) AnnounceQuery() string {
	sig := ed25519.Sign(s.key, AnnounceMessage(s.c.Node, s.c.Boot))
	return url.Values{
		AnnounceNodeParam: {s.c.Node},
		AnnounceBootParam: {s.c.Boot},
		AnnounceKeyParam:  {base64.RawURLEncoding.EncodeToString(sig)},
	}.Encode()
}

// VerifyAnnounce reports whether key is the announce key of node's boot
// for the boot key pub.
func VerifyAnnounce(pub ed25519.PublicKey, node, boot, key string) bool {
	sig, err := base64.RawURLEncoding.DecodeString(key)
	if err != nil || len(sig) != ed25519.SignatureSize || len(pub) != ed25519.PublicKeySize {
		return false
	}
	return ed25519.Verify(pub, AnnounceMessage(node, boot), sig)
}
