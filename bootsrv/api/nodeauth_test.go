package api

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/nodeauth"
)

// nodeAuthEnv is newEnv's inventory with node authentication on; logs go to
// the returned buffer.
func nodeAuthEnv(t testing.TB) (*testEnv, *API, *bytes.Buffer) {
	e := newEnv(t)
	var logs bytes.Buffer
	a := New(Config{
		Cluster: e.cluster, InventoryPath: e.invPath, Store: e.store, DataDir: filepath.Join(e.dir, "data"),
		BaseURL: func(*http.Request) string { return testBase }, Now: func() time.Time { return testNow },
		Logger: slog.New(slog.NewTextHandler(&logs, nil)), SecretsPull: true, TLSPort: 8443,
	})
	return e, a, &logs
}

func event(node, phase string, data map[string]string) string {
	b, _ := json.Marshal(map[string]any{"node": node, "phase": phase, "data": data})
	return string(b)
}

// TestRegister: every refusal of POST /api/v1/boot/register, then the
// accepted registration and its replacement rules.
func TestRegister(t *testing.T) {
	_, a, logs := nodeAuthEnv(t)
	cn1 := newTestNode(t, a, "cn001", "52:54:00:00:00:01", "198.18.0.11")
	edit := func(f func(n *testNode, r *http.Request) *http.Request) func() *http.Request {
		return func() *http.Request { return f(cn1, cn1.registerReq("700")) }
	}
	body := func(s string) func() *http.Request {
		return func() *http.Request {
			r := cn1.registerReq("700")
			r2, _ := http.NewRequest("POST", nodeauth.RegisterPath, strings.NewReader(s))
			r2.RemoteAddr, r2.Header = r.RemoteAddr, r.Header
			return r2
		}
	}
	steps := []struct {
		name string
		req  func() *http.Request
		code int
		want string
	}{
		{"not json", body("{"), 400, "request body"},
		{"unknown field", body(`{"mac":"52:54:00:00:00:01","key":"","extra":1}`), 400, "unknown field"},
		{"bad mac", body(`{"mac":"nope","key":""}`), 400, "field mac"},
		{"short key", body(`{"mac":"52:54:00:00:00:01","key":"AAAA"}`), 400, "32-byte ed25519"},
		{"unsigned", edit(func(n *testNode, r *http.Request) *http.Request { r.Header.Del(nodeauth.HeaderSignature); return r }), 401, "not signed"},
		{"signed by another key", edit(func(n *testNode, r *http.Request) *http.Request {
			_, other, _ := nodeauth.NewKey()
			b, _ := json.Marshal(nodeauth.Registration{Node: "cn001", MAC: n.mac, Key: n.pub})
			r2, _ := http.NewRequest("POST", nodeauth.RegisterPath, bytes.NewReader(b))
			r2.RemoteAddr = r.RemoteAddr
			nodeauth.NewSigner(other, "cn001", nodeauth.RegisterBoot).Sign(r2, b)
			return r2
		}), 401, "bad signature"},
		{"signed as another node", edit(func(n *testNode, r *http.Request) *http.Request {
			b, _ := json.Marshal(nodeauth.Registration{Node: "cn001", MAC: n.mac, Key: n.pub})
			r2, _ := http.NewRequest("POST", nodeauth.RegisterPath, bytes.NewReader(b))
			r2.RemoteAddr = r.RemoteAddr
			nodeauth.NewSigner(n.priv, "cn002", nodeauth.RegisterBoot).Sign(r2, b)
			return r2
		}), 401, `signed as node \"cn002\"`},
		{"unprivileged port", func() *http.Request { return cn1.registerReq("40000") }, 403, "source port 40000 is not privileged"},
		{"name and mac disagree", func() *http.Request {
			n := newTestNode(t, a, "cn001", "52:54:00:00:00:02", "198.18.0.11")
			return n.registerReq("700")
		}, 403, "no inventory node cn001 with MAC 52:54:00:00:00:02"},
		{"unknown node", func() *http.Request {
			return newTestNode(t, a, "cn999", "52:54:00:00:09:99", "198.18.0.11").registerReq("700")
		}, 403, "no inventory node cn999"},
		{"unknown mac never booted", func() *http.Request {
			return newTestNode(t, a, "", "52:54:00:00:09:99", "198.18.0.201").registerReq("700")
		}, 403, "neither in the inventory nor seen booting"},
		{"wrong address", func() *http.Request { n := *cn1; n.addr = "198.18.0.12"; return n.registerReq("700") }, 403, "not from the node's address 198.18.0.11"},
		{"no open boot (never booted)", func() *http.Request { return cn1.registerReq("700") }, 409, "no open boot"},
	}
	for _, s := range steps {
		if code, got := serve(a, s.req()); code != s.code || !strings.Contains(got, s.want) {
			t.Errorf("%s: register = %d %s, want %d containing %q", s.name, code, got, s.code, s.want)
		}
	}
	cn1.ipxe()
	cn1.register()
	first := cn1.signer.Boot()
	cn1.register() // the same key again in the same boot: the same answer
	if cn1.signer.Boot() != first {
		t.Errorf("re-registering the same key gave boot %s, want %s", cn1.signer.Boot(), first)
	}
	thief := newTestNode(t, a, "cn001", "52:54:00:00:00:01", "198.18.0.11")
	if code, got := serve(a, thief.registerReq("701")); code != 409 {
		t.Errorf("a second key in the same boot = %d %s, want 409 (no open boot)", code, got)
	}
	cn1.ipxe()
	cn1.newKey()
	cn1.register()
	if cn1.signer.Boot() == first {
		t.Errorf("the next boot kept boot id %s", first)
	}
	if !strings.Contains(logs.String(), "boot registration refused") {
		t.Errorf("refusals are not logged:\n%s", logs.String())
	}
	// Unknown node in discovery: its lease is its address; its events
	// are accepted from there, and refused once it has no lease.
	mac := "52:54:00:00:0a:01"
	if err := a.cfg.Store.PutLeases(leaseFor(t, mac, "198.18.0.201")); err != nil {
		t.Fatal(err)
	}
	disc := newTestNode(t, a, "", mac, "198.18.0.201")
	disc.ipxe()
	disc.register()
	if disc.signer.Node() != "mac-525400000a01" {
		t.Errorf("discovery registration named %s", disc.signer.Node())
	}
	ev := `{"mac":"` + mac + `","phase":"discovered","data":{"inventory":"{}"}}`
	if code, got := serve(a, disc.req("POST", "/api/v1/events", ev, false)); code != 204 {
		t.Errorf("discovery node's event = %d %s", code, got)
	}
	if err := a.cfg.Store.DeleteLease(mac); err != nil {
		t.Fatal(err)
	}
	if code, got := serve(a, disc.req("POST", "/api/v1/events", ev, false)); code != 403 || !strings.Contains(got, "no reserved address and no lease") {
		t.Errorf("event of a discovery node without a lease = %d %s, want 403", code, got)
	}
}

