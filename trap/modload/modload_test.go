package modload

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type fakeProber map[string]error

func (f fakeProber) Probe(name, params string) error {
	err, ok := f[name]
	if !ok {
		return errors.New(`could not find module path "` + name + `"`)
	}
	return err
}

func TestLoad(t *testing.T) {
	p := fakeProber{"virtio_net": nil, "e1000": nil, "zram": errors.New("exec format error")}
	r := Load(p, []string{"virtio_net", " ", "nope", "e1000 debug=1", "zram"}, quiet)
	want := Result{Loaded: []string{"virtio_net", "e1000"}, Missing: []string{"nope"}, Failed: map[string]string{"zram": "exec format error"}}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("Load() = %+v, want %+v", r, want)
	}
	if got := r.String(); got != "loaded [virtio_net e1000] missing [nope] failed 1" {
		t.Errorf("Result.String() = %q", got)
	}
}

// TestKmoduleDryRun runs u-root's kmodule for real on a fake module tree
// (dry run: no root needed) to check the dependency order it loads in.
func TestKmoduleDryRun(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "lib/modules/6.1.0-test")
	dep := "kernel/drivers/net/virtio_net.ko: kernel/net/core/failover.ko kernel/drivers/net/net_failover.ko\n" +
		"kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko\n" +
		"kernel/net/core/failover.ko:\n" +
		"kernel/drivers/net/ethernet/intel/e1000/e1000.ko:\n"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "modules.dep"), []byte(dep), 0o644); err != nil {
		t.Fatal(err)
	}
	var order []string
	p, err := Kmodule(root, "6.1.0-test", func(path string) { order = append(order, strings.TrimPrefix(path, dir+"/")) })
	if err != nil {
		t.Fatalf("Kmodule() error = %v", err)
	}
	r := Load(p, []string{"virtio-net", "e1000", "virtio_blk"}, quiet)
	if !reflect.DeepEqual(r.Loaded, []string{"virtio-net", "e1000"}) || !reflect.DeepEqual(r.Missing, []string{"virtio_blk"}) {
		t.Errorf("Load() = %+v, want virtio-net e1000 loaded, virtio_blk missing", r)
	}
	want := []string{"kernel/net/core/failover.ko", "kernel/drivers/net/net_failover.ko", "kernel/drivers/net/virtio_net.ko", "kernel/drivers/net/ethernet/intel/e1000/e1000.ko"}
	if !reflect.DeepEqual(order, want) {
		t.Errorf("load order = %q, want %q", order, want)
	}
	if _, err := Kmodule(t.TempDir(), "none", nil); err == nil {
		t.Errorf("Kmodule(no modules.dep) error = nil, want error")
	}
}

func TestBootFirst(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "lib/modules/6.1.0-test")
	dep := "kernel/drivers/net/virtio_net.ko: kernel/net/core/failover.ko\n" +
		"kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_modern_dev.ko\n" +
		"kernel/drivers/net/ethernet/intel/e1000/e1000.ko:\n" +
		"kernel/fs/xfs/xfs.ko: kernel/lib/libcrc32c.ko\n" +
		"kernel/drivers/block/zram/zram.ko.xz:\n" +
		"kernel/crypto/crc32c_generic.ko:\n"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "modules.dep"), []byte(dep), 0o644); err != nil {
		t.Fatal(err)
	}
	mods := []string{"crc32c_generic", "virtio-net", "virtio_pci", "zram num_devices=2", "nope", "xfs", "e1000"}
	first, rest := BootFirst(root, "6.1.0-test", mods)
	wantFirst := []string{"virtio-net", "virtio_pci", "nope", "e1000"}
	wantRest := []string{"crc32c_generic", "zram num_devices=2", "xfs"}
	if !reflect.DeepEqual(first, wantFirst) || !reflect.DeepEqual(rest, wantRest) {
		t.Errorf("BootFirst() = %q, %q; want %q, %q", first, rest, wantFirst, wantRest)
	}
	first, rest = BootFirst(t.TempDir(), "none", mods)
	if !reflect.DeepEqual(first, mods) || rest != nil {
		t.Errorf("BootFirst(no modules.dep) = %q, %q; want all first", first, rest)
	}
}
