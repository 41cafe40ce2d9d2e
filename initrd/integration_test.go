package initrd

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/u-root/u-root/pkg/cpio"

	"github.com/disklesstrap/disklesstrap/internal/labreq"
)

// integrationConfig is the image the integration tests build: the test
// init instead of the agent, the default u-root commands and busybox, and
// the NIC modules the lab uses.
func integrationConfig(t *testing.T, kcache, kver, out, cache string) Config {
	t.Helper()
	return Config{
		CacheDir:      cache,
		NoCache:       cache == "",
		Agent:         filepath.Join(repoRoot(t), "initrd", "testdata", "testinit"),
		ModuleDir:     repoRoot(t),
		ModulesRoot:   filepath.Join(kcache, "root"),
		KernelVersion: kver,
		Modules:       []string{"virtio_net", "e1000", "virtio_pci"},
		Output:        out,
		TempDir:       t.TempDir(),
	}
}

// TestBuildIntegration builds a real initramfs twice, checks its contents
// and byte-identical rebuilds, then boots it in QEMU.
func TestBuildIntegration(t *testing.T) {
	labreq.Require(t) // builds with the real kernel's modules and boots QEMU
	kcache, kver, ok := kernelCache(t)
	skipUnless(t, ok, "no kernel cache at "+kcache+" (run tools/kernel/fetch.sh)")
	_, err := exec.LookPath("go")
	skipUnless(t, err == nil, "no go toolchain in PATH")

	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bbCache := sharedBBCache
	cfg := integrationConfig(t, kcache, kver, filepath.Join(dir, "a.img"), bbCache)
	res, err := Build(ctx, cfg)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	t.Logf("build 1: %s, %d bytes, %d entries, sha256 %s", res.Duration.Round(time.Millisecond), res.Size, len(res.Files), res.SHA256)

	t.Run("contents", func(t *testing.T) {
		checkContents(t, res.Path, kcache, kver)
	})

	// Rebuild without the Go busybox cache (a fresh gobusybox build) and
	// with it (the binary the first build stored): both byte-identical.
	for _, tc := range []struct {
		name, out, cache string
	}{
		{"reproducible/fresh", "b.img", ""},
		{"reproducible/cached", "c.img", bbCache},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res2, err := Build(ctx, integrationConfig(t, kcache, kver, filepath.Join(dir, tc.out), tc.cache))
			if err != nil {
				t.Fatalf("Build %s: %v", tc.out, err)
			}
			t.Logf("%s: %s, %d bytes", tc.out, res2.Duration.Round(time.Millisecond), res2.Size)
			if res2.SHA256 != res.SHA256 || res2.Size != res.Size {
				t.Fatalf("rebuild differs: sha256 %s (%d bytes), want %s (%d bytes)", res2.SHA256, res2.Size, res.SHA256, res.Size)
			}
			a, errA := os.ReadFile(res.Path)
			b, errB := os.ReadFile(res2.Path)
			if errA != nil || errB != nil {
				t.Fatalf("read images: %v %v", errA, errB)
			}
			if !bytes.Equal(a, b) {
				t.Fatalf("images differ byte-wise although their SHA-256 match")
			}
		})
	}

	t.Run("boots", func(t *testing.T) {
		bootImage(t, filepath.Join(kcache, "vmlinuz"), res.Path, kver, len(res.Modules))
	})
}

