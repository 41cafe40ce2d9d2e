package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/bootsrv/inventory"
	"github.com/disklesstrap/disklesstrap/bootsrv/state"
	"github.com/disklesstrap/disklesstrap/internal/golden"
)

// testBase is the base URL handlers are configured with in tests.
const testBase = "http://198.18.0.1:8080"

var testNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

type testEnv struct {
	t       testing.TB
	dir     string
	invPath string
	cluster *atomic.Pointer[inventory.Cluster]
	store   *state.Store
	srv     *httptest.Server
	api     *API
}

// newEnv copies testdata/cluster.yaml into a temp dir and serves an API
// over it with a fresh state store and boot files.
func newEnv(t testing.TB) *testEnv {
	t.Helper()
	dir := t.TempDir()
	data, err := os.ReadFile("testdata/cluster.yaml")
	if err != nil {
		t.Fatal(err)
	}
	invPath := filepath.Join(dir, "cluster.yaml")
	if err := os.WriteFile(invPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := inventory.Load(invPath)
	if err != nil {
		t.Fatalf("inventory.Load(%s): %v", invPath, err)
	}
	ptr := &atomic.Pointer[inventory.Cluster]{}
	ptr.Store(c)
	st, err := state.Open(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	dataDir := filepath.Join(dir, "data")
	for name, content := range map[string]string{
		"boot/vmlinuz":       "KERNEL-0123456789",
		"boot/trap.cpio.gz":  "INITRD",
		"boot/sub/file.txt":  "nested",
		"tftp/undionly.kpxe": "IPXE",
	} {
		p := filepath.Join(dataDir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "secret"), []byte("SECRET"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "secret"), filepath.Join(dataDir, "boot", "escape")); err != nil {
		t.Fatal(err)
	}
	a := New(Config{
		Cluster:       ptr,
		InventoryPath: invPath,
		Store:         st,
		DataDir:       dataDir,
		BaseURL:       func(*http.Request) string { return testBase },
		Now:           func() time.Time { return testNow },
		NodeAuthOff:   true, // handler tests; nodeauth_test.go tests it on
	})
	srv := adminServer(a)
	t.Cleanup(srv.Close)
	return &testEnv{t: t, dir: dir, invPath: invPath, cluster: ptr, store: st, srv: srv, api: a}
}

// asRoot marks r as coming from root on the admin socket.
func asRoot(r *http.Request) *http.Request {
	return r.WithContext(WithLocalPeer(r.Context(), LocalPeer{UID: 0, PID: 1}))
}

// adminServer serves h to callers who are all root on the admin socket
// (as bootsrv's admin socket server marks them; see adminauth_test.go for
// callers who are not).
func adminServer(h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
		return WithLocalPeer(ctx, LocalPeer{UID: 0, PID: 1})
	}
	srv.Start()
	return srv
}

// do sends a request and returns status and body.
func (e *testEnv) do(method, path string, body any, hdr ...string) (int, string) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// mustDo is do expecting status want; it decodes a JSON answer into out.
func (e *testEnv) mustDo(method, path string, body any, want int, out any) string {
	e.t.Helper()
	code, b := e.do(method, path, body)
	if code != want {
		e.t.Fatalf("%s %s = %d %s, want %d", method, path, code, b, want)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(b), out); err != nil {
			e.t.Fatalf("%s %s: decode %q: %v", method, path, b, err)
		}
	}
	return b
}

// golden compares got with testdata/NAME, rewriting it with -update.
// The temp dir is replaced by TMP so golden files are stable.
func (e *testEnv) golden(name, got string) {
	e.t.Helper()
	got = strings.ReplaceAll(got, e.dir, "TMP")
	golden.Check(e.t, filepath.Join("testdata", name), got)
}
