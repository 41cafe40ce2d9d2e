package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/trap/ctl"
)

func TestRunDispatch(t *testing.T) {
	t.Setenv(ctl.SocketEnv, filepath.Join(t.TempDir(), "none.sock"))
	tests := []struct {
		args     []string
		wantCode int
		wantErr  string
	}{
		{[]string{"/bin/trap"}, 2, "usage: trap"},
		{[]string{"trap", "status"}, 1, "none.sock"},
		{[]string{"/init", "trap", "continue"}, 1, "none.sock"},
		{[]string{"trap", "agent", "-bogus"}, 2, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(context.Background(), tt.args, &out, &errb)
			var ec exitCode
			if !errors.As(err, &ec) || int(ec) != tt.wantCode || !strings.Contains(errb.String(), tt.wantErr) {
				t.Errorf("run(%q) = %v, stderr %q, want exit %d and %q", tt.args, err, errb.String(), tt.wantCode, tt.wantErr)
			}
		})
	}
	if !isInit([]string{"/init"}) || isInit([]string{"/init", "trap", "status"}) || isInit([]string{"trap"}) {
		t.Errorf("isInit() wrong")
	}
}

// TestAgentOnHost runs `trap agent` as an ordinary process against a
// manifest file and talks to it with `trap status`.
func TestAgentOnHost(t *testing.T) {
	dir := t.TempDir()
	m := filepath.Join(dir, "m.json")
	if err := os.WriteFile(m, []byte(`{"version":1,"node":"cn005","mode":"trap","server":"http://127.0.0.1:1"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "trap.sock")
	ctx, cancel := context.WithCancel(context.Background())
	errb := &lockedBuffer{}
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"trap", "agent", "-root", dir, "-cmdline", filepath.Join(dir, "none"), "-manifest", m,
			"-ssh", "127.0.0.1:0", "-socket", sock, "-home", dir}, &bytes.Buffer{}, errb)
	}()
	t.Setenv(ctl.SocketEnv, sock)
	var out bytes.Buffer
	deadline := time.Now().Add(10 * time.Second)
	for {
		out.Reset()
		err := run(context.Background(), []string{"trap", "status"}, &out, &bytes.Buffer{})
		if err == nil && strings.Contains(out.String(), "phase:    trapped") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("trap status = %q, %v", out.String(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(out.String(), "node:     cn005") {
		t.Errorf("trap status = %q, want node cn005", out.String())
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("agent run = %v, want context.Canceled", err)
	}
}

// lockedBuffer is stderr shared by the logger and the console messages.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
