// Package e2e holds the lab tests: real QEMU nodes PXE-boot through real
// iPXE from the real bootsrv inside a network namespace, into the trap
// agent, and the real OpenSSH client logs in. They need root, QEMU and the
// guest kernel (make lab-deps); without them they skip, unless
// DT_LAB_REQUIRED=1 (make test) turns the skip into a failure.
package e2e

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/disklesstrap/disklesstrap/tools/labcluster"

	"github.com/disklesstrap/disklesstrap/internal/labreq"
)

// requireLab skips (or fails under DT_LAB_REQUIRED=1) without the lab's
// prerequisites.
func requireLab(t *testing.T) {
	t.Helper()
	_, kerr := labcluster.FindKernel()
	labreq.Require(t, labreq.Root(), labreq.Tools("qemu-system-x86_64", "ssh", "ssh-keygen", "ip"), labreq.Err(kerr))
}

var (
	initrdOnce sync.Once
	initrdPath string
	initrdErr  error
)

// sharedInitrd builds the trap initramfs once per test binary.
func sharedInitrd(t *testing.T) string {
	t.Helper()
	initrdOnce.Do(func() {
		dir, err := os.MkdirTemp("", "dt-e2e-initrd-")
		if err != nil {
			initrdErr = err
			return
		}
		initrdPath, initrdErr = labcluster.BuildInitrd(context.Background(), filepath.Join(dir, "trap.cpio.gz"))
	})
	if initrdErr != nil {
		t.Fatal(initrdErr)
	}
	return initrdPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if initrdPath != "" {
		os.RemoveAll(filepath.Dir(initrdPath))
	}
	os.Exit(code)
}
