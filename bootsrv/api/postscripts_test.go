package api

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/manifest"
)

// TestPostscripts: a node's postscripts are its image profile's (from the
// image record) and its postscripts attribute's (DATA/postscripts), by
// name; the booted OS reads them as text with the node's keys; bootsrv
// serves its scripts and nothing outside DATA/postscripts.
func TestPostscripts(t *testing.T) {
	e := newEnv(t)
	data := filepath.Join(e.dir, "data")
	imgs := filepath.Join(data, "images")
	os.MkdirAll(imgs, 0o755)
	os.MkdirAll(filepath.Join(data, "postscripts"), 0o755)
	os.WriteFile(filepath.Join(imgs, "compute.squashfs"), []byte("hsqs"), 0o644)
	os.WriteFile(filepath.Join(imgs, "compute.json"), []byte(`{"name":"compute","format":"squashfs","size":4,"sha256":"`+
		strings.Repeat("ab", 32)+`","created":"2026-11-22T12:00:00Z","profile":{"name":"compute","chain":["base","compute"],"suite":"bookworm","mirror":"http://m","postscripts":["10-compute.sh","30-late.sh"]}}`), 0o644)
	os.WriteFile(filepath.Join(data, "postscripts", "20-group.sh"), []byte("echo group\n"), 0o644)
	e.mustDo("PATCH", "/api/v1/nodes/cn001", map[string]any{"fields": map[string]any{"image": "compute", "postscripts": []string{"20-group.sh", "30-late.sh"}}}, 200, nil)

	var m manifest.Manifest
	e.mustDo("GET", "/manifest/cn001", nil, 200, &m)
	var got []string
	for _, p := range m.Postscripts {
		got = append(got, p.Name+" "+p.From+" "+p.Path)
	}
	want := []string{
		"10-compute.sh image /usr/lib/dt/postscripts/10-compute.sh",
		"20-group.sh server /postscripts/20-group.sh",
		"30-late.sh server /postscripts/30-late.sh",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("manifest postscripts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(m.Problems) != 1 || !strings.Contains(m.Problems[0], "postscript 30-late.sh of node cn001: not in bootsrv's DATA/postscripts") {
		t.Errorf("problems = %q", m.Problems)
	}
	text := e.mustDo("GET", "/manifest/cn001/postscripts", nil, 200, nil)
	if !strings.HasPrefix(text, "key ssh-") || !strings.Contains(text, "\nscript 10-compute.sh /usr/lib/dt/postscripts/10-compute.sh\nscript 20-group.sh /postscripts/20-group.sh\n") {
		t.Errorf("GET /manifest/cn001/postscripts:\n%s", text)
	}
	if body := e.mustDo("GET", "/postscripts/20-group.sh", nil, 200, nil); body != "echo group\n" {
		t.Errorf("GET /postscripts/20-group.sh = %q", body)
	}
	for _, p := range []string{"/postscripts/30-late.sh", "/postscripts/..%2fcluster.yaml", "/postscripts/.hidden", "/manifest/nope/postscripts"} {
		if code, _ := e.do("GET", p, nil); code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, code)
		}
	}
	if code, body := e.do("PATCH", "/api/v1/nodes/cn001", map[string]any{"fields": map[string]any{"postscripts": []string{"../x"}}}); code != 400 || !strings.Contains(body, "postscript") {
		t.Errorf("postscripts=[../x]: %d %s", code, body)
	}
}

func TestProfileParam(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"name":"a","chain":["a"],"suite":"s","mirror":"m","postscripts":["10-a.sh"]}`, ""},
		{`{"name":"a","bogus":1}`, "unknown field"},
		{`{"name":"a","postscripts":["../x"]}`, "invalid name"},
		{`{`, "profile"},
	} {
		_, err := profileParam(tc.in)
		if (err == nil) != (tc.want == "") || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("profileParam(%s) = %v, want %q", tc.in, err, tc.want)
		}
	}
}
