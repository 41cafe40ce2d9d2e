package storm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// NetnsEnv is set in the environment of a process RunInNetns started; it
// holds the namespace's name.
const NetnsEnv = "DT_STORM_NETNS"

// InNetns reports whether this process runs inside a namespace that
// RunInNetns made for it.
func InNetns() bool { return os.Getenv(NetnsEnv) != "" }

// RunInNetns creates the network namespace dt<prefix>-<pid> (lo up, with
// 127.0.0.2/8 added so that tools which look addresses up on interfaces,
// like perfdhcp, find the relay address), runs argv inside it with
// NetnsEnv set, and deletes the namespace when argv exits or ctx ends
// (argv's process group is then killed by its ID). Needs root.
func RunInNetns(ctx context.Context, prefix string, argv []string, env []string, stdout, stderr io.Writer) error {
	if len(argv) == 0 {
		return errors.New("netns: no command")
	}
	ns := fmt.Sprintf("dt%s-%d", prefix, os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns add %s: %v: %s", ns, err, out)
	}
	defer exec.Command("ip", "netns", "del", ns).Run()
	for _, args := range [][]string{
		{"-n", ns, "link", "set", "lo", "up"},
		{"-n", ns, "addr", "add", RelayAddr.String() + "/8", "dev", "lo"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %v: %v: %s", args, err, out)
		}
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, argv...)...)
	cmd.Env = append(append(os.Environ(), NetnsEnv+"="+ns), env...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run in %s: %w", ns, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		pgid := cmd.Process.Pid
		syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-pgid, syscall.SIGKILL)
			<-done
		}
		return ctx.Err()
	}
}
