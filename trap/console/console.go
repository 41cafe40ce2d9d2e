// Package console runs the trap's console shell: /bin/sh (busybox ash in
// the initramfs) on the system console, as a session leader with the
// console as its controlling terminal, so job control and ^C work.
//
// When the shell exits (the admin types `exit`), Run returns and the agent
// leaves the trap. Tests run it on pipes instead of a tty.
package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Config describes the console shell.
type Config struct {
	// TTY is the terminal device to open ("/dev/console" is resolved to
	// the active console device, e.g. /dev/ttyS0, when /sys says so).
	// Empty: use Stdin/Stdout/Stderr as given (tests: pipes).
	TTY string
	// Stdin, Stdout, Stderr are used when TTY is empty. Give an *os.File
	// (os.Pipe) as Stdin: any other reader is copied by a goroutine that
	// outlives the shell and may swallow input meant for the next one.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Shell and its arguments. Default "/bin/sh".
	Shell string
	Args  []string
	// Env is the shell's environment (PS1, HOME, PATH, TERM...).
	Env []string
	// Dir is the working directory. Default "/".
	Dir string
	// SysRoot is where /sys/class/tty/console/active is looked up
	// (default "/"; tests use a fake tree).
	SysRoot string
}

// Prompt is the shell prompt on the trap's console and SSH sessions.
func Prompt(node string) string {
	if node == "" {
		node = "unknown"
	}
	return "root@" + node + "_DisklessTrap:/root# "
}

// ActiveTTY resolves /dev/console to the device the kernel writes the
// console to (the last entry of /sys/class/tty/console/active, e.g.
// "tty0 ttyS0" -> /dev/ttyS0), so the shell gets a real controlling
// terminal. It returns path unchanged when it cannot tell.
func ActiveTTY(sysRoot, path string) string {
	if path != "/dev/console" {
		return path
	}
	if sysRoot == "" {
		sysRoot = "/"
	}
	b, err := os.ReadFile(filepath.Join(sysRoot, "sys/class/tty/console/active"))
	if err != nil {
		return path
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return path
	}
	dev := filepath.Join("/dev", filepath.Base(f[len(f)-1]))
	if _, err := os.Stat(dev); err != nil {
		return path
	}
	return dev
}

// Run starts the shell and waits for it to exit. Cancelling ctx ends the
// shell (SIGHUP to its session, then SIGKILL) and Run returns ctx.Err().
// A shell that exits by itself returns nil, whatever its status: the
// admin typed `exit`. A shell that cannot start returns the error.
func Run(ctx context.Context, cfg Config) error {
	shell := cfg.Shell
	if shell == "" {
		shell = "/bin/sh"
	}
	cmd := exec.Command(shell, cfg.Args...)
	cmd.Env = cfg.Env
	cmd.Dir = cfg.Dir
	if cmd.Dir == "" {
		cmd.Dir = "/"
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.WaitDelay = time.Second // do not hang on copiers of non-file stdio
	if cfg.TTY != "" {
		dev := ActiveTTY(cfg.SysRoot, cfg.TTY)
		tty, err := os.OpenFile(dev, os.O_RDWR|syscall.O_NOCTTY, 0)
		if err != nil {
			return fmt.Errorf("console shell: open %s: %w", dev, err)
		}
		defer tty.Close()
		cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
		cmd.SysProcAttr.Setctty = true
		cmd.SysProcAttr.Ctty = 0 // the child's fd 0
	} else {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = cfg.Stdin, cfg.Stdout, cfg.Stderr
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("console shell %s: %w", shell, err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			return fmt.Errorf("console shell %s: %w", shell, err)
		}
		return nil
	case <-ctx.Done():
		pid := cmd.Process.Pid
		_ = syscall.Kill(-pid, syscall.SIGHUP)
		select {
		case <-waited:
		case <-time.After(2 * time.Second):
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			<-waited
		}
		return ctx.Err()
	}
}
