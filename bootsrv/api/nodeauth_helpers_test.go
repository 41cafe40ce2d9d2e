package api

import (
	"bytes"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/bootsrv/state"

	"github.com/disklesstrap/disklesstrap/nodeauth"
)

// testNode plays a node's agent against an API: it boots (GET /ipxe),
// registers a boot key from its address and a privileged port, and signs.
type testNode struct {
	t      testing.TB
	a      *API
	name   string // "" for an unknown node
	mac    string
	addr   string
	pub    ed25519.PublicKey
	priv   ed25519.PrivateKey
	signer *nodeauth.Signer
	root   bool // an admin: root on the admin socket (addr is ignored)
}

func newTestNode(t testing.TB, a *API, name, mac, addr string) *testNode {
	t.Helper()
	n := &testNode{t: t, a: a, name: name, mac: mac, addr: addr}
	n.newKey()
	return n
}

func (n *testNode) newKey() {
	pub, priv, err := nodeauth.NewKey()
	if err != nil {
		n.t.Fatal(err)
	}
	n.pub, n.priv = pub, priv
}

// serve sends r to the API and returns status and body.
func serve(a *API, r *http.Request) (int, string) {
	w := httptest.NewRecorder()
	a.ServeHTTP(w, r)
	return w.Code, w.Body.String()
}

// ipxe serves the node's iPXE script (opens a boot).
func (n *testNode) ipxe() {
	n.t.Helper()
	r := httptest.NewRequest("GET", "/ipxe?mac="+n.mac+"&platform=pcbios", nil)
	r.RemoteAddr = net.JoinHostPort(n.addr, "40000")
	if code, body := serve(n.a, r); code != 200 {
		n.t.Fatalf("ipxe of %s = %d %s", n.mac, code, body)
	}
}

// registerReq is a registration request from port.
func (n *testNode) registerReq(port string) *http.Request {
	body, _ := json.Marshal(nodeauth.Registration{Node: n.name, MAC: n.mac, Key: n.pub})
	r := httptest.NewRequest("POST", nodeauth.RegisterPath, bytes.NewReader(body))
	r.RemoteAddr = net.JoinHostPort(n.addr, port)
	as := n.name
	if as == "" {
		as = n.mac
	}
	nodeauth.NewSigner(n.priv, as, nodeauth.RegisterBoot).Sign(r, body)
	return r
}

// register registers the node's key and keeps its signer.
func (n *testNode) register() {
	n.t.Helper()
	code, body := serve(n.a, n.registerReq("700"))
	if code != 200 {
		n.t.Fatalf("register %s = %d %s", n.name, code, body)
	}
	var reg nodeauth.Registered
	if err := json.Unmarshal([]byte(body), &reg); err != nil {
		n.t.Fatal(err)
	}
	n.signer = nodeauth.NewSigner(n.priv, reg.Node, reg.Boot)
}

// boot is ipxe + register.
func (n *testNode) boot() *testNode {
	n.ipxe()
	n.register()
	return n
}

// req is a request signed by the node from its address (TLS when tlsOn).
func (n *testNode) req(method, path, body string, tlsOn bool) *http.Request {
	r := httptest.NewRequest(method, path, bytes.NewReader([]byte(body)))
	r.RemoteAddr = net.JoinHostPort(n.addr, "40001")
	if n.root {
		r = asRoot(r)
		r.RemoteAddr = "@"
	}
	if tlsOn {
		r.TLS = &tls.ConnectionState{Version: tls.VersionTLS13, HandshakeComplete: true}
	}
	if n.signer != nil {
		n.signer.Sign(r, []byte(body))
	}
	return r
}

// leaseFor is a dynamic lease of mac on the lab network.
func leaseFor(t testing.TB, mac, addr string) []state.Lease {
	return []state.Lease{{MAC: mac, IP: netip.MustParseAddr(addr), Network: "lab", Expires: time.Now().Add(time.Hour)}}
}
