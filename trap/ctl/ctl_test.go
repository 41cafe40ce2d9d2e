package ctl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestCallServe(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "trap.sock")
	l, err := Listen(sock)
	if err != nil {
		t.Fatalf("Listen() error = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, l, func(_ context.Context, args []string, out io.Writer) error {
			switch strings.Join(args, " ") {
			case "status":
				fmt.Fprintln(out, "phase: trapped")
				return nil
			case "stream":
				for i := 0; i < 3; i++ {
					fmt.Fprintf(out, "line %d\n", i)
				}
				return errors.New("step 2 (zram) failed: no zram")
			}
			return fmt.Errorf("unknown command %q", strings.Join(args, " "))
		}, quiet)
	}()
	tests := []struct {
		args    []string
		wantOut string
		wantErr string
	}{
		{[]string{"status"}, "phase: trapped\n", ""},
		{[]string{"stream"}, "line 0\nline 1\nline 2\n", "step 2 (zram) failed: no zram"},
		{[]string{"bogus", "x"}, "", `unknown command "bogus x"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out bytes.Buffer
			err := Call(context.Background(), sock, tt.args, &out)
			if out.String() != tt.wantOut || (err == nil) != (tt.wantErr == "") || (err != nil && err.Error() != tt.wantErr) {
				t.Errorf("Call(%q) = %q, %v, want %q, %q", tt.args, out.String(), err, tt.wantOut, tt.wantErr)
			}
		})
	}
	// A second agent on the same socket is refused.
	if _, err := Listen(sock); err == nil || !strings.Contains(err.Error(), "another agent") {
		t.Errorf("Listen(busy) error = %v, want another agent", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve() = %v, want nil after cancel", err)
	}
	// Stale socket file from a dead agent is replaced.
	l2, err := Listen(sock)
	if err != nil {
		t.Fatalf("Listen(stale) error = %v", err)
	}
	l2.Close()
}

func TestCLIMain(t *testing.T) {
	t.Setenv(SocketEnv, filepath.Join(t.TempDir(), "none.sock"))
	var out, errb bytes.Buffer
	if code := Main(nil, &out, &errb); code != 2 || !strings.Contains(errb.String(), "trap continue") {
		t.Errorf("Main(nil) = %d, stderr %q, want 2 and usage", code, errb.String())
	}
	errb.Reset()
	if code := Main([]string{"status"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "none.sock") {
		t.Errorf("Main(status, no agent) = %d, stderr %q, want 1 naming the socket", code, errb.String())
	}
}