// TestRequireNode: every refusal of a node route, and the accepted ones.
func TestRequireNode(t *testing.T) {
	e, a, logs := nodeAuthEnv(t)
	cn1 := newTestNode(t, a, "cn001", "52:54:00:00:00:01", "198.18.0.11").boot()
	cn2 := newTestNode(t, a, "cn002", "52:54:00:00:00:02", "198.18.0.12").boot()
	ok := event("cn001", "progress", nil)
	replayed := cn1.req("POST", "/api/v1/events", ok, false)
	if code, got := serve(a, replayed); code != 204 {
		t.Fatalf("signed event = %d %s", code, got)
	}
	stale := cn1.req("POST", "/api/v1/events", ok, false)
	for range 70 {
		serve(a, cn1.req("POST", "/api/v1/events", ok, false))
	}
	oldBoot := cn1.req("POST", "/api/v1/events", ok, false)
	tamper := func(f func(r *http.Request)) func() *http.Request {
		return func() *http.Request { r := cn1.req("POST", "/api/v1/events", ok, false); f(r); return r }
	}
	steps := []struct {
		name string
		req  func() *http.Request
		code int
		want string
	}{
		{"unsigned", func() *http.Request {
			r := cn1.req("POST", "/api/v1/events", ok, false)
			r.Header = http.Header{}
			return r
		}, 401, "not signed"},
		{"bad signature header", tamper(func(r *http.Request) { r.Header.Set(nodeauth.HeaderSignature, "x") }), 401, "not a base64 ed25519 signature"},
		{"node with no boot key", tamper(func(r *http.Request) { r.Header.Set(nodeauth.HeaderNode, "cn003") }), 401, "node cn003 has no registered boot key"},
		{"another node's name", tamper(func(r *http.Request) { r.Header.Set(nodeauth.HeaderNode, "cn002") }), 403, "request for node cn002 from 198.18.0.11"},
		{"wrong boot", tamper(func(r *http.Request) { r.Header.Set(nodeauth.HeaderBoot, "1-0000") }), 401, "is not node cn001's current boot"},
		{"forged body", tamper(func(r *http.Request) {
			r.Body = http.NoBody
			r.ContentLength = 0
		}), 401, "bad signature"},
		{"wrong address", tamper(func(r *http.Request) { r.RemoteAddr = "198.18.0.99:40000" }), 403, "not from the node's address"},
		{"replay", func() *http.Request {
			r := cn1.req("POST", "/api/v1/events", ok, false)
			r.Header = replayed.Header.Clone()
			return r
		}, 401, "replayed"},
		{"too old", func() *http.Request {
			r := cn1.req("POST", "/api/v1/events", ok, false)
			r.Header = stale.Header.Clone()
			return r
		}, 401, "replayed or too old"},
		{"event for another node", func() *http.Request { return cn1.req("POST", "/api/v1/events", event("cn002", "progress", nil), false) }, 403, "event 0 is for node cn002"},
		{"event for another node by MAC", func() *http.Request {
			return cn1.req("POST", "/api/v1/events", `[{"node":"cn001","phase":"a"},{"mac":"52:54:00:00:00:02","phase":"b"}]`, false)
		}, 403, "event 1 is for node cn002"},
		{"host key that is no key", func() *http.Request {
			return cn1.req("POST", "/api/v1/events", event("cn001", "ssh-hostkey", map[string]string{"key": "ssh-ed25519 notakey"}), false)
		}, 400, "not one SSH public key"},
		{"address that is not the node's", func() *http.Request {
			return cn1.req("POST", "/api/v1/events", event("cn001", "net-up", map[string]string{"address": "198.18.0.66/24"}), false)
		}, 403, "data.address 198.18.0.66 is not the node's address"},
		{"address that is no address", func() *http.Request {
			return cn1.req("POST", "/api/v1/events", event("cn001", "net-up", map[string]string{"address": "here"}), false)
		}, 400, "is not an address"},
		{"OS token on a secret pull", func() *http.Request {
			r := cn1.req("GET", "/api/v1/secrets/cn001/luks", "", true)
			r.Header = http.Header{nodeauth.HeaderNode: {"cn001"}, nodeauth.HeaderOSToken: {"tok"}}
			return r
		}, 401, "accepted for events only"},
		{"OS token not registered", func() *http.Request {
			r := cn1.req("POST", "/api/v1/events", ok, false)
			r.Header = http.Header{nodeauth.HeaderNode: {"cn001"}, nodeauth.HeaderOSToken: {"tok"}}
			return r
		}, 401, "not the token registered"},
		{"OS token without node", func() *http.Request {
			r := cn1.req("POST", "/api/v1/events", ok, false)
			r.Header = http.Header{nodeauth.HeaderOSToken: {"tok"}}
			return r
		}, 401, "without a Dt-Node header"},
		{"os-token route with a bad hash", func() *http.Request { return cn1.req("POST", nodeauth.OSTokenPath, `{"sha256":"abc"}`, false) }, 400, "64 hex digits"},
	}
	for _, s := range steps {
		if code, got := serve(a, s.req()); code != s.code || !strings.Contains(got, s.want) {
			t.Errorf("%s = %d %s, want %d containing %q", s.name, code, got, s.code, s.want)
		}
	}
	// Accepted: a real host key and the node's own address; another node.
	key := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIINWH6AJ49rJcWVbW2UEqp3hgnz9gl05UASfH2j75fvx cn001"
	for _, b := range []string{
		event("cn001", "ssh-hostkey", map[string]string{"key": key}),
		event("cn001", "net-up", map[string]string{"address": "198.18.0.11/24"}),
	} {
		if code, got := serve(a, cn1.req("POST", "/api/v1/events", b, false)); code != 204 {
			t.Errorf("event %s = %d %s", b, code, got)
		}
	}
	if code, got := serve(a, cn2.req("POST", "/api/v1/events", event("cn002", "progress", nil), false)); code != 204 {
		t.Errorf("cn002's own event = %d %s", code, got)
	}
	// The booted OS's token: registered by the agent, sent by the OS.
	tok, _ := nodeauth.NewToken()
	if code, got := serve(a, cn1.req("POST", nodeauth.OSTokenPath, `{"sha256":"`+nodeauth.TokenHash(tok)+`"}`, false)); code != 204 {
		t.Fatalf("register OS token = %d %s", code, got)
	}
	osEvent := func(node, from, token string) (int, string) {
		r := cn1.req("POST", "/api/v1/events", event(node, "os-booted", nil), false)
		r.Header = http.Header{nodeauth.HeaderNode: {node}, nodeauth.HeaderOSToken: {token}}
		r.RemoteAddr = from + ":5000"
		return serve(a, r)
	}
	if code, got := osEvent("cn001", "198.18.0.11", tok); code != 204 {
		t.Errorf("OS event with the token = %d %s", code, got)
	}
	if code, got := osEvent("cn001", "198.18.0.12", tok); code != 403 {
		t.Errorf("OS token from another address = %d %s, want 403", code, got)
	}
	if code, got := osEvent("cn002", "198.18.0.11", tok); code != 401 {
		t.Errorf("cn001's OS token for cn002 = %d %s, want 401", code, got)
	}
	// A new boot's key invalidates the old boot's requests and token.
	cn1.ipxe()
	cn1.newKey()
	cn1.register()
	if code, got := serve(a, oldBoot); code != 401 {
		t.Errorf("request of the previous boot = %d %s, want 401", code, got)
	}
	if code, got := osEvent("cn001", "198.18.0.11", tok); code != 401 {
		t.Errorf("previous boot's OS token = %d %s, want 401", code, got)
	}
	if !strings.Contains(logs.String(), "node request refused") {
		t.Errorf("refusals are not logged")
	}
	st, err := e.store.Status([]string{"cn001", "cn002"})
	if err != nil {
		t.Fatal(err)
	}
	if st["cn001"].HostKey != key[:len(key)-len(" cn001")] || st["cn001"].Address != "198.18.0.11/24" {
		t.Errorf("cn001 status = %+v", st["cn001"])
	}
}

