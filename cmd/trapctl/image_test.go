package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/client"
)

// testTree makes a small root folder: files, a folder, a symlink.
func testTree(t *testing.T, root string) {
	t.Helper()
	for name, content := range map[string]string{
		"etc/hostname":   "testos\n",
		"etc/passwd":     "root:x:0:0:root:/root:/bin/sh\n",
		"sbin/init":      "#!/bin/sh\nexec /bin/sh\n",
		"usr/share/data": strings.Repeat("data ", 5000),
	} {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "var/log"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/sbin/init", filepath.Join(root, "init")); err != nil {
		t.Fatal(err)
	}
}

// trapctl runs one command against url and returns stdout, stderr, error.
func trapctl(t *testing.T, url string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), append([]string{"--server", url}, args...), &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

func fileSHA256(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// TestImagePackUpload: pack a folder as squashfs, upload it to the real
// API, list it, fetch /images/NAME, use it from a node, and delete it.
func TestImagePackUpload(t *testing.T) {
	url, dir, _ := server(t)
	root := filepath.Join(dir, "root")
	testTree(t, root)
	tmp := filepath.Join(dir, "tmp")
	os.Mkdir(tmp, 0o755)
	ctx := context.Background()
	cl := client.New(url, nil)

	for _, tc := range []struct{ name, format string }{{"os-sq", "squashfs"}, {"os-tar", "tar"}, {"os-zst", "tar.zst"}} {
		t.Run(tc.name, func(t *testing.T) {
			kept := filepath.Join(dir, tc.name+".img")
			stdout, stderr, err := trapctl(t, url, "image", "pack", root, "--name", tc.name, "--format", tc.format, "--output", kept, "--tmp", tmp)
			if err != nil {
				t.Fatalf("image pack %s: %v\n%s", tc.format, err, stderr)
			}
			want := fileSHA256(t, kept)
			if !strings.Contains(stdout, "uploaded image "+tc.name+": "+tc.format) || !strings.Contains(stdout, want) {
				t.Errorf("image pack stdout = %q, want the upload line with sha256 %s", stdout, want)
			}
			if !strings.Contains(stderr, "packed "+tc.name) {
				t.Errorf("image pack stderr = %q, want the progress summary", stderr)
			}
			im, err := cl.Image(ctx, tc.name)
			if err != nil || im.SHA256 != want || im.Format != tc.format || im.Files != 11 || !strings.Contains(im.Source, root) {
				t.Errorf("record of %s = %+v, %v, want sha256 %s, 11 files, source naming %s", tc.name, im, err, want, root)
			}
			var buf bytes.Buffer
			if _, err := cl.DownloadImage(ctx, tc.name, &buf); err != nil {
				t.Fatal(err)
			}
			if h := sha256.Sum256(buf.Bytes()); hex.EncodeToString(h[:]) != im.SHA256 {
				t.Errorf("GET /images/%s sha256 = %x, record says %s", tc.name, h, im.SHA256)
			}
		})
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("temporary folder after packing holds %d files", len(ents))
	}
	// Without --output the temporary image goes away too.
	if _, stderr, err := trapctl(t, url, "image", "pack", root, "--name", "os-tmp", "--tmp", tmp); err != nil {
		t.Fatalf("image pack without --output: %v\n%s", err, stderr)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("temporary folder after packing without --output holds %d files", len(ents))
	}
	stdout, _, err := trapctl(t, url, "image", "list")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"os-sq", "os-tar", "os-zst", "os-tmp"} {
		if !strings.Contains(stdout, n+" ") {
			t.Errorf("image list = %q, want %s", stdout, n)
		}
	}
	// Used by a node: the manifest carries it, delete is refused, then forced.
	if _, stderr, err := trapctl(t, url, "node", "set", "cn001", "image=os-sq"); err != nil {
		t.Fatalf("node set: %v %s", err, stderr)
	}
	m, err := cl.Manifest(ctx, "cn001")
	im, _ := cl.Image(ctx, "os-sq")
	if err != nil || m.Image == nil || m.Image.SHA256 != im.SHA256 || m.Image.URL != "http://198.18.0.1:8080/images/os-sq" {
		t.Fatalf("cn001 manifest image = %+v, %v, want os-sq with sha256 %s", m.Image, err, im.SHA256)
	}
	_, _, err = trapctl(t, url, "image", "delete", "os-sq")
	if err == nil || !strings.Contains(err.Error(), "node cn001") || exitCode(err) != 1 {
		t.Errorf("image delete of a used image = %v, want a refusal naming node cn001", err)
	}
	if stdout, _, err := trapctl(t, url, "image", "delete", "os-sq", "--force"); err != nil || !strings.Contains(stdout, "still named by cn001") {
		t.Errorf("image delete --force = %q, %v", stdout, err)
	}
	if _, err := cl.Image(ctx, "os-sq"); !client.IsNotFound(err) {
		t.Errorf("image after forced delete: %v, want 404", err)
	}
	m, _ = cl.Manifest(ctx, "cn001")
	if m.Image != nil || len(m.Problems) != 1 || !strings.Contains(m.Problems[0], "os-sq") {
		t.Errorf("cn001 manifest after the delete: image %+v problems %q", m.Image, m.Problems)
	}
}
