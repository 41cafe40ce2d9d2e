package iscsi

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/disklesstrap/disklesstrap/bootsrv/api"
	"github.com/disklesstrap/disklesstrap/bootsrv/inventory"
	"github.com/disklesstrap/disklesstrap/bootsrv/secrets"
	"github.com/disklesstrap/disklesstrap/bootsrv/state"
	"github.com/disklesstrap/disklesstrap/bootsrv/tlscert"
	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/nodeauth"
	"github.com/disklesstrap/disklesstrap/trap/bootclient"

	"github.com/disklesstrap/disklesstrap/internal/labreq"
)

// pullInventory puts node cn001 (mode iscsi, LUKS key "luks") at
// 127.0.0.11 on a loopback network served by 127.0.0.1, so a test can
// dial from the node's reserved address without a namespace.
const pullInventory = `networks:
  - name: lo
    subnet: 127.0.0.0/8
    server: 127.0.0.1
defaults:
  mode: trap
  kernel: vmlinuz
  initrd: trap.cpio.gz
nodes:
  - name: cn001
    mode: iscsi
    iscsi_portals: [127.0.0.1]
    iscsi_target: iqn.2026-11.lab:root
    luks_key: luks
    interfaces:
      - {name: net0, network: lo, mac: "52:54:00:00:00:01", ip: 127.0.0.11}
`

const pulledValue = "luks-VALUE-5c1e"

// pullEnv is bootsrv's real API handler served over TLS (with a tlscert
// certificate) and over plain HTTP, on loopback.
type pullEnv struct {
	certPEM  []byte
	pinFile  string
	tlsSrv   *httptest.Server
	plainSrv *httptest.Server
	// sign signs as cn001's agent: the boot key registered after its
	// iPXE script was served, from 127.0.0.11 and a privileged port.
	sign func(*http.Request, []byte)
}

// from dials from ip (any 127/8 address works on lo without setup).
func from(ip string) *net.Dialer {
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
}

