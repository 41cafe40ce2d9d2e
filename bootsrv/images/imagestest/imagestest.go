// Package imagestest puts small squashfs images into a registry for
// tests: a tree of folders and files packed with go-diskfs and stored
// under DATA/images as bootsrv's upload would.
package imagestest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/disklesstrap/disklesstrap/bootsrv/images"
	"github.com/disklesstrap/disklesstrap/imagepack"
)

// PutSquashfs packs a root with the given folders (made with their
// parents) and files (one byte each) and stores it as image name in the
// registry of dataDir/images.
func PutSquashfs(t testing.TB, dataDir, name string, folders, files []string) {
	t.Helper()
	root := t.TempDir()
	for _, d := range folders {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range files {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	info, err := imagepack.Pack(context.Background(), root, filepath.Join(t.TempDir(), name+".squashfs"), imagepack.Options{Name: name, Tool: "go-diskfs"})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := images.Open(filepath.Join(dataDir, "images"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(info.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := reg.Put(images.Record{Name: name, Format: imagepack.FormatSquashfs, SHA256: info.SHA256}, f); err != nil {
		t.Fatal(err)
	}
}
