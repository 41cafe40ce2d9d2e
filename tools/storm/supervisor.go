package storm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Supervisor runs one bootsrv process at a time and can SIGKILL and
// restart it. All processes it starts are its own children; it ends them by
// PID only.
type Supervisor struct {
	Bin  string   // bootsrv binary
	Args []string // its flags
	Log  string   // file that collects stdout and stderr of every run
	// Ready is the URL that answers 200 once the server serves
	// (http://127.0.0.1:8080/boot.ipxe).
	Ready string

	mu       sync.Mutex
	cmd      *exec.Cmd
	waited   chan struct{}
	starts   int
	logFile  *os.File
	readyCli *http.Client
}

// Start starts bootsrv and waits until Ready answers (at most 20 s).
func (s *Supervisor) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("bootsrv already running")
	}
	if s.logFile == nil {
		f, err := os.OpenFile(s.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("bootsrv log %s: %w", s.Log, err)
		}
		s.logFile = f
		s.readyCli = &http.Client{Timeout: time.Second}
	}
	fmt.Fprintf(s.logFile, "--- start %d at %s\n", s.starts+1, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(s.Bin, s.Args...)
	cmd.Stdout, cmd.Stderr = s.logFile, s.logFile
	// If this process dies, so does bootsrv.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.Bin, err)
	}
	s.starts++
	s.cmd = cmd
	s.waited = make(chan struct{})
	go func(c *exec.Cmd, done chan struct{}) { c.Wait(); close(done) }(cmd, s.waited)
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-s.waited:
			s.cmd = nil
			return fmt.Errorf("bootsrv exited during start-up (%s); see %s", cmd.ProcessState, s.Log)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if resp, err := s.readyCli.Get(s.Ready); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bootsrv not ready at %s after 20 s; see %s", s.Ready, s.Log)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// PID is the running bootsrv's process ID, 0 when none runs.
func (s *Supervisor) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Starts is how many times bootsrv was started.
func (s *Supervisor) Starts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.starts
}

// Kill sends SIGKILL to the running bootsrv and reaps it.
func (s *Supervisor) Kill() error { return s.stop(syscall.SIGKILL, 0) }

// Stop sends SIGTERM, waits up to grace, then SIGKILL.
func (s *Supervisor) Stop(grace time.Duration) error { return s.stop(syscall.SIGTERM, grace) }

func (s *Supervisor) stop(sig syscall.Signal, grace time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return nil
	}
	cmd, waited := s.cmd, s.waited
	s.cmd = nil
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal bootsrv %d: %w", cmd.Process.Pid, err)
	}
	if sig != syscall.SIGKILL {
		select {
		case <-waited:
			return nil
		case <-time.After(grace):
			cmd.Process.Kill()
		}
	}
	<-waited
	return nil
}

// Close stops bootsrv (SIGKILL) and closes the log.
func (s *Supervisor) Close() error {
	err := s.Kill()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.logFile != nil {
		s.logFile.Close()
		s.logFile = nil
	}
	return err
}
