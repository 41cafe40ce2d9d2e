package api

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	dtapi "github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/bootsrv/inventory"
	"github.com/disklesstrap/disklesstrap/imagepack"
	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/statelite"
)

const liteRules = `litefile:
  - path: /etc/motd
  - path: /root/
    option: persistent
  - path: /etc/motd
    option: ro
    image: os
litetree:
  - source: "198.18.0.1:/lite/{node}"
`

// TestStateliteManifest: the statelite section of a statelite node's
// manifest (registry image, then NFS root), the problems of a node
// without a usable image, and GET /api/v1/images/{name}/litefile.
func TestStateliteManifest(t *testing.T) {
	e := newEnv(t)
	data, err := os.ReadFile(e.invPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.invPath, append(data, liteRules...), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := inventory.Load(e.invPath)
	if err != nil {
		t.Fatal(err)
	}
	e.cluster.Store(c)
	img := fakeImage(4096)
	e.mustDo("PUT", putPath("os", "squashfs", sha256Hex(img)), img, 201, nil)
	manifestOf := func(node string) *manifest.Manifest {
		t.Helper()
		m, err := manifest.Decode([]byte(e.mustDo("GET", "/manifest/"+node, nil, 200, nil)))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	set := func(fields map[string]any) {
		t.Helper()
		e.mustDo("PATCH", "/api/v1/nodes/cn002", map[string]any{"fields": fields}, 200, nil)
	}
	set(map[string]any{"mode": "statelite", "statelite": "198.18.0.1:/state"})
	if m := manifestOf("cn002"); m.Statelite != nil || len(m.Problems) != 1 || !strings.Contains(m.Problems[0], "mode statelite: no image: node cn002's image attribute is not set") {
		t.Errorf("no image: statelite %+v problems %q", m.Statelite, m.Problems)
	}
	set(map[string]any{"image": "os"})
	m := manifestOf("cn002")
	want := `[{/etc/motd ro} {/root/ persistent}] [198.18.0.1:/lite/cn002] 198.18.0.1:/state root=""`
	if m.Statelite == nil || len(m.Problems) > 0 || m.Image == nil || m.Image.URL != testBase+"/images/os" {
		t.Fatalf("statelite %+v image %+v problems %q", m.Statelite, m.Image, m.Problems)
	}
	if got := strings.TrimSpace(fmtLite(m.Statelite)); got != want {
		t.Errorf("statelite = %s\nwant %s", got, want)
	}
	if _, err := statelite.Plan(m); err != nil {
		t.Errorf("statelite.Plan: %v", err)
	}
	set(map[string]any{"nfsroot": "198.18.0.9:/roots/os"})
	if m := manifestOf("cn002"); m.Statelite == nil || m.Statelite.Root != "198.18.0.9:/roots/os" || m.Image != nil {
		t.Errorf("nfsroot: statelite %+v image %+v", m.Statelite, m.Image)
	}
	var rules []dtapi.LiteFile
	e.mustDo("GET", "/api/v1/images/os/litefile", nil, 200, &rules)
	if len(rules) != 2 || rules[0].Path != "/etc/motd" || rules[0].Option != "ro" || rules[0].Image != "os" || rules[0].Line == 0 {
		t.Errorf("litefile rules of os = %+v", rules)
	}
	rules = nil
	e.mustDo("GET", "/api/v1/images/other/litefile", nil, 200, &rules)
	if len(rules) != 2 || rules[0].Option != "tmpfs" || rules[0].Image != "" {
		t.Errorf("litefile rules of other = %+v", rules)
	}
}

func fmtLite(s *manifest.Statelite) string {
	var files []string
	for _, f := range s.Files {
		files = append(files, "{"+f.Path+" "+f.Option+"}")
	}
	return "[" + strings.Join(files, " ") + "] [" + strings.Join(s.Tree, " ") + "] " + s.Store + ` root="` + s.Root + `"`
}

// TestStateliteFolderRule: a rule without the trailing / where the
// registry image has a folder (directly, or under /.default after
// trapctl image lite) makes an inventory edit that puts a node in
// statelite on that image fail naming the rule's file:line: field,
// leaving the file as it was; a node switched to statelite at run time
// (trapctl mode set) gets it as a manifest problem.
func TestStateliteFolderRule(t *testing.T) {
	e := newEnv(t)
	root := t.TempDir()
	for _, d := range []string{"etc/ssh", ".default/var/log", "sbin"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	os.WriteFile(filepath.Join(root, "etc/motd"), []byte("m"), 0o644)
	// A prepared path: an absolute link that dangles outside the image,
	// which go-diskfs cannot pack; mksquashfs (squashfs-tools, make
	// lab-deps) can.
	tool := "go-diskfs"
	if _, err := exec.LookPath("mksquashfs"); err == nil {
		tool = "mksquashfs"
		os.MkdirAll(filepath.Join(root, "var"), 0o755)
		os.Symlink("/.statelite/tmpfs/var/log", filepath.Join(root, "var/log"))
	} else {
		os.MkdirAll(filepath.Join(root, "var/log"), 0o755)
	}
	out := filepath.Join(t.TempDir(), "os.squashfs")
	info, err := imagepack.Pack(context.Background(), root, out, imagepack.Options{Name: "os", Tool: tool})
	if err != nil {
		t.Fatal(err)
	}
	img, _ := os.ReadFile(info.Path)
	e.mustDo("PUT", putPath("os", "squashfs", info.SHA256), string(img), 201, nil)
	data, _ := os.ReadFile(e.invPath)
	rules := "litefile:\n  - path: /etc/ssh\n  - path: /etc/motd\n  - path: /var/log\n"
	os.WriteFile(e.invPath, append(data, rules...), 0o644)
	c, err := inventory.Load(e.invPath)
	if err != nil {
		t.Fatal(err)
	}
	e.cluster.Store(c)
	before, _ := os.ReadFile(e.invPath)
	refused := e.mustDo("PATCH", "/api/v1/nodes/cn002", map[string]any{"fields": map[string]any{"mode": "statelite", "image": "os"}}, 400, nil)
	for _, want := range []string{fmt.Sprintf("cluster.yaml:%d: litefile[0].path: litefile /etc/ssh: image os has a folder there", slices.Index(strings.Split(string(before), "\n"), "  - path: /etc/ssh")+1),
		"litefile[2].path: litefile /var/log: image os has a folder there"} {
		if !strings.Contains(refused, want) {
			t.Errorf("PATCH to statelite on image os: %s\nwant %q", refused, want)
		}
	}
	if strings.Contains(refused, "/etc/motd") {
		t.Errorf("PATCH refused the file rule /etc/motd: %s", refused)
	}
	if after, _ := os.ReadFile(e.invPath); !bytes.Equal(before, after) {
		t.Errorf("refused edit changed the inventory file")
	}
	e.mustDo("PATCH", "/api/v1/nodes/cn002", map[string]any{"fields": map[string]any{"image": "os"}}, 200, nil)
	e.mustDo("POST", "/api/v1/mode", map[string]any{"range": "cn002", "mode": "statelite"}, 200, nil)
	m, err := manifest.Decode([]byte(e.mustDo("GET", "/manifest/cn002", nil, 200, nil)))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(m.Problems, "\n")
	for _, want := range []string{"litefile /etc/ssh: image os has a folder there: write the rule as /etc/ssh/", "litefile /var/log: image os has a folder there"} {
		if !strings.Contains(got, want) {
			t.Errorf("problems:\n%s\nwant %q", got, want)
		}
	}
	if strings.Contains(got, "/etc/motd") || m.Statelite != nil {
		t.Errorf("problems %q, statelite %+v", got, m.Statelite)
	}
}
