package api

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/manifest"
)

// TestInstallManifest: a node in mode install gets its disk, scripts
// (inline and from DATA/scripts) and image; what is missing is a problem
// naming the attribute; install-done switches the node to local.
func TestInstallManifest(t *testing.T) {
	e := newEnv(t)
	img := fakeImage(3000)
	e.mustDo("PUT", putPath("compute", "squashfs", sha256Hex(img)), img, 201, nil)
	getManifest := func() manifest.Manifest {
		var m manifest.Manifest
		e.mustDo("GET", "/manifest/cn001", nil, 200, &m)
		return m
	}
	e.mustDo("PATCH", "/api/v1/nodes/cn001", map[string]any{"fields": map[string]any{"mode": "install", "image": "compute"}}, 200, nil)
	if m := getManifest(); m.Install != nil || len(m.Problems) != 1 || !strings.Contains(m.Problems[0], "mode install: node cn001's install_disk attribute is not set") {
		t.Fatalf("install without install_disk: install %+v, problems %q", m.Install, m.Problems)
	}
	e.mustDo("PATCH", "/api/v1/nodes/cn001", map[string]any{"fields": map[string]any{
		"install_disk": "smallest >= 8G", "install_wipe": "yes", "partscript": "sgdisk -Z $DT_DISK\n", "postscript": "file:post/compute.sh",
		"install_cmdline": "console=ttyS0,115200"}}, 200, nil)
	if m := getManifest(); m.Install != nil || len(m.Problems) != 1 || !strings.Contains(m.Problems[0], "node cn001's postscript: script file") {
		t.Fatalf("install with a missing postscript file: problems %q", m.Problems)
	}
	p := filepath.Join(e.dir, "data", "scripts", "post", "compute.sh")
	os.MkdirAll(filepath.Dir(p), 0o755)
	os.WriteFile(p, []byte("echo post\n"), 0o644)
	m := getManifest()
	want := manifest.Install{Disk: "smallest >= 8G", Wipe: true, Partscript: "sgdisk -Z $DT_DISK\n", Postscript: "echo post\n", Cmdline: "console=ttyS0,115200"}
	if len(m.Problems) != 0 || m.Install == nil || *m.Install != want || m.Image == nil || m.Image.SHA256 != sha256Hex(img) {
		t.Fatalf("manifest: problems %q, install %+v, image %+v", m.Problems, m.Install, m.Image)
	}
	if code, body := e.do("GET", "/api/v1/nodes/cn001/inventory", nil); code != 404 || !strings.Contains(body, "no hardware report yet") {
		t.Errorf("inventory before a report = %d %s", code, body)
	}
	e.mustDo("POST", "/api/v1/events", []manifest.Event{
		{Node: "cn001", Phase: manifest.PhaseInventory, Data: map[string]string{"inventory": `{"cpus":1,"memory_kb":1,"nics":[],"disks":[{"name":"vda","bytes":8589934592,"serial":"S1"}]}`}},
		{Node: "cn001", Phase: manifest.PhaseInstallDone, Data: map[string]string{"disk": "/dev/vda"}},
	}, 204, nil)
	if m := getManifest(); m.Mode != manifest.ModeLocal || m.Once {
		t.Errorf("after install-done: mode %s once %v, want local persistent", m.Mode, m.Once)
	}
	var inv api.NodeInventory
	e.mustDo("GET", "/api/v1/nodes/cn001/inventory", nil, 200, &inv)
	if len(inv.Hardware.Disks) != 1 || inv.Hardware.Disks[0].Serial != "S1" {
		t.Errorf("inventory = %+v", inv)
	}
	evs, err := e.store.Events("cn001", 1)
	if err != nil || len(evs) != 1 || evs[0].Phase != PhaseModeSet || !strings.Contains(evs[0].Message, "install done on /dev/vda: mode local") {
		t.Errorf("last event = %+v, %v", evs, err)
	}
}
