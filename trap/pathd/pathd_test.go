package pathd

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/internal/labreq"
)

type countChecker struct {
	mu sync.Mutex
	n  int
}

func (c *countChecker) Once() (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	return 0, nil
}

func (c *countChecker) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// TestRun: no checks while /dev/mapper/control is missing (before
// switch_root), checks once it exists, and an exit when multipathd runs.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	proc, control := filepath.Join(dir, "proc"), filepath.Join(dir, "control")
	os.MkdirAll(filepath.Join(proc, "1"), 0o755)
	os.WriteFile(filepath.Join(proc, "1", "comm"), []byte("init\n"), 0o644)
	cc := &countChecker{}
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), Config{Maps: []string{"mpatha"}, Interval: 5 * time.Millisecond,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Proc: proc, Control: control,
			Checker: func(string, *slog.Logger) interface{ Once() (int, error) } { return cc }})
	}()
	time.Sleep(50 * time.Millisecond)
	if n := cc.count(); n != 0 {
		t.Fatalf("checks before %s exists = %d, want 0", control, n)
	}
	os.WriteFile(control, nil, 0o600)
	deadline := time.Now().Add(5 * time.Second)
	for cc.count() < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := cc.count(); n < 3 {
		t.Fatalf("checks after %s appeared = %d, want >= 3", control, n)
	}
	os.MkdirAll(filepath.Join(proc, "742"), 0o755)
	os.WriteFile(filepath.Join(proc, "742", "comm"), []byte("multipathd\n"), 0o644)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run() = %v after multipathd appeared, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run() still running 5 s after multipathd appeared")
	}
	if pid := Multipathd(proc); pid != 742 {
		t.Errorf("Multipathd(%s) = %d, want 742", proc, pid)
	}
}

func TestRunNoMaps(t *testing.T) {
	if err := Run(context.Background(), Config{}); err == nil {
		t.Error("Run(no maps) = nil, want an error")
	}
}

// TestRunRootFD: the agent opens the new root and starts pathd, then
// switch_root moves that root at once. pathd must land in the moved root
// (the directory it was handed), never fail on the old path: here the
// directory is renamed before pathd starts, and pathd (a child process,
// chroot needs one of its own) must still see the root's marker file.
func TestRunRootFD(t *testing.T) {
	if os.Getenv("DT_PATHD_CHILD") != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // no multipathd seen: wrong root
		defer cancel()
		err := Run(ctx, Config{RootFD: 3, Maps: []string{"mpatha"}, Interval: time.Millisecond,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Proc: "/proc-fake"})
		if err != nil {
			fmt.Println("child:", err)
			os.Exit(1)
		}
		b, err := os.ReadFile("/marker")
		fmt.Printf("child: /marker %q %v\n", b, err)
		os.Exit(0)
	}
	labreq.Check(t, labreq.Root()) // chroot
	dir := t.TempDir()
	root := filepath.Join(dir, "sysroot")
	os.MkdirAll(filepath.Join(root, "proc-fake", "7"), 0o755)
	os.WriteFile(filepath.Join(root, "proc-fake", "7", "comm"), []byte("multipathd\n"), 0o644)
	os.WriteFile(filepath.Join(root, "marker"), []byte("new root"), 0o644)
	f, err := os.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := os.Rename(root, filepath.Join(dir, "moved")); err != nil { // switch_root's move
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestRunRootFD$")
	cmd.Env = append(os.Environ(), "DT_PATHD_CHILD=1")
	cmd.ExtraFiles = []*os.File{f}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), `child: /marker "new root" <nil>`) {
		t.Errorf("pathd -root-fd on a moved root: %v\n%s", err, out)
	}
}
