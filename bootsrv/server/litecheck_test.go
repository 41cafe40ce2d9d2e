package server

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/bootsrv/images"
	"github.com/disklesstrap/disklesstrap/imagepack"
)

// TestReloadLiteImages: a reload whose litefile rule has no trailing /
// where the registry's squashfs has a folder is refused with file:line:
// field, and the inventory in force stays; the rule fixed, the reload
// goes through.
func TestReloadLiteImages(t *testing.T) {
	ts := startServer(t, nil)
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "var/log"), 0o755)
	info, err := imagepack.Pack(context.Background(), root, filepath.Join(t.TempDir(), "os.squashfs"), imagepack.Options{Name: "os", Tool: "go-diskfs"})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := images.Open(filepath.Join(ts.dir, "images"))
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(info.Path)
	defer f.Close()
	if _, err := reg.Put(images.Record{Name: "os", Format: "squashfs", SHA256: info.SHA256}, f); err != nil {
		t.Fatal(err)
	}
	before := ts.s.Cluster()
	lite := "  - name: sl1\n    mode: statelite\n    image: os\nlitefile:\n  - path: /var/log\n"
	os.WriteFile(ts.cfgPath, []byte(inv+lite), 0o644)
	line := strings.Count(inv+lite, "\n")
	err = ts.s.Reload()
	if err == nil || !strings.Contains(err.Error(), "keeping the previous inventory") ||
		!strings.Contains(err.Error(), ts.cfgPath+":"+strconv.Itoa(line)+": litefile[0].path: litefile /var/log: image os has a folder there") {
		t.Fatalf("Reload(folder rule without /) = %v", err)
	}
	if ts.s.Cluster() != before {
		t.Errorf("refused reload replaced the inventory")
	}
	os.WriteFile(ts.cfgPath, []byte(inv+lite[:len(lite)-1]+"/\n"), 0o644)
	if err := ts.s.Reload(); err != nil {
		t.Errorf("Reload(/var/log/) = %v", err)
	}
}
