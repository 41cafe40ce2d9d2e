package pathd

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
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
