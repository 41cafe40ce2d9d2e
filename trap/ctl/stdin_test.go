package ctl

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadsStdin(t *testing.T) {
	RegisterStdinCommand("secret  set")
	tests := []struct {
		args []string
		want bool
	}{
		{[]string{"secret", "set", "luks"}, true},
		{[]string{"secret", "set"}, true},
		{[]string{"secret"}, false},
		{[]string{"status"}, false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := ReadsStdin(tt.args); got != tt.want {
			t.Errorf("ReadsStdin(%q) = %v, want %v", tt.args, got, tt.want)
		}
	}
}

// The request's stdin reaches the handler through the context and is
// zeroed when the handler returns.
func TestCallWithStdin(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "trap.sock")
	l, err := Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var kept []byte
	go Serve(ctx, l, func(ctx context.Context, args []string, out io.Writer) error {
		in := Stdin(ctx)
		kept = in
		fmt.Fprintf(out, "%s got %d bytes\n", strings.Join(args, " "), len(in))
		return nil
	}, quiet)
	tests := []struct {
		name  string
		stdin []byte
		want  string
	}{
		{"secret", []byte("s3cret\n"), "secret set k got 7 bytes\n"},
		{"none", nil, "secret set k got 0 bytes\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := CallWithStdin(ctx, sock, []string{"secret", "set", "k"}, tt.stdin, &out); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want {
				t.Errorf("CallWithStdin(%q) output = %q, want %q", tt.stdin, out.String(), tt.want)
			}
			if bytes.Contains(kept, []byte("s3cret")) {
				t.Errorf("the handler's stdin buffer still holds the secret after the command: %q", kept)
			}
		})
	}
}

func TestReadStdinLimit(t *testing.T) {
	if _, err := readStdin(bytes.NewReader(make([]byte, MaxStdin+1))); err == nil {
		t.Errorf("readStdin(%d bytes) = nil error, want a limit error", MaxStdin+1)
	}
	if b, err := readStdin(strings.NewReader("key")); err != nil || string(b) != "key" {
		t.Errorf("readStdin(key) = %q, %v", b, err)
	}
}
