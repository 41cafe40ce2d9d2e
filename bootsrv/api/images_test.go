package api

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	dtapi "github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/ramroot"
)

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// fakeImage passes the squashfs magic check.
func fakeImage(n int) string {
	return "hsqs" + strings.Repeat("squashfs-bytes.", n/15+1)[:n-4]
}

func (e *testEnv) imagesDir() string { return filepath.Join(e.dir, "data", "images") }

// dotFiles lists upload/record temp files left in the registry folder.
func (e *testEnv) dotFiles() []string {
	e.t.Helper()
	ents, err := os.ReadDir(e.imagesDir())
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, d := range ents {
		if strings.HasPrefix(d.Name(), ".") {
			out = append(out, d.Name())
		}
	}
	return out
}

func putPath(name, format, sum string, extra ...string) string {
	p := fmt.Sprintf("/api/v1/images/%s?format=%s&sha256=%s", name, format, sum)
	for _, x := range extra {
		p += "&" + x
	}
	return p
}

func TestImageUploadRejects(t *testing.T) {
	e := newEnv(t)
	img := fakeImage(4000)
	good := sha256Hex(img)
	wrong := sha256Hex("something else")
	e.mustDo("PUT", putPath("taken", "squashfs", good), img, 201, nil)
	for _, tc := range []struct {
		name, path, body string
		code             int
		want             []string
	}{
		{"sha256 mismatch", putPath("os", "squashfs", wrong), img, 400, []string{"image os", wrong, good}},
		{"format magic", putPath("os", "tar.zst", good), img, 400, []string{"image os", "declared format tar.zst", "not a zstd stream"}},
		{"bad name", putPath("OS", "squashfs", good), img, 400, []string{`image name "OS"`}},
		{"no format", "/api/v1/images/os?sha256=" + good, img, 400, []string{"format is required"}},
		{"no sha256", "/api/v1/images/os?format=squashfs", img, 400, []string{"sha256 is required"}},
		{"bad format", putPath("os", "iso", good), img, 400, []string{`format "iso"`}},
		{"bad sha256", putPath("os", "squashfs", "abc"), img, 400, []string{`sha256 "abc"`}},
		{"bad files", putPath("os", "squashfs", good, "files=-1"), img, 400, []string{"files"}},
		{"bad source", putPath("os", "squashfs", good, "source=a%0Ab"), img, 400, []string{"source"}},
		{"empty", putPath("os", "squashfs", sha256Hex("")), "", 400, []string{"empty upload"}},
		{"exists", putPath("taken", "squashfs", good), img, 409, []string{"image taken", "already", "replace=1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			code, body := e.do("PUT", tc.path, tc.body)
			if code != tc.code {
				t.Fatalf("PUT %s = %d %s, want %d", tc.path, code, body, tc.code)
			}
			var ae dtapi.Error
			if err := json.Unmarshal([]byte(body), &ae); err != nil {
				t.Fatalf("PUT %s answer %q: not an api.Error: %v", tc.path, body, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(ae.Error, w) {
					t.Errorf("PUT %s answer %s, want it to contain %q", tc.path, body, w)
				}
			}
			if l := e.dotFiles(); len(l) != 0 {
				t.Errorf("after a refused upload the registry holds %v", l)
			}
			if _, err := os.Stat(filepath.Join(e.imagesDir(), "os.json")); !os.IsNotExist(err) {
				t.Errorf("os.json after a refused upload: %v", err)
			}
		})
	}
}

func TestImageLifecycle(t *testing.T) {
	e := newEnv(t)
	img := fakeImage(100_000)
	sum := sha256Hex(img)
	var up dtapi.Image
	e.mustDo("PUT", putPath("os-1.0", "squashfs", sum, "files=12", "source=test%20tree"), img, 201, &up)
	if up.Name != "os-1.0" || up.Size != int64(len(img)) || up.SHA256 != sum || up.Files != 12 || up.Source != "test tree" ||
		up.URL != testBase+"/images/os-1.0" || up.Created.IsZero() {
		t.Errorf("PUT answer = %+v", up)
	}
	// Replace keeps the name, new bytes.
	img2 := fakeImage(50_000)
	e.mustDo("PUT", putPath("os-1.0", "squashfs", sha256Hex(img2), "replace=1"), img2, 201, &up)
	if up.Size != 50_000 {
		t.Errorf("replaced image size = %d, want 50000", up.Size)
	}
	img, sum = img2, sha256Hex(img2)

	// The file, whole and by range.
	code, body := e.do("GET", "/images/os-1.0", nil)
	if code != 200 || sha256Hex(body) != sum {
		t.Fatalf("GET /images/os-1.0 = %d, sha256 %s, want 200 and %s", code, sha256Hex(body), sum)
	}
	code, body = e.do("GET", "/images/os-1.0", nil, "Range", "bytes=4-18")
	if code != 206 || body != img[4:19] {
		t.Errorf("GET /images/os-1.0 Range bytes=4-18 = %d %q, want 206 %q", code, body, img[4:19])
	}
	for _, p := range []string{"/images/nope", "/images/..%2fcluster.yaml", "/images/os-1.0.json", "/images/.upload-x"} {
		if code, body := e.do("GET", p, nil); code != 404 {
			t.Errorf("GET %s = %d %s, want 404", p, code, body)
		}
	}

	// In use: listed with its users, delete refused, then forced.
	e.mustDo("PATCH", "/api/v1/nodes/cn[001-002]", map[string]any{"fields": map[string]any{"image": "os-1.0"}}, 200, nil)
	var list []dtapi.Image
	e.mustDo("GET", "/api/v1/images", nil, 200, &list)
	if len(list) != 1 || list[0].Name != "os-1.0" || list[0].UsedBy != "cn[001-002]" {
		t.Errorf("GET /api/v1/images = %+v, want os-1.0 used by cn[001-002]", list)
	}
	var one dtapi.Image
	e.mustDo("GET", "/api/v1/images/os-1.0", nil, 200, &one)
	if one.SHA256 != sum || one.UsedBy != "cn[001-002]" {
		t.Errorf("GET /api/v1/images/os-1.0 = %+v", one)
	}
	code, body = e.do("DELETE", "/api/v1/images/os-1.0", nil)
	if code != 409 || !strings.Contains(body, "nodes cn[001-002]") || !strings.Contains(body, "force") {
		t.Errorf("DELETE in-use image = %d %s, want 409 naming nodes cn[001-002]", code, body)
	}
	e.mustDo("DELETE", "/api/v1/images/os-1.0?force=1", nil, 200, &one)
	if code, body := e.do("GET", "/api/v1/images/os-1.0", nil); code != 404 || !strings.Contains(body, "os-1.0") {
		t.Errorf("GET after delete = %d %s, want 404", code, body)
	}
	if code, _ := e.do("DELETE", "/api/v1/images/os-1.0", nil); code != 404 {
		t.Errorf("DELETE twice = %d, want 404", code)
	}
	if ents, _ := os.ReadDir(e.imagesDir()); len(ents) != 0 {
		t.Errorf("registry folder after delete has %d entries", len(ents))
	}
}

// TestImageUploadStreams: a large upload is not held in memory.
func TestImageUploadStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the 96 MiB upload")
	}
	e := newEnv(t)
	const size = 96 << 20
	h := sha256.New()
	io.Copy(h, newPattern(size))
	sum := hex.EncodeToString(h.Sum(nil))
	req, err := http.NewRequest("PUT", e.srv.URL+putPath("big", "squashfs", sum), newPattern(size))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = size
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	runtime.ReadMemStats(&after)
	if resp.StatusCode != 201 {
		t.Fatalf("PUT 96 MiB = %d %s", resp.StatusCode, b)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("a 96 MiB upload allocated %.1f MiB in client + server", float64(alloc)/(1<<20))
	if alloc > 16<<20 {
		t.Errorf("a 96 MiB upload allocated %d MiB, want < 16 MiB (streamed)", alloc>>20)
	}
}

