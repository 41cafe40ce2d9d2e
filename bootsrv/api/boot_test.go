package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/api"
)

func TestScripts(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		path, golden string
	}{
		{"/boot.ipxe", "boot.ipxe.golden"},
		{"/ipxe?mac=52:54:00:00:00:01&platform=pcbios", "cn001-pcbios.ipxe.golden"},
		{"/ipxe?mac=52-54-00-00-00-02&platform=efi", "cn002-efi.ipxe.golden"},
		{"/ipxe?mac=52:54:00:00:01:01&platform=pcbios", "login1-local.ipxe.golden"},
		{"/ipxe?mac=52:54:00:aa:bb:cc&platform=pcbios", "unknown-discovery.ipxe.golden"},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			e.t = t
			e.golden(tc.golden, e.mustDo("GET", tc.path, nil, http.StatusOK, nil))
		})
	}
}

func TestScriptRecordsBoot(t *testing.T) {
	e := newEnv(t)
	e.mustDo("GET", "/ipxe?mac=52:54:00:00:00:03&platform=pcbios", nil, 200, nil)
	var st []api.Status
	e.mustDo("GET", "/api/v1/status?range=cn003", nil, 200, &st)
	if len(st) != 1 || st[0].Phase != PhaseIPXE || st[0].LastSeen.IsZero() {
		t.Errorf("status after script = %+v, want phase %s and last seen", st, PhaseIPXE)
	}
	// An unknown MAC becomes a discovered node, visible in status.
	e.mustDo("GET", "/ipxe?mac=52:54:00:aa:bb:cc", nil, 200, nil)
	e.mustDo("GET", "/api/v1/status", nil, 200, &st)
	last := st[len(st)-1]
	if last.Node != "mac-525400aabbcc" || last.Mode != "discovery" || last.Phase != PhaseIPXE {
		t.Errorf("last status row = %+v, want the discovered mac-525400aabbcc", last)
	}
}

func TestBootFiles(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, path string
		hdr        []string
		code       int
		body       string
	}{
		{"kernel", "/boot/vmlinuz", nil, 200, "KERNEL-0123456789"},
		{"range", "/boot/vmlinuz", []string{"Range", "bytes=7-10"}, 206, "0123"},
		{"nested", "/boot/sub/file.txt", nil, 200, "nested"},
		{"missing", "/boot/nope", nil, 404, ""},
		{"dir", "/boot/sub/", nil, 404, ""},
		{"dir no slash", "/boot/sub", nil, 404, ""},
		{"root", "/boot/", nil, 404, ""},
		{"dotdot", "/boot/..%2f..%2fsecret", nil, 404, ""},
		{"symlink out", "/boot/escape", nil, 404, ""},
		{"tftp not served", "/tftp/undionly.kpxe", nil, 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			code, body := e.do("GET", tc.path, nil, tc.hdr...)
			if code != tc.code {
				t.Fatalf("GET %s = %d %q, want %d", tc.path, code, body, tc.code)
			}
			if tc.body != "" && body != tc.body {
				t.Errorf("GET %s body = %q, want %q", tc.path, body, tc.body)
			}
			if strings.Contains(body, "SECRET") || strings.Contains(body, e.dir) {
				t.Errorf("GET %s leaked %q", tc.path, body)
			}
		})
	}
}
