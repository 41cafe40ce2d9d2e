package sshd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// session is one "session" channel: at most one shell, exec or subsystem.
type session struct {
	srv     *Server
	ch      ssh.Channel
	user    string
	env     []string
	mu      sync.Mutex
	ptyReq  *ptyRequest
	ptmx    *os.File
	proc    *os.Process
	started bool
}

// ptyRequest is RFC 4254 6.2 "pty-req".
type ptyRequest struct {
	Term   string
	Cols   uint32
	Rows   uint32
	Width  uint32
	Height uint32
	Modes  string
}

// windowChange is RFC 4254 6.7 "window-change".
type windowChange struct {
	Cols, Rows, Width, Height uint32
}

func (s *session) serve(ctx context.Context, reqs <-chan *ssh.Request) {
	defer s.ch.Close()
	done := make(chan struct{})
	for {
		select {
		case <-done:
			// The command finished and exit-status went out; refuse what
			// still arrives so the connection's reader never stalls.
			go func() {
				for req := range reqs {
					if req.WantReply {
						_ = req.Reply(false, nil)
					}
				}
			}()
			return
		case req, ok := <-reqs:
			if !ok { // client closed the channel
				if s.started {
					s.kill()
					<-done
				}
				return
			}
			s.handle(ctx, req, done)
		}
	}
}

func (s *session) handle(ctx context.Context, req *ssh.Request, done chan struct{}) {
	ok := false
	switch req.Type {
	case "pty-req":
		var p ptyRequest
		if err := ssh.Unmarshal(req.Payload, &p); err == nil {
			s.mu.Lock()
			s.ptyReq = &p
			s.mu.Unlock()
			ok = true
		}
	case "window-change":
		var w windowChange
		if err := ssh.Unmarshal(req.Payload, &w); err == nil {
			s.mu.Lock()
			if s.ptmx != nil {
				_ = pty.Setsize(s.ptmx, &pty.Winsize{Rows: uint16(w.Rows), Cols: uint16(w.Cols)})
			} else if s.ptyReq != nil {
				s.ptyReq.Cols, s.ptyReq.Rows = w.Cols, w.Rows
			}
			s.mu.Unlock()
			ok = true
		}
	case "env":
		var kv struct{ Name, Value string }
		if err := ssh.Unmarshal(req.Payload, &kv); err == nil && kv.Name != "" && !strings.ContainsAny(kv.Name, "=\x00") {
			s.env = append(s.env, kv.Name+"="+kv.Value)
			ok = true
		}
	case "signal":
		var sig struct{ Name string }
		if err := ssh.Unmarshal(req.Payload, &sig); err == nil {
			ok = s.signal(sig.Name)
		}
	case "shell", "exec", "subsystem":
		if s.started {
			break
		}
		var arg struct{ Value string }
		if req.Type != "shell" {
			if err := ssh.Unmarshal(req.Payload, &arg); err != nil {
				break
			}
		}
		start, err := s.prepare(ctx, req.Type, arg.Value)
		if err != nil {
			s.srv.log.Warn("ssh session refused", "type", req.Type, "err", err)
			break
		}
		s.started, ok = true, true
		if req.WantReply {
			_ = req.Reply(true, nil)
		}
		go func() {
			defer close(done)
			s.exit(start())
		}()
		return
	}
	if req.WantReply {
		_ = req.Reply(ok, nil)
	}
}

// prepare validates the request and returns the function that runs it
// and returns the exit status.
func (s *session) prepare(ctx context.Context, kind, arg string) (func() exitStatus, error) {
	if kind == "subsystem" {
		if arg != "sftp" {
			return nil, fmt.Errorf("subsystem %q not supported", arg)
		}
		return s.sftp, nil
	}
	args := []string{}
	if kind == "exec" {
		if pre := s.srv.cfg.ExecPrelude; pre != "" {
			arg = pre + "\n" + arg
		}
		args = []string{"-c", arg}
	}
	cmd := exec.CommandContext(ctx, s.srv.cfg.Shell, args...)
	cmd.Dir = s.srv.cfg.Dir
	cmd.Env = append(append([]string{}, s.srv.cfg.Env...), "USER="+s.user, "LOGNAME="+s.user, "SHELL="+s.srv.cfg.Shell)
	s.mu.Lock()
	p := s.ptyReq
	s.mu.Unlock()
	if p != nil && p.Term != "" {
		cmd.Env = append(cmd.Env, "TERM="+p.Term)
	}
	cmd.Env = append(cmd.Env, s.env...)
	s.srv.log.Info("ssh session", "type", kind, "user", s.user, "pty", p != nil, "command", arg)
	if p != nil {
		return func() exitStatus { return s.runPTY(cmd, p) }, nil
	}
	return func() exitStatus { return s.runPipes(cmd) }, nil
}