// TestTrackerAuth: a node's announce needs its boot's announce key and
// its address; bootsrv's own seeder announces without one.
func TestTrackerAuth(t *testing.T) {
	_, a, logs := nodeAuthEnv(t)
	cn1 := newTestNode(t, a, "cn001", "52:54:00:00:00:01", "198.18.0.11").boot()
	cn2 := newTestNode(t, a, "cn002", "52:54:00:00:00:02", "198.18.0.12").boot()
	passed := 0
	h := a.trackerAuth(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { passed++ }))
	announce := func(from, query string) string {
		r := cn1.req("GET", "/announce?info_hash=x&"+query, "", false)
		r.RemoteAddr = from + ":6881"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Body.String()
	}
	own, other := cn1.signer.AnnounceQuery(), cn2.signer.AnnounceQuery()
	steps := []struct {
		name, from, query, want string // want: "" = admitted, else in the failure
	}{
		{"node with its key", "198.18.0.11", own, ""},
		{"bootsrv's seeder (server address)", "198.18.0.1", "", ""},
		{"bootsrv's seeder (loopback)", "127.0.0.1", "", ""},
		{"node without a key", "198.18.0.11", "", "without a node's announce key"},
		{"another node's key from this address", "198.18.0.11", other, "not from the node's address"},
		{"key for another boot", "198.18.0.11", strings.Replace(own, "dt_boot=", "dt_boot=9", 1), "not valid for the node's current boot"},
		{"forged key", "198.18.0.11", own[:len(own)-4] + "AAAA", "not valid"},
		{"key from another address", "198.18.0.99", own, "not from the node's address"},
	}
	for _, s := range steps {
		before := passed
		got := announce(s.from, s.query)
		switch {
		case s.want == "" && passed != before+1:
			t.Errorf("%s: refused: %s", s.name, got)
		case s.want != "" && (passed != before || !strings.Contains(got, "failure reason") || !strings.Contains(got, s.want)):
			t.Errorf("%s: answer %q (admitted %v), want a failure containing %q", s.name, got, passed != before, s.want)
		}
	}
	if !strings.Contains(logs.String(), "announce refused") {
		t.Errorf("refused announces are not logged")
	}
}

// BenchmarkNodeAuth is the cost of checking one signed node request
// (signature, address, replay window): what node authentication adds to
// every event.
func BenchmarkNodeAuth(b *testing.B) {
	e := newEnv(b)
	a := New(Config{Cluster: e.cluster, InventoryPath: e.invPath, Store: e.store, DataDir: filepath.Join(e.dir, "data")})
	n := newTestNode(b, a, "cn001", "52:54:00:00:00:01", "198.18.0.11").boot()
	body := event("cn001", "progress", nil)
	reqs := make([]*http.Request, b.N)
	for i := range reqs {
		reqs[i] = n.req("POST", "/api/v1/events", body, false)
	}
	b.ResetTimer()
	for i := range b.N {
		if _, err := a.authNode(reqs[i], []byte(body), false); err != nil {
			b.Fatal(err)
		}
	}
}
