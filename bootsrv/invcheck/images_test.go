package invcheck

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/bootsrv/images"
	"github.com/disklesstrap/disklesstrap/imagepack"
)

// TestCheckDataImages: with bootsrv's data folder, a folder rule without
// the trailing / where the registry's squashfs has a folder is refused
// as file:line: field (what bootsrv check and trapctl inventory check
// print); without a registry there the summary says the images were not
// checked.
func TestCheckDataImages(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc/ssh"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/motd"), []byte("m"), 0o644)
	info, err := imagepack.Pack(context.Background(), root, filepath.Join(t.TempDir(), "os.squashfs"), imagepack.Options{Name: "os", Tool: "go-diskfs"})
	if err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	reg, err := images.Open(filepath.Join(data, "images"))
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(info.Path)
	defer f.Close()
	if _, err := reg.Put(images.Record{Name: "os", Format: "squashfs", SHA256: info.SHA256}, f); err != nil {
		t.Fatal(err)
	}
	inv := filepath.Join(t.TempDir(), "cluster.yaml")
	os.WriteFile(inv, []byte("litefile:\n  - path: /etc/motd\n  - path: /etc/ssh\ndefaults:\n  mode: statelite\n  image: os\nnodes:\n  - name: cn1\n"), 0o644)

	var out, errOut bytes.Buffer
	err = CheckData(inv, data, &out, &errOut)
	want := inv + ":3: litefile[1].path: litefile /etc/ssh: image os has a folder there: write the rule as /etc/ssh/\n"
	if !errors.Is(err, ErrInvalid) || errOut.String() != want {
		t.Errorf("CheckData = %v\nstderr %q\nwant %q", err, errOut.String(), want)
	}
	out.Reset()
	if err := CheckData(inv, t.TempDir(), &out, &errOut); err != nil || !strings.Contains(out.String(), "litefile rules not checked against images (no registry at") {
		t.Errorf("no registry: %v, stdout %q", err, out.String())
	}
	os.WriteFile(inv, []byte("litefile:\n  - path: /etc/motd\n  - path: /etc/ssh/\ndefaults:\n  mode: statelite\n  image: os\nnodes:\n  - name: cn1\n"), 0o644)
	out.Reset()
	if err := CheckData(inv, data, &out, &errOut); err != nil || !strings.Contains(out.String(), "litefile rules checked against the images in") {
		t.Errorf("fixed rule: %v, stdout %q", err, out.String())
	}
}