func checkContents(t *testing.T, img, kcache, kver string) {
	recs, err := ReadArchive(img)
	if err != nil {
		t.Fatalf("ReadArchive(%s): %v", img, err)
	}
	byName := map[string]Record{}
	prev := ""
	for _, r := range recs {
		if r.Name <= prev {
			t.Errorf("entries not sorted: %q after %q", r.Name, prev)
		}
		prev = r.Name
		if r.MTime != 0 || r.UID != 0 || r.GID != 0 {
			t.Errorf("%s: mtime %d uid %d gid %d, want 0 0 0", r.Name, r.MTime, r.UID, r.GID)
		}
		byName[r.Name] = r
	}
	isType := func(name string, typ uint64) Record {
		t.Helper()
		r, ok := byName[name]
		if !ok {
			t.Errorf("/%s missing", name)
			return r
		}
		if r.Mode&cpio.S_IFMT != typ {
			t.Errorf("/%s mode %o, want type %o", name, r.Mode, typ)
		}
		return r
	}
	content := func(r Record) []byte {
		if r.ReaderAt == nil {
			return nil
		}
		b, err := io.ReadAll(io.NewSectionReader(r.ReaderAt, 0, int64(r.FileSize)))
		if err != nil {
			t.Fatalf("read /%s: %v", r.Name, err)
		}
		return b
	}

	init := isType("init", cpio.S_IFREG)
	if init.Mode&0o111 == 0 {
		t.Errorf("/init mode %o, want executable", init.Mode)
	}
	if b := content(init); !bytes.HasPrefix(b, []byte("\x7fELF")) {
		t.Errorf("/init is not an ELF file")
	}
	if r := isType("bin/trap", cpio.S_IFLNK); string(content(r)) != "../init" {
		t.Errorf("/bin/trap -> %q, want ../init", content(r))
	}
	isType("bin/busybox", cpio.S_IFREG)
	if r := isType("bin/sh", cpio.S_IFLNK); string(content(r)) != "busybox" {
		t.Errorf("/bin/sh -> %q, want busybox", content(r))
	}
	isType("bbin/bb", cpio.S_IFREG)
	isType("bbin/ls", cpio.S_IFLNK)
	isType("dev/console", cpio.S_IFCHR)

	// virtio_net and whatever modules.dep says it needs, transitively.
	kdir := filepath.Join(kcache, "root", "lib", "modules", kver)
	f, err := os.Open(filepath.Join(kdir, "modules.dep"))
	if err != nil {
		t.Fatal(err)
	}
	md, err := ParseModulesDep(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := md.Resolve([]string{"virtio_net", "e1000", "virtio_pci"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, must := range []string{"virtio_net", "failover", "net_failover", "virtio", "virtio_ring", "e1000", "virtio_pci"} {
		found := false
		for _, w := range want {
			found = found || ModuleName(w) == must
		}
		if !found {
			t.Errorf("host modules.dep closure lacks %s: %v", must, want)
		}
	}
	var shipped []string
	for _, r := range recs {
		if strings.HasSuffix(r.Name, ".ko") {
			shipped = append(shipped, r.Name)
		}
	}
	if len(shipped) != len(want) {
		t.Errorf("image has %d modules %v, want %d %v", len(shipped), shipped, len(want), want)
	}
	for _, w := range want {
		isType("lib/modules/"+kver+"/"+w, cpio.S_IFREG)
	}
	dep := isType("lib/modules/"+kver+"/modules.dep", cpio.S_IFREG)
	imgDep, err := ParseModulesDep(bytes.NewReader(content(dep)))
	if err != nil {
		t.Fatalf("image modules.dep: %v", err)
	}
	if imgDep.Len() != len(want) {
		t.Errorf("image modules.dep lists %d modules, want %d", imgDep.Len(), len(want))
	}
	if _, _, err := imgDep.Resolve([]string{"virtio_net"}, nil); err != nil {
		t.Errorf("image modules.dep cannot resolve virtio_net: %v", err)
	}

	conf := isType(AgentConfigPath, cpio.S_IFREG)
	var s AgentSettings
	if err := json.Unmarshal(content(conf), &s); err != nil {
		t.Fatalf("/%s: %v", AgentConfigPath, err)
	}
	if strings.Join(s.Modules, " ") != "virtio_net e1000 virtio_pci" {
		t.Errorf("/%s modules = %v, want [virtio_net e1000 virtio_pci]", AgentConfigPath, s.Modules)
	}
}

// TestBuildRealAgent measures a build with the real agent (cmd/trap) as
// /init. It skips when cmd/trap does not build (another package's state).
func TestBuildRealAgent(t *testing.T) {
	labreq.Require(t) // builds cmd/trap into an initramfs
	kcache, kver, ok := kernelCache(t)
	skipUnless(t, ok, "no kernel cache at "+kcache+" (run tools/kernel/fetch.sh)")
	_, err := exec.LookPath("go")
	skipUnless(t, err == nil, "no go toolchain in PATH")
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cfg := integrationConfig(t, kcache, kver, filepath.Join(t.TempDir(), "agent.img"), sharedBBCache)
	cfg.Agent = DefaultAgent
	res, err := Build(ctx, cfg)
	if err != nil && strings.Contains(err.Error(), "agent "+DefaultAgent) {
		labreq.Skip(t, "cmd/trap does not build here: %v", err)
	}
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	var initSize uint64
	recs, err := ReadArchive(res.Path)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Name == "init" {
			initSize = r.FileSize
		}
	}
	if initSize == 0 {
		t.Fatalf("/init missing or empty")
	}
	t.Logf("real agent image: %d bytes (gzip), /init %d bytes, %d entries, %s",
		res.Size, initSize, len(res.Files), res.Duration.Round(time.Millisecond))
}
