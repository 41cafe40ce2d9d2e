// Package ctl is the control channel between the `trap` command and the
// running agent: a unix socket (/run/trap.sock) carrying one request per
// connection. The client sends a JSON line {"args":[...]}; the server
// streams JSON lines {"out":"..."} while the command runs and ends with
// {"done":true,"error":"..."}. Streaming lets long steps (`trap image
// fetch`) show progress.
package ctl

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"
)

// DefaultSocket is where the agent listens inside the initramfs.
const DefaultSocket = "/run/trap.sock"

// SocketEnv overrides the socket path for both sides (host tests).
const SocketEnv = "DT_TRAP_SOCK"

// Socket returns $DT_TRAP_SOCK or DefaultSocket.
func Socket() string {
	if s := os.Getenv(SocketEnv); s != "" {
		return s
	}
	return DefaultSocket
}

// Request is what the client sends.
type Request struct {
	Args []string `json:"args"`
	// Stdin is the client's standard input for the commands that read it
	// (see StdinCommands): secrets pushed into the agent's memory. It is
	// never logged.
	Stdin []byte `json:"stdin,omitempty"`
}

// Frame is one line of the server's answer.
type Frame struct {
	Out   string `json:"out,omitempty"`
	Done  bool   `json:"done,omitempty"`
	Error string `json:"error,omitempty"`
}

// Handler runs one command, writing its output to out. The returned
// error is shown to the client and sets its exit status.
type Handler func(ctx context.Context, args []string, out io.Writer) error

// Listen opens the socket at path, replacing a stale one, mode 0600.
func Listen(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("listen %s: another agent is running", path)
		}
		_ = os.Remove(path)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("chmod %s: %w", path, err)
	}
	return l, nil
}

// Serve answers requests on l until ctx is done or l is closed. Each
// connection runs in its own goroutine.
func Serve(ctx context.Context, l net.Listener, h Handler, log *slog.Logger) error {
	if log == nil {
		log = slog.Default()
	}
	go func() {
		<-ctx.Done()
		l.Close()
	}()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("accept on control socket: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			serveConn(ctx, c, h, log)
		}()
	}
}

// frameWriter turns writes into {"out":...} frames.
type frameWriter struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (w *frameWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.enc.Encode(Frame{Out: string(p)}); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (w *frameWriter) done(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f := Frame{Done: true}
	if err != nil {
		f.Error = err.Error()
	}
	_ = w.enc.Encode(f)
}

func serveConn(ctx context.Context, c net.Conn, h Handler, log *slog.Logger) {
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(io.LimitReader(c, 1<<20)).ReadBytes('\n')
	if err != nil {
		log.Warn("control request", "err", err)
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	var req Request
	w := &frameWriter{enc: json.NewEncoder(c)}
	if err := json.Unmarshal(line, &req); err != nil {
		w.done(fmt.Errorf("bad request: %w", err))
		return
	}
	log.Info("trap command", "args", req.Args)
	err = h(WithStdin(ctx, req.Stdin), req.Args, w)
	zero(req.Stdin)
	zero(line)
	w.done(err)
}

// Call sends args to the agent at socket and copies the streamed output
// to out. It returns the command's error.
func Call(ctx context.Context, socket string, args []string, out io.Writer) error {
	return CallWithStdin(ctx, socket, args, nil, out)
}

// CallWithStdin is Call sending stdin along (Request.Stdin).
func CallWithStdin(ctx context.Context, socket string, args []string, stdin []byte, out io.Writer) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return fmt.Errorf("connect to the trap agent at %s: %w", socket, err)
	}
	defer c.Close()
	go func() {
		<-ctx.Done()
		c.Close()
	}()
	if err := json.NewEncoder(c).Encode(Request{Args: args, Stdin: stdin}); err != nil {
		return fmt.Errorf("send to %s: %w", socket, err)
	}
	dec := json.NewDecoder(c)
	for {
		var f Frame
		if err := dec.Decode(&f); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("read from %s: agent closed the connection: %w", socket, err)
		}
		if f.Out != "" {
			if _, err := io.WriteString(out, f.Out); err != nil {
				return err
			}
		}
		if f.Done {
			if f.Error != "" {
				return errors.New(f.Error)
			}
			return nil
		}
	}
}
