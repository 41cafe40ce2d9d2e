package initrd

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/internal/labreq"
)

// bootImage boots kernel+initrd under QEMU (TCG, no network) with the test
// init and waits for its marker on the serial console.
func bootImage(t *testing.T, kernel, initrd, kver string, wantModules int) {
	labreq.Require(t, labreq.Tools("qemu-system-x86_64"))
	qemu, _ := exec.LookPath("qemu-system-x86_64")
	logPath := filepath.Join(t.TempDir(), "serial.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(qemu, "-M", "pc", "-m", "512", "-nographic", "-no-reboot",
		"-nic", "none", "-kernel", kernel, "-initrd", initrd,
		"-append", "console=ttyS0 panic=-1 no_timer_check")
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Stdin = nil
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start qemu: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-done
		}
	})
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("qemu: %v", err)
		}
	case <-time.After(90 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Errorf("qemu did not power off within 90 s")
	}
	out, _ := os.ReadFile(logPath)
	took := time.Since(start)
	if !bytes.Contains(out, []byte("DT-INITRD-OK")) {
		t.Fatalf("no DT-INITRD-OK marker on the serial console after %s; output tail:\n%s", took, tail(out, 3000))
	}
	if !bytes.Contains(out, []byte("/lib/modules/"+kver+"/modules.dep")) {
		t.Errorf("guest did not list /lib/modules/%s/modules.dep; output tail:\n%s", kver, tail(out, 3000))
	}
	if want := fmt.Sprintf("DT-INITRD modules %d\r\n", wantModules); !bytes.Contains(out, []byte(want)) {
		t.Errorf("guest did not report %q; output tail:\n%s", strings.TrimSpace(want), tail(out, 1500))
	}
	t.Logf("booted to the marker and powered off in %s", took.Round(time.Millisecond))
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
