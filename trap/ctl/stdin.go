package ctl

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
)

// MaxStdin bounds what the client sends from its standard input.
const MaxStdin = 64 << 10

var (
	stdinMu       sync.RWMutex
	stdinCommands = map[string]bool{}
)

// RegisterStdinCommand makes the `trap` client send its standard input
// with the command name (e.g. "secret set"): `ssh node trap secret set
// luks < keyfile` carries the key into the agent's memory over the
// control socket, never through a file or a command line.
func RegisterStdinCommand(name string) {
	stdinMu.Lock()
	defer stdinMu.Unlock()
	stdinCommands[strings.Join(strings.Fields(name), " ")] = true
}

// ReadsStdin reports whether args start with a command registered by
// RegisterStdinCommand.
func ReadsStdin(args []string) bool {
	stdinMu.RLock()
	defer stdinMu.RUnlock()
	for n := len(args); n > 0; n-- {
		if stdinCommands[strings.Join(args[:n], " ")] {
			return true
		}
	}
	return false
}

type stdinKey struct{}

// WithStdin returns ctx carrying b as the command's standard input (what
// Serve does for each request; tests and host runs call it directly).
func WithStdin(ctx context.Context, b []byte) context.Context {
	if b == nil {
		return ctx
	}
	return context.WithValue(ctx, stdinKey{}, b)
}

// Stdin returns the client's standard input of the running command (nil
// when it sent none). The buffer is zeroed when the handler returns:
// copy what must be kept.
func Stdin(ctx context.Context) []byte {
	b, _ := ctx.Value(stdinKey{}).([]byte)
	return b
}

// readStdin reads at most MaxStdin bytes.
func readStdin(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxStdin+1))
	if err != nil {
		return nil, fmt.Errorf("read standard input: %w", err)
	}
	if len(b) > MaxStdin {
		zero(b)
		return nil, fmt.Errorf("standard input: more than %d bytes", MaxStdin)
	}
	return b, nil
}

func zero(b []byte) {
	for i := range b {
		b[i] = 0
	}
}
