package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"sync"

	"github.com/disklesstrap/disklesstrap/bootsrv/inventory"
	"github.com/disklesstrap/disklesstrap/nodeauth"
)

// Node authentication (package nodeauth; docs/threat-model.md).
//
// A node route (events, secret pulls, the OS token) is accepted only when
//   - the request is signed (Dt-Node, Dt-Boot, Dt-Seq, Dt-Signature) with
//     the key the node registered for its current boot (register.go),
//   - it comes from the node's address: its reserved inventory address,
//     or for a node without one (and an unknown node in discovery) the
//     dynamic lease of its boot MAC,
//   - its sequence number was not seen before in that boot (a 64-wide
//     replay window, in memory: after a bootsrv restart an old request of
//     the current boot could be replayed once; secret releases are
//     recorded durably, so that gives no second secret),
//   - the route's {node}, and every event's node, is the signing node.
//
// Events only may instead carry the booted OS's token (Dt-Node and
// Dt-Os-Token) from the node's address. Refusals are 401 (no or a bad
// credential) or 403 (right credential, wrong address or node), each
// logged as a warning with the reason.

// nodeCaller is who a node request proved to be.
type nodeCaller struct {
	Node    string
	Boot    string
	OSToken bool // authenticated by the booted OS's token, not the boot key
}

type callerKey struct{}

// callerOf returns the authenticated node of r; ok is false when node
// authentication is off (Config.NodeAuthOff).
func callerOf(r *http.Request) (nodeCaller, bool) {
	c, ok := r.Context().Value(callerKey{}).(nodeCaller)
	return c, ok
}

// windows are the replay windows of the nodes' current boots.
type windows struct {
	mu sync.Mutex
	m  map[string]*bootWindow // node -> window of its current boot
}

type bootWindow struct {
	boot string
	w    nodeauth.Window
}

func (ws *windows) accept(node, boot string, seq uint64) bool {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.m == nil {
		ws.m = map[string]*bootWindow{}
	}
	bw := ws.m[node]
	if bw == nil || bw.boot != boot {
		bw = &bootWindow{boot: boot}
		ws.m[node] = bw
	}
	return bw.w.Accept(seq)
}

// maxNodeBody bounds the body of a node request (events carry hardware
// inventories).
const maxNodeBody = maxEventBody

// requireNode wraps a node route: the request must come from the node it
// speaks for (see above). osToken lets the booted OS's token in (events).
func (a *API) requireNode(fn func(http.ResponseWriter, *http.Request) error) func(http.ResponseWriter, *http.Request) error {
	return a.nodeAuth(fn, false)
}

func (a *API) nodeAuth(fn func(http.ResponseWriter, *http.Request) error, osToken bool) func(http.ResponseWriter, *http.Request) error {
	if a.cfg.NodeAuthOff {
		return fn
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxNodeBody))
		if err != nil {
			return err
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		c, err := a.authNode(r, body, osToken)
		if err == nil {
			if want := r.PathValue("node"); want != "" && want != c.Node {
				err = errorf(http.StatusForbidden, "node %s may not act for node %s", c.Node, want)
			}
		}
		if err != nil {
			src, _ := sourceAddr(r)
			a.log.Warn("node request refused", "method", r.Method, "path", r.URL.Path, "remote", src,
				"claims", r.Header.Get(nodeauth.HeaderNode), "reason", err)
			return err
		}
		return fn(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, c)))
	}
}

