package invcheck

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/bootsrv/images/imagestest"
)

// TestCheckDataImages: with bootsrv's data folder, a folder rule without
// the trailing / where the registry's squashfs has a folder is refused
// as file:line: field (what bootsrv check and trapctl inventory check
// print); without a registry there the summary says the images were not
// checked.
func TestCheckDataImages(t *testing.T) {
	data := t.TempDir()
	imagestest.PutSquashfs(t, data, "os", []string{"etc/ssh"}, []string{"etc/motd"})
	inv := filepath.Join(t.TempDir(), "cluster.yaml")
	os.WriteFile(inv, []byte("litefile:\n  - path: /etc/motd\n  - path: /etc/ssh\ndefaults:\n  mode: statelite\n  image: os\nnodes:\n  - name: cn1\n"), 0o644)

	var out, errOut bytes.Buffer
	err := CheckData(inv, data, &out, &errOut)
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
