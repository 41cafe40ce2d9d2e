package console

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuf is a goroutine-safe buffer (the shell writes from exec's copier).
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunExit(t *testing.T) {
	dir := t.TempDir()
	var out syncBuf
	err := Run(context.Background(), Config{
		Stdin:  strings.NewReader("echo in $PWD as $HOME; exit 7\n"),
		Stdout: &out, Stderr: &out,
		Shell: "/bin/sh", Env: []string{"HOME=/root", "PS1=" + Prompt("cn001")}, Dir: dir,
	})
	if err != nil {
		t.Fatalf("Run() error = %v, want nil after exit", err)
	}
	if want := "in " + dir + " as /root\n"; out.String() != want {
		t.Errorf("console output = %q, want %q", out.String(), want)
	}
}

func TestRunCancel(t *testing.T) {
	pr, pw, err := os.Pipe() // never written: the shell waits for input
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close()
	defer pr.Close()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- Run(ctx, Config{Stdin: pr, Stdout: io.Discard, Stderr: io.Discard, Shell: "/bin/sh"}) }()
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run() after cancel = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run() did not return 10s after cancel")
	}
}

func TestRunFails(t *testing.T) {
	if err := Run(context.Background(), Config{Shell: "/nonexistent/sh"}); err == nil || !strings.Contains(err.Error(), "/nonexistent/sh") {
		t.Errorf("Run(missing shell) = %v, want an error naming the shell", err)
	}
	if err := Run(context.Background(), Config{TTY: "/nonexistent/tty"}); err == nil || !strings.Contains(err.Error(), "/nonexistent/tty") {
		t.Errorf("Run(missing tty) = %v, want an error naming the tty", err)
	}
}

func TestActiveTTY(t *testing.T) {
	root := t.TempDir()
	if got := ActiveTTY(root, "/dev/console"); got != "/dev/console" {
		t.Errorf("ActiveTTY(no sysfs) = %q, want /dev/console", got)
	}
	p := filepath.Join(root, "sys/class/tty/console")
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	// /dev/null exists everywhere: stands in for a tty device name.
	if err := os.WriteFile(filepath.Join(p, "active"), []byte("tty0 null\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := ActiveTTY(root, "/dev/console"); got != "/dev/null" {
		t.Errorf("ActiveTTY() = %q, want /dev/null (last active entry)", got)
	}
	if got := ActiveTTY(root, "/dev/ttyS1"); got != "/dev/ttyS1" {
		t.Errorf("ActiveTTY(explicit) = %q, want unchanged", got)
	}
	if got := Prompt("cn001"); got != "root@cn001_DisklessTrap:/root# " {
		t.Errorf("Prompt() = %q", got)
	}
}
