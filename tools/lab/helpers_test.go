package lab

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/internal/labreq"
)

// skipOrFail skips a test whose prerequisite is missing, or fails it when
// DT_LAB_REQUIRED=1 says the lab must run here.
func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	labreq.Skip(t, format, args...)
}

// requireNetns checks root, ip(8) and named namespaces.
func requireNetns(t testing.TB) {
	t.Helper()
	labreq.Require(t, labreq.Root(), labreq.Tools("ip"))
}

// requireQEMU also checks QEMU and /dev/net/tun.
func requireQEMU(t testing.TB) {
	t.Helper()
	labreq.Require(t, labreq.Root(), labreq.Tools("ip", "qemu-system-x86_64"), labreq.Files("/dev/net/tun"))
}

// newTestLab creates a lab or fails the test.
func newTestLab(t *testing.T, opts Options) *Lab {
	t.Helper()
	start := time.Now()
	l, err := New(t, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Logf("TIMING namespace setup (%d bridges): %s", len(l.Bridges()), time.Since(start).Round(time.Millisecond))
	return l
}

// testKernel is the guest kernel and its module tree.
type testKernel struct {
	Vmlinuz, ModDir, KVer string
}

var (
	kernelOnce sync.Once
	kernelVal  testKernel
	kernelErr  error
)

// findKernel uses DT_KERNEL_DIR or the repo's .cache/kernel (written by
// tools/kernel/fetch.sh); failing both it unpacks the Debian kernel package
// into a cache directory of this test's own under the temp dir.
func findKernel(t testing.TB) testKernel {
	t.Helper()
	kernelOnce.Do(func() { kernelVal, kernelErr = locateKernel() })
	if kernelErr != nil {
		skipOrFail(t, "no guest kernel: %v", kernelErr)
	}
	return kernelVal
}

func locateKernel() (testKernel, error) {
	dirs := []string{os.Getenv("DT_KERNEL_DIR"), filepath.Join("..", "..", ".cache", "kernel")}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		if k, err := kernelFromDir(d); err == nil {
			return k, nil
		}
	}
	own := filepath.Join(os.TempDir(), "dtlab-test-kernel")
	if k, err := kernelFromDir(own); err == nil {
		return k, nil
	}
	if err := fetchKernel(own); err != nil {
		return testKernel{}, err
	}
	return kernelFromDir(own)
}

func kernelFromDir(d string) (testKernel, error) {
	b, err := os.ReadFile(filepath.Join(d, "KVER"))
	if err != nil {
		return testKernel{}, err
	}
	kver := strings.TrimSpace(string(b))
	k := testKernel{
		Vmlinuz: filepath.Join(d, "vmlinuz"),
		ModDir:  filepath.Join(d, "root", "lib", "modules", kver),
		KVer:    kver,
	}
	for _, f := range []string{k.Vmlinuz, filepath.Join(k.ModDir, "modules.dep")} {
		if _, err := os.Stat(f); err != nil {
			return testKernel{}, err
		}
	}
	return k, nil
}

// fetchKernel downloads linux-image-amd64's kernel package and unpacks it
// into dir with the same layout as .cache/kernel.
func fetchKernel(dir string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	tmp, err := os.MkdirTemp("", "dtlab-kernel-dl-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	out, err := exec.CommandContext(ctx, "apt-cache", "depends", "linux-image-amd64").Output()
	if err != nil {
		return fmt.Errorf("apt-cache depends linux-image-amd64: %w", err)
	}
	pkg := ""
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == "Depends:" && strings.HasPrefix(f[1], "linux-image-6") {
			pkg = f[1]
		}
	}
	if pkg == "" {
		return fmt.Errorf("apt-cache depends linux-image-amd64: no linux-image-6.* dependency in %q", out)
	}
	kver := strings.TrimPrefix(pkg, "linux-image-")
	cmd := exec.CommandContext(ctx, "apt-get", "download", pkg)
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get download %s: %w: %s", pkg, err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
	if len(debs) != 1 {
		return fmt.Errorf("apt-get download %s: %d .deb files", pkg, len(debs))
	}
	stage := dir + ".tmp"
	os.RemoveAll(stage)
	root := filepath.Join(stage, "root")
	steps := [][]string{
		{"dpkg", "-x", debs[0], root},
		{"depmod", "-b", root, kver},
	}
	for _, s := range steps {
		if out, err := exec.CommandContext(ctx, s[0], s[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %w: %s", strings.Join(s, " "), err, out)
		}
	}
	if err := os.WriteFile(filepath.Join(stage, "KVER"), []byte(kver+"\n"), 0o644); err != nil {
		return err
	}
	if err := os.Symlink(filepath.Join("root", "boot", "vmlinuz-"+kver), filepath.Join(stage, "vmlinuz")); err != nil {
		return err
	}
	os.RemoveAll(dir)
	return os.Rename(stage, dir)
}
