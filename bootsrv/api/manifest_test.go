package api

import (
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/bootsrv/state"
	"github.com/disklesstrap/disklesstrap/manifest"
)

func TestManifests(t *testing.T) {
	e := newEnv(t)
	if err := e.store.PutLease(state.Lease{MAC: "52:54:00:aa:bb:cd", IP: netip.MustParseAddr("198.18.0.201"),
		Network: "lab", Expires: testNow.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, golden string
	}{
		{"/manifest/cn001", "manifest-cn001.json.golden"},
		{"/manifest?mac=52:54:00:00:01:01", "manifest-login1.json.golden"},
		{"/manifest?mac=52:54:00:aa:bb:cc", "manifest-discovery.json.golden"},
		{"/manifest?mac=52:54:00:aa:bb:cd", "manifest-discovery-lease.json.golden"},
		{"/manifest/mac-525400aabbcc", "manifest-discovery.json.golden"}, // seen above
	} {
		t.Run(tc.golden, func(t *testing.T) {
			e.t = t
			body := e.mustDo("GET", tc.path, nil, http.StatusOK, nil)
			if _, err := manifest.Decode([]byte(body)); err != nil {
				t.Errorf("GET %s: manifest.Decode: %v", tc.path, err)
			}
			e.golden(tc.golden, body)
		})
	}
	e.t = t
	if code, body := e.do("GET", "/manifest/mac-525400999999", nil); code != 404 {
		t.Errorf("manifest of a never seen MAC name = %d %s, want 404", code, body)
	}
}

// TestOnceThroughHandlers: a --once mode is consumed by the boot's iPXE
// script, still shown by that boot's manifest, and gone at the next boot.
func TestOnceThroughHandlers(t *testing.T) {
	e := newEnv(t)
	manifestMode := func() (manifest.Mode, bool) {
		var m manifest.Manifest
		e.mustDo("GET", "/manifest/cn001", nil, 200, &m)
		return m.Mode, m.Once
	}
	e.mustDo("POST", "/api/v1/mode", map[string]any{"range": "cn[001-002]", "mode": "service", "once": true}, 200, nil)
	if m, once := manifestMode(); m != "service" || !once {
		t.Fatalf("manifest before boot = %s once=%v, want service once", m, once)
	}
	script := e.mustDo("GET", "/ipxe?mac=52:54:00:00:00:01&platform=pcbios", nil, 200, nil)
	if m, once := manifestMode(); m != "service" || !once {
		t.Fatalf("manifest in the boot that consumed it = %s once=%v, want service once\nscript:\n%s", m, once, script)
	}
	e.mustDo("GET", "/ipxe?mac=52:54:00:00:00:01&platform=pcbios", nil, 200, nil)
	if m, once := manifestMode(); m != "ramroot" || once {
		t.Fatalf("manifest at the next boot = %s once=%v, want inventory mode ramroot", m, once)
	}
	// cn002 did not boot: still pending.
	var m manifest.Manifest
	e.mustDo("GET", "/manifest/cn002", nil, 200, &m)
	if m.Mode != "service" || !m.Once {
		t.Errorf("cn002 manifest = %s once=%v, want service once (not booted yet)", m.Mode, m.Once)
	}
}
