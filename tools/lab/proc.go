package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// StopGrace is how long Stop waits after SIGTERM before SIGKILL.
const StopGrace = 3 * time.Second

// Exec returns a command that runs name inside the lab's namespace
// (`ip netns exec NS name args...`; ip execs in place, so the command's PID
// is the program's PID). ctx cancellation kills it like exec.CommandContext.
func (l *Lab) Exec(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", l.ns, name}, args...)...)
}

// Run runs a short command inside the namespace and returns its combined
// output; the error includes the output.
func (l *Lab) Run(ctx context.Context, name string, args ...string) (string, error) {
	out, err := l.Exec(ctx, name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s in %s: %w: %s", name, strings.Join(args, " "), l.ns, err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

// Proc is a long-running process started by the lab.
type Proc struct {
	Name    string
	Cmd     *exec.Cmd
	LogPath string // stdout and stderr
	Started time.Time

	done    chan struct{}
	waitErr error
	logf    *os.File
	stopMu  sync.Mutex
}

var safeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// Start starts cmd (usually from Exec) with stdout and stderr appended to
// DIR/NAME.log and tracks it: Close stops it by PID (SIGTERM, then SIGKILL
// after StopGrace) and waits for it. Unless cmd.SysProcAttr is set, the
// process gets SIGKILL when the lab's process dies.
func (l *Lab) Start(name string, cmd *exec.Cmd) (*Proc, error) {
	if !safeName.MatchString(name) {
		return nil, fmt.Errorf("start %q: name must match %s", name, safeName)
	}
	if l.isClosed() {
		return nil, fmt.Errorf("start %s: lab closed", name)
	}
	logPath := filepath.Join(l.dir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start %s: log: %w", name, err)
	}
	if cmd.Stdout == nil {
		cmd.Stdout = f
	}
	if cmd.Stderr == nil {
		cmd.Stderr = f
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	}
	p := &Proc{Name: name, Cmd: cmd, LogPath: logPath, done: make(chan struct{}), logf: f}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s (%s): %w", name, cmd.Path, err)
	}
	p.Started = time.Now()
	go func() {
		p.waitErr = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	l.mu.Lock()
	l.procs = append(l.procs, p)
	l.mu.Unlock()
	l.push(fmt.Sprintf("process %s (pid %d)", name, p.PID()), p.Stop)
	l.log.Debug("lab process started", "name", name, "pid", p.PID(), "args", cmd.Args)
	return p, nil
}

// PID is the process ID.
func (p *Proc) PID() int {
	if p.Cmd.Process == nil {
		return 0
	}
	return p.Cmd.Process.Pid
}

// Alive reports whether the process is still running.
func (p *Proc) Alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Wait waits for the process to exit and returns its exit error.
func (p *Proc) Wait() error {
	<-p.done
	return p.waitErr
}

// Log returns what the process wrote so far.
func (p *Proc) Log() string {
	b, _ := os.ReadFile(p.LogPath)
	return string(b)
}

// Stop sends SIGTERM, then SIGKILL after StopGrace, and waits for the
// process. Stopping an exited process is not an error.
func (p *Proc) Stop() error {
	p.stopMu.Lock()
	defer p.stopMu.Unlock()
	if !p.Alive() {
		return nil
	}
	pid := p.PID()
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop %s (pid %d): %w", p.Name, pid, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(StopGrace):
	}
	if err := p.Cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill %s (pid %d): %w", p.Name, pid, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("kill %s (pid %d): still running 10 s after SIGKILL", p.Name, pid)
	}
}
