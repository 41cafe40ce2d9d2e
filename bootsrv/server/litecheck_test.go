package server

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/bootsrv/images/imagestest"
)

// TestReloadLiteImages: a reload whose litefile rule has no trailing /
// where the registry's squashfs has a folder is refused with file:line:
// field, and the inventory in force stays; the rule fixed, the reload
// goes through.
func TestReloadLiteImages(t *testing.T) {
	ts := startServer(t, nil)
	imagestest.PutSquashfs(t, ts.dir, "os", []string{"var/log"}, nil)
	before := ts.s.Cluster()
	lite := "  - name: sl1\n    mode: statelite\n    image: os\nlitefile:\n  - path: /var/log\n"
	os.WriteFile(ts.cfgPath, []byte(inv+lite), 0o644)
	line := strings.Count(inv+lite, "\n")
	err := ts.s.Reload()
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