type exitStatus struct {
	code   int
	signal string
}

func (s *session) runPipes(cmd *exec.Cmd) exitStatus {
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return s.startFailed(err)
	}
	cmd.Stdout = s.ch
	cmd.Stderr = s.ch.Stderr()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return s.startFailed(err)
	}
	s.setProc(cmd.Process, nil)
	go func() {
		_, _ = io.Copy(stdin, s.ch)
		stdin.Close()
	}()
	return status(cmd.Wait())
}

func (s *session) runPTY(cmd *exec.Cmd, p *ptyRequest) exitStatus {
	ws := &pty.Winsize{Rows: uint16(p.Rows), Cols: uint16(p.Cols)}
	if ws.Rows == 0 || ws.Cols == 0 {
		ws = &pty.Winsize{Rows: 24, Cols: 80}
	}
	ptmx, err := pty.StartWithSize(cmd, ws)
	if err != nil {
		return s.startFailed(err)
	}
	s.setProc(cmd.Process, ptmx)
	go func() { _, _ = io.Copy(ptmx, s.ch) }()
	out := make(chan struct{})
	go func() {
		_, _ = io.Copy(s.ch, ptmx)
		close(out)
	}()
	st := status(cmd.Wait())
	select { // drain what the shell wrote last; a background job may hold the tty
	case <-out:
	case <-time.After(time.Second):
	}
	s.mu.Lock()
	ptmx.Close()
	s.ptmx = nil
	s.mu.Unlock()
	return st
}

func (s *session) sftp() exitStatus {
	srv, err := sftp.NewServer(s.ch, sftp.WithServerWorkingDirectory(s.srv.cfg.Dir))
	if err != nil {
		return s.startFailed(err)
	}
	if err := srv.Serve(); err != nil && !errors.Is(err, io.EOF) {
		s.srv.log.Warn("sftp session", "err", err)
		return exitStatus{code: 1}
	}
	return exitStatus{}
}

func (s *session) startFailed(err error) exitStatus {
	fmt.Fprintf(s.ch.Stderr(), "trap sshd: %v\r\n", err)
	s.srv.log.Warn("ssh session start", "err", err)
	return exitStatus{code: 127}
}

func (s *session) setProc(p *os.Process, ptmx *os.File) {
	s.mu.Lock()
	s.proc, s.ptmx = p, ptmx
	s.mu.Unlock()
}

// exit sends exit-status (or exit-signal) and closes the channel.
func (s *session) exit(st exitStatus) {
	if st.signal != "" {
		_, _ = s.ch.SendRequest("exit-signal", false, ssh.Marshal(struct {
			Signal     string
			CoreDumped bool
			Msg, Lang  string
		}{Signal: st.signal}))
	} else {
		_, _ = s.ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(st.code)}))
	}
	_ = s.ch.CloseWrite()
	_ = s.ch.Close()
}

func (s *session) kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		_ = syscall.Kill(-s.proc.Pid, syscall.SIGHUP)
		_ = s.proc.Kill()
	}
}

var signals = map[string]syscall.Signal{
	"HUP": syscall.SIGHUP, "INT": syscall.SIGINT, "KILL": syscall.SIGKILL, "TERM": syscall.SIGTERM,
	"QUIT": syscall.SIGQUIT, "USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2,
}

func (s *session) signal(name string) bool {
	sig, ok := signals[name]
	s.mu.Lock()
	defer s.mu.Unlock()
	if !ok || s.proc == nil {
		return false
	}
	return s.proc.Signal(sig) == nil
}

var signalNames = map[syscall.Signal]string{}

func init() {
	for n, s := range signals {
		signalNames[s] = n
	}
}

func status(err error) exitStatus {
	if err == nil {
		return exitStatus{}
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			if n, ok := signalNames[ws.Signal()]; ok {
				return exitStatus{signal: n}
			}
			return exitStatus{code: 128 + int(ws.Signal())}
		}
		return exitStatus{code: ee.ExitCode()}
	}
	return exitStatus{code: 255}
}