// authNode checks r's node credential.
func (a *API) authNode(r *http.Request, body []byte, osToken bool) (nodeCaller, error) {
	if tok := r.Header.Get(nodeauth.HeaderOSToken); tok != "" && r.Header.Get(nodeauth.HeaderSignature) == "" {
		if !osToken {
			return nodeCaller{}, errorf(http.StatusUnauthorized, "the booted OS's token is accepted for events only; this route needs the agent's boot credential")
		}
		return a.authOSToken(r, tok)
	}
	claims, _, err := nodeauth.ParseHeaders(r.Header)
	if err != nil {
		return nodeCaller{}, errorf(http.StatusUnauthorized, "node credential: %v (node requests are signed with the boot key the agent registers at %s)", err, nodeauth.RegisterPath)
	}
	bk, ok := a.cfg.Store.BootKeyOf(claims.Node)
	if !ok {
		return nodeCaller{}, errorf(http.StatusUnauthorized, "node credential: node %s has no registered boot key", claims.Node)
	}
	if err := a.checkNodeSource(r, claims.Node); err != nil {
		return nodeCaller{}, err
	}
	if claims.Boot != bk.Boot {
		return nodeCaller{}, errorf(http.StatusUnauthorized, "node credential: boot %q is not node %s's current boot", claims.Boot, claims.Node)
	}
	if _, err := nodeauth.Verify(bk.Key, r, body); err != nil {
		return nodeCaller{}, errorf(http.StatusUnauthorized, "node credential of %s: %v", claims.Node, err)
	}
	if !a.windows.accept(claims.Node, claims.Boot, claims.Seq) {
		return nodeCaller{}, errorf(http.StatusUnauthorized, "node credential of %s: sequence number %d replayed or too old", claims.Node, claims.Seq)
	}
	return nodeCaller{Node: claims.Node, Boot: claims.Boot}, nil
}

// authOSToken checks a booted OS's token: Dt-Node names the node, whose
// current boot registered the token's hash, and the request comes from
// the node's address.
func (a *API) authOSToken(r *http.Request, tok string) (nodeCaller, error) {
	node := r.Header.Get(nodeauth.HeaderNode)
	if node == "" {
		return nodeCaller{}, errorf(http.StatusUnauthorized, "OS token without a %s header", nodeauth.HeaderNode)
	}
	bk, ok := a.cfg.Store.BootKeyOf(node)
	want, _ := hex.DecodeString(bk.OSToken)
	got, _ := hex.DecodeString(nodeauth.TokenHash(tok))
	if !ok || len(want) == 0 || subtle.ConstantTimeCompare(want, got) != 1 {
		return nodeCaller{}, errorf(http.StatusUnauthorized, "OS token: not the token registered for node %s's current boot", node)
	}
	if err := a.checkNodeSource(r, node); err != nil {
		return nodeCaller{}, err
	}
	return nodeCaller{Node: node, Boot: bk.Boot, OSToken: true}, nil
}

// checkNodeSource refuses a request that does not come from node's address.
func (a *API) checkNodeSource(r *http.Request, node string) error {
	c, err := a.cluster()
	if err != nil {
		return err
	}
	want, ok, err := a.nodeAddr(c, node)
	if err != nil {
		return err
	}
	src, _ := sourceAddr(r)
	if !ok {
		return errorf(http.StatusForbidden, "node %s has no reserved address and no lease", node)
	}
	if src != want {
		return errorf(http.StatusForbidden, "request for node %s from %s, not from the node's address %s", node, src, want)
	}
	return nil
}

// nodeAddr is the address node's requests must come from: its boot
// interface's reserved inventory address, else (no reservation, or an
// unknown node named after its MAC) the dynamic lease of its boot MAC.
func (a *API) nodeAddr(c *inventory.Cluster, node string) (netip.Addr, bool, error) {
	var mac string
	if n, ok := c.Node(node); ok {
		ifc := n.BootInterface()
		if ifc == nil {
			return netip.Addr{}, false, nil
		}
		if ifc.IP.IsValid() {
			return ifc.IP, true, nil
		}
		mac = ifc.MAC.String()
	} else if m, ok := parseDiscoveryName(node); ok {
		if _, _, known := c.ByMAC(m); known {
			return netip.Addr{}, false, nil // a known MAC speaks under its inventory name
		}
		mac = m.String()
	} else {
		return netip.Addr{}, false, nil
	}
	l, ok, err := a.cfg.Store.LeaseOf(mac)
	if err != nil || !ok {
		return netip.Addr{}, false, err
	}
	return l.IP, true, nil
}

// checkEventNodes refuses event i when it is for another node than the
// authenticated caller (after resolveEvent filled in its node).
func checkEventNodes(r *http.Request, i int, node string) error {
	c, ok := callerOf(r)
	if ok && node != c.Node {
		return errorf(http.StatusForbidden, "event %d is for node %s, but the request comes from node %s", i, node, c.Node)
	}
	return nil
}

// newBootID is a fresh boot id: the boot number and 64 random bits.
func newBootID(boot int64) string {
	b := make([]byte, 8)
	rand.Read(b) // never fails (Go 1.24+)
	return fmt.Sprintf("%d-%x", boot, b)
}
