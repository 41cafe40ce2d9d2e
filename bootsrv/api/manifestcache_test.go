package api

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/bootsrv/inventory"
	"github.com/disklesstrap/disklesstrap/manifest"
)

// TestManifestCache: a cached manifest is byte for byte what encoding it
// afresh gives, with this request's Generated time, and a mode switch or
// an inventory change shows in the very next answer.
func TestManifestCache(t *testing.T) {
	e := newEnv(t)
	now := testNow
	e.api.cfg.Now = func() time.Time { return now }
	fresh := func(node string) string {
		t.Helper()
		c := e.cluster.Load()
		n, ok := c.Node(node)
		if !ok {
			t.Fatalf("no node %s", node)
		}
		req, _ := http.NewRequest("GET", "/manifest/"+node, nil)
		m, err := e.api.nodeManifest(req, c, n)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		rec := &bodyRecorder{h: http.Header{}, b: &b}
		if err := writeManifest(rec, m); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	for i := range 3 {
		now = testNow.Add(time.Duration(i) * 1500 * time.Millisecond)
		got := e.mustDo("GET", "/manifest/login1", nil, http.StatusOK, nil)
		if want := fresh("login1"); got != want {
			t.Fatalf("request %d: cached manifest\n%s\nwant\n%s", i, got, want)
		}
	}
	if _, ok := e.api.manifests.m[manifestKey{"login1", testBase}]; !ok {
		t.Fatal("login1's manifest was not cached")
	}
	e.mustDo("POST", "/api/v1/mode", map[string]any{"range": "login1", "mode": "service", "once": true}, http.StatusOK, nil)
	var m manifest.Manifest
	e.mustDo("GET", "/manifest/login1", nil, http.StatusOK, &m)
	if m.Mode != "service" || !m.Once {
		t.Fatalf("after a mode switch: mode %s once=%v, want service once", m.Mode, m.Once)
	}
	// A new inventory (reload, edit) is a new *Cluster.
	c, err := inventory.Load(e.invPath)
	if err != nil {
		t.Fatal(err)
	}
	e.cluster.Store(c)
	if got, want := e.mustDo("GET", "/manifest/login1", nil, http.StatusOK, nil), fresh("login1"); got != want {
		t.Fatalf("after a reload: %s\nwant\n%s", got, want)
	}
	if e.api.manifests.m[manifestKey{"login1", testBase}].cluster != c {
		t.Error("the cache still holds the old inventory's manifest")
	}
	// A node with an image draws on the registry: never cached.
	e.mustDo("GET", "/manifest/cn001", nil, http.StatusOK, nil)
	if _, ok := e.api.manifests.m[manifestKey{"cn001", testBase}]; ok {
		t.Error("cn001 (image) was cached")
	}
}

type bodyRecorder struct {
	h http.Header
	b *strings.Builder
}

func (r *bodyRecorder) Header() http.Header         { return r.h }
func (r *bodyRecorder) WriteHeader(int)             {}
func (r *bodyRecorder) Write(p []byte) (int, error) { return r.b.Write(p) }