// pattern is a deterministic reader of n bytes starting with "hsqs".
type pattern struct{ off, n int64 }

func newPattern(n int64) *pattern { return &pattern{n: n} }

func (p *pattern) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), p.n-p.off)]
	for i := range b {
		o := p.off + int64(i)
		if o < 4 {
			b[i] = "hsqs"[o]
		} else {
			b[i] = byte(o*31 + o>>9)
		}
	}
	p.off += int64(len(b))
	return len(b), nil
}

func TestRAMRootManifest(t *testing.T) {
	e := newEnv(t)
	img := fakeImage(5000)
	sum := sha256Hex(img)
	e.mustDo("PUT", putPath("os", "squashfs", sum), img, 201, nil)
	manifestOf := func(node string) *manifest.Manifest {
		t.Helper()
		body := e.mustDo("GET", "/manifest/"+node, nil, 200, nil)
		m, err := manifest.Decode([]byte(body))
		if err != nil {
			t.Fatalf("manifest %s: %v", node, err)
		}
		return m
	}
	set := func(rng string, fields map[string]any) {
		t.Helper()
		e.mustDo("PATCH", "/api/v1/nodes/"+rng, map[string]any{"fields": fields}, 200, nil)
	}

	// cn001 (inventory mode ramroot) without an image attribute.
	m := manifestOf("cn001")
	if m.Image != nil || len(m.Problems) != 1 || !strings.Contains(m.Problems[0], "node cn001's image attribute is not set") {
		t.Errorf("cn001 without image: Image %+v, Problems %q", m.Image, m.Problems)
	}
	if _, err := ramroot.Plan(m); err == nil {
		t.Errorf("ramroot.Plan(cn001 without image) succeeded")
	}
	// An image not in the registry.
	set("cn001", map[string]any{"image": "nope"})
	if m := manifestOf("cn001"); m.Image != nil || len(m.Problems) != 1 || !strings.Contains(m.Problems[0], "image nope of node cn001 is not in bootsrv's image registry") {
		t.Errorf("cn001 with unknown image: Image %+v, Problems %q", m.Image, m.Problems)
	}
	// A registered image: the agent's plan accepts the manifest.
	set("cn001", map[string]any{"image": "os"})
	m = manifestOf("cn001")
	want := manifest.Image{Name: "os", URL: testBase + "/images/os", SHA256: sum, Size: int64(len(img)), Format: "squashfs"}
	if m.Image == nil || *m.Image != want || len(m.Problems) != 0 || m.Zram != nil || m.Overlays != nil {
		t.Fatalf("cn001 manifest image %+v problems %q zram %v overlays %v, want %+v and defaults left to the agent", m.Image, m.Problems, m.Zram, m.Overlays, want)
	}
	if p, err := ramroot.Plan(m); err != nil || len(p) != len(ramroot.StepNames) {
		t.Errorf("ramroot.Plan(cn001) = %v, %v", p, err)
	}
	// zram and overlays attributes.
	set("cn001", map[string]any{"zram_size": "2G", "zram_algorithm": "zstd", "overlays": []string{"/", "/var", "/home"}})
	m = manifestOf("cn001")
	if len(m.Zram) != 1 || m.Zram[0].Size != "2G" || m.Zram[0].Algorithm != "zstd" || strings.Join(m.Overlays, " ") != "/ /var /home" {
		t.Errorf("cn001 zram %+v overlays %q, want 2G zstd and / /var /home", m.Zram, m.Overlays)
	}
	if _, err := ramroot.Plan(m); err != nil {
		t.Errorf("ramroot.Plan(cn001 with zram/overlays) = %v", err)
	}
	// The record is read on every manifest: a hand edit shows at once.
	rp := filepath.Join(e.imagesDir(), "os.json")
	b, err := os.ReadFile(rp)
	if err != nil {
		t.Fatal(err)
	}
	tampered := strings.Repeat("0", 64)
	if err := os.WriteFile(rp, []byte(strings.Replace(string(b), sum, tampered, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if m := manifestOf("cn001"); m.Image == nil || m.Image.SHA256 != tampered {
		t.Errorf("manifest after tampering with os.json: image %+v, want sha256 %s", m.Image, tampered)
	}
	// A broken record: stated, no image.
	os.WriteFile(rp, []byte("{"), 0o644)
	if m := manifestOf("cn001"); m.Image != nil || len(m.Problems) != 1 || !strings.Contains(m.Problems[0], "unreadable record") {
		t.Errorf("manifest with a broken record: image %+v problems %q", m.Image, m.Problems)
	}
	// Trapped with ramroot to continue to: the image is there for `trap continue`.
	set("cn002", map[string]any{"image": "os"})
	os.WriteFile(rp, b, 0o644)
	e.mustDo("POST", "/api/v1/mode", dtapi.ModeSet{Range: "cn002", Mode: "trap", Once: true}, 200, nil)
	if m := manifestOf("cn002"); m.Mode != "trap" || m.Continue != "ramroot" || m.Image == nil || m.Image.SHA256 != sum {
		t.Errorf("cn002 trapped: mode %s continue %s image %+v", m.Mode, m.Continue, m.Image)
	}
	// Other modes carry no stateless fields.
	if m := manifestOf("login1"); m.Image != nil || m.Problems != nil || m.Zram != nil {
		t.Errorf("login1 (local): image %+v problems %q zram %v", m.Image, m.Problems, m.Zram)
	}
}

func TestRAMRootInit(t *testing.T) {
	e := newEnv(t)
	set := func(node string, fields map[string]any) {
		t.Helper()
		e.mustDo("PATCH", "/api/v1/nodes/"+node, dtapi.NodeEdit{Fields: fields}, 200, nil)
	}
	set("cn001", map[string]any{"init": "/lib/systemd/systemd"})
	var m manifest.Manifest
	e.mustDo("GET", "/manifest/cn001", nil, 200, &m)
	if m.Init != "/lib/systemd/systemd" {
		t.Errorf("manifest init = %q, want /lib/systemd/systemd (the node's init attribute)", m.Init)
	}
	code, body := e.do("PATCH", "/api/v1/nodes/cn001", dtapi.NodeEdit{Fields: map[string]any{"init": "sbin/init"}})
	if code != 400 || !strings.Contains(body, "init") {
		t.Errorf("init=sbin/init: %d %s, want 400 naming init", code, body)
	}
}