func newPullEnv(t *testing.T) *pullEnv {
	t.Helper()
	dir := t.TempDir()
	invPath := filepath.Join(dir, "cluster.yaml")
	if err := os.WriteFile(invPath, []byte(pullInventory), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := inventory.Load(invPath)
	if err != nil {
		t.Fatalf("inventory.Load: %v", err)
	}
	ptr := &atomic.Pointer[inventory.Cluster]{}
	ptr.Store(c)
	st, err := state.Open(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sec, err := secrets.Open(filepath.Join(dir, "state", "secrets"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sec.Put("cn001", "luks", []byte(pulledValue+"\n")); err != nil {
		t.Fatal(err)
	}
	tlsDir := filepath.Join(dir, "state", "tls")
	certPEM, err := tlscert.Ensure(tlsDir, netip.MustParseAddr("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tlscert.Load(tlsDir)
	if err != nil {
		t.Fatal(err)
	}
	pinFile := filepath.Join(dir, "initramfs", "etc", "trap", "bootsrv.pem")
	if err := os.MkdirAll(filepath.Dir(pinFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pinFile, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}

	tlsSrv := httptest.NewUnstartedServer(nil) // listens already: its port goes into the config
	a := api.New(api.Config{
		Cluster: ptr, InventoryPath: invPath, Store: st, DataDir: filepath.Join(dir, "data"),
		Secrets: sec, SecretsPull: true,
		TLSPort: tlsSrv.Listener.Addr().(*net.TCPAddr).Port, TLSCert: certPEM,
	})
	tlsSrv.Config.Handler = a
	tlsSrv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // expected handshake failures
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	plainSrv := httptest.NewServer(a)
	t.Cleanup(plainSrv.Close)
	return &pullEnv{certPEM: certPEM, pinFile: pinFile, tlsSrv: tlsSrv, plainSrv: plainSrv, sign: bootAndRegister(t, plainSrv.URL)}
}

// bootAndRegister plays cn001's boot: bootsrv serves its iPXE script, then
// the agent's registration (bootclient.Registrar) from 127.0.0.11 and a
// privileged port (the test runs as root, like the lab).
func bootAndRegister(t *testing.T, server string) func(*http.Request, []byte) {
	t.Helper()
	labreq.Check(t, labreq.Root()) // binding a privileged source port
	resp, err := http.Get(server + "/ipxe?mac=52:54:00:00:00:01&platform=pcbios")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, priv, err := nodeauth.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	mac, _ := net.ParseMAC("52:54:00:00:00:01")
	g := &bootclient.Registrar{Local: net.ParseIP("127.0.0.11"), Attempts: 1}
	s, err := g.Register(context.Background(), server, "cn001", mac, priv)
	if err != nil {
		t.Fatalf("register cn001's boot key: %v", err)
	}
	return s.Sign
}

// nodeManifest fetches cn001's manifest from the plain listener, as the
// agent does at boot.
func (e *pullEnv) nodeManifest(t *testing.T) *manifest.Manifest {
	t.Helper()
	resp, err := http.Get(e.plainSrv.URL + "/manifest/cn001")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m, err := manifest.Decode(b)
	if err != nil {
		t.Fatalf("manifest.Decode(%s): %v", b, err)
	}
	return m
}

// otherCert is a self-signed certificate bootsrv does not have.
func otherCert(t *testing.T) []byte {
	t.Helper()
	p, err := tlscert.Ensure(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPullEndToEnd: the agent's fetch against bootsrv's real handler over
// loopback TLS. A wrong pin fails in the handshake (and releases nothing),
// the right one gets the secret once per boot, plain HTTP is refused on
// both sides.
func TestPullEndToEnd(t *testing.T) {
	e := newPullEnv(t)
	ctx := context.Background()
	m := e.nodeManifest(t)
	if want := e.tlsSrv.URL; m.SecretServer != want {
		t.Fatalf("manifest secret_server = %q, want the TLS listener %q", m.SecretServer, want)
	}

	steps := []struct {
		name    string
		puller  Puller
		want    string // value, or "" for an error
		wantErr string
		pinErr  bool // errors.Is(err, ErrPinMismatch)
	}{
		{"other certificate pinned", Puller{Server: m.SecretServer, Pinned: otherCert(t), Dialer: from("127.0.0.11")}, "", "pinned", true},
		{"garbage pin", Puller{Server: m.SecretServer, Pinned: []byte("junk"), Dialer: from("127.0.0.11")}, "", "no PEM CERTIFICATE block", false},
		{"plain http server", Puller{Server: e.plainSrv.URL, Pinned: e.certPEM, Dialer: from("127.0.0.11")}, "", "never travel over plain HTTP", false},
		{"unsigned", Puller{Server: m.SecretServer, Pinned: e.certPEM, Dialer: from("127.0.0.11")}, "", "not signed", false},
		{"from another address", Puller{Server: m.SecretServer, Pinned: e.certPEM, Dialer: from("127.0.0.12"), Sign: e.sign}, "", "not from the node's address", false},
		{"pull", Puller{Server: m.SecretServer, Pinned: e.certPEM, Dialer: from("127.0.0.11"), Sign: e.sign}, pulledValue, "", false},
		{"second pull in the same boot", Puller{Server: m.SecretServer, Pinned: e.certPEM, Dialer: from("127.0.0.11"), Sign: e.sign}, "", "already released to boot", false},
	}
	for _, s := range steps {
		got, err := s.puller.Pull(ctx, "cn001", "luks")
		t.Logf("%s: err = %v", s.name, err)
		switch {
		case s.want != "" && (err != nil || string(got) != s.want):
			t.Errorf("%s: Pull = %q, %v, want %q", s.name, got, err, s.want)
		case s.want == "" && (err == nil || !strings.Contains(err.Error(), s.wantErr)):
			t.Errorf("%s: Pull = %q, %v, want an error containing %q", s.name, got, err, s.wantErr)
		case s.pinErr && !errors.Is(err, ErrPinMismatch):
			t.Errorf("%s: Pull error %v is not ErrPinMismatch", s.name, err)
		}
		if err != nil && strings.Contains(err.Error(), "VALUE") {
			t.Errorf("%s: error reveals the secret: %v", s.name, err)
		}
	}

	// bootsrv's side of plain HTTP: the route refuses even from the node.
	hc := &http.Client{Transport: &http.Transport{DialContext: from("127.0.0.11").DialContext}}
	resp, err := hc.Get(e.plainSrv.URL + manifest.SecretPath("cn001", "luks"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var ae struct{ Error string }
	json.Unmarshal(b, &ae)
	if resp.StatusCode != 403 || !strings.Contains(ae.Error, "secret pull needs TLS: use https://") {
		t.Errorf("plain GET of the pull route = %d %s, want 403 naming the https URL", resp.StatusCode, b)
	}
}

// TestPullFromManifest: Real.Secret's checks before any network traffic,
// and a full pull through the manifest and the pinned file.
func TestPullFromManifest(t *testing.T) {
	e := newPullEnv(t)
	ctx := context.Background()
	m := e.nodeManifest(t)
	noServer := *m
	noServer.SecretServer = ""
	cases := []struct {
		name    string
		m       *manifest.Manifest
		file    string
		wantErr string
	}{
		{"no manifest", nil, e.pinFile, "no manifest"},
		{"no secret server", &noServer, e.pinFile, "bootsrv offers no secret pull to node cn001"},
		{"no pinned cert", m, filepath.Join(t.TempDir(), "bootsrv.pem"), "no pinned bootsrv certificate in the initramfs"},
		{"pulls", m, e.pinFile, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := pullFromManifest(ctx, c.m, c.file, "luks", from("127.0.0.11"), e.sign)
			if c.wantErr == "" {
				if err != nil || string(got) != pulledValue {
					t.Errorf("pullFromManifest = %q, %v, want %q", got, err, pulledValue)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("pullFromManifest = %q, %v, want an error containing %q", got, err, c.wantErr)
			}
		})
	}
}

// TestPullRefusesRedirectsAndOldTLS: a server with the pinned certificate
// that redirects (to plain HTTP) or speaks only TLS 1.2 gets nothing.
func TestPullRefusesRedirectsAndOldTLS(t *testing.T) {
	dir := t.TempDir()
	pemText, err := tlscert.Ensure(dir)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tlscert.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		handler http.HandlerFunc
		maxTLS  uint16
		wantErr string
	}{
		{"redirect to http", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://127.0.0.1:1/x", http.StatusFound)
		}, 0, "redirected"},
		{"tls 1.2 only", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "x") }, tls.VersionTLS12, "protocol version"},
		{"refusal", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(403)
			io.WriteString(w, `{"error":"secret luks of node cn001: nope"}`)
		}, 0, "403 Forbidden: secret luks of node cn001: nope"},
		{"too large", func(w http.ResponseWriter, r *http.Request) { w.Write(make([]byte, maxPulledSecret+1)) }, 0, "larger than"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewUnstartedServer(c.handler)
			srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MaxVersion: c.maxTLS}
			srv.Config.ErrorLog = log.New(io.Discard, "", 0)
			srv.StartTLS()
			defer srv.Close()
			p := &Puller{Server: srv.URL, Pinned: pemText}
			got, err := p.Pull(context.Background(), "cn001", "luks")
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("Pull = %q, %v, want an error containing %q", got, err, c.wantErr)
			}
		})
	}
}

// FuzzPinnedTLSConfig: no pinned file content panics the parser.
func FuzzPinnedTLSConfig(f *testing.F) {
	good, err := tlscert.Ensure(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(""))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := PinnedTLSConfig(b)
		if err == nil && (c == nil || c.VerifyConnection == nil || c.MinVersion != tls.VersionTLS13) {
			t.Fatalf("PinnedTLSConfig(%q) = %+v without a pin check or TLS 1.3", b, c)
		}
	})
}
