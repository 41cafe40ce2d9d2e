package initrd

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/disklesstrap/disklesstrap/internal/labreq"
)

// sharedBBCache is a Go busybox cache shared by the tests of one run, so
// only the first integration build pays for gobusybox.
var sharedBBCache string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "dt-initrd-bbcache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	sharedBBCache = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// skipUnless skips (or, under DT_LAB_REQUIRED=1, fails) when ok is false.
func skipUnless(t *testing.T, ok bool, reason string) {
	t.Helper()
	labreq.Check(t, labreq.Cond(ok, reason))
}

// repoRoot is the module root (the parent of this package's directory).
func repoRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(wd)
}

// kernelCache returns the kernel cache dir (DT_KERNEL_CACHE or
// .cache/kernel in the repo) and its kernel version, if fetched.
func kernelCache(t *testing.T) (dir, kver string, ok bool) {
	t.Helper()
	dir = os.Getenv("DT_KERNEL_CACHE")
	if dir == "" {
		dir = filepath.Join(repoRoot(t), ".cache", "kernel")
	}
	b, err := os.ReadFile(filepath.Join(dir, "KVER"))
	if err != nil {
		return dir, "", false
	}
	kver = string(trimNL(b))
	if _, err := os.Stat(filepath.Join(dir, "root", "lib", "modules", kver, "modules.dep")); err != nil {
		return dir, kver, false
	}
	return dir, kver, true
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}
