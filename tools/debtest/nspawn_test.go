package debtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// container is the root booted with systemd-nspawn -b: systemd as PID 1
// of its own namespaces (private network: only lo).
type container struct {
	cmd  *exec.Cmd
	init int // the container's PID 1, as the host sees it
}

// bootRoot boots root under systemd-nspawn and waits for its systemd.
func bootRoot(t *testing.T, ctx context.Context, root string) *container {
	t.Helper()
	cmd := exec.CommandContext(ctx, "systemd-nspawn", "-D", root, "-b", "--private-network",
		"--register=no", "--keep-unit", "--console=pipe", "-q")
	cmd.Stdout, cmd.Stderr = &strings.Builder{}, &strings.Builder{}
	if err := cmd.Start(); err != nil {
		t.Fatalf("systemd-nspawn: %v", err)
	}
	c := &container{cmd: cmd}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt) // nspawn powers the container off
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", cmd.Process.Pid, cmd.Process.Pid))
		if f := strings.Fields(string(b)); len(f) > 0 {
			c.init, _ = strconv.Atoi(f[0])
			if out, _ := c.exec(ctx, "systemctl is-system-running --wait"); strings.Contains(out, "running") || strings.Contains(out, "degraded") {
				return c
			}
		}
		time.Sleep(time.Second)
	}
	t.Fatalf("systemd did not come up in the container:\n%s\n%s", cmd.Stdout, cmd.Stderr)
	return nil
}

// exec runs a shell command inside the container's namespaces.
func (c *container) exec(ctx context.Context, script string) (string, error) {
	cmd := exec.CommandContext(ctx, "nsenter", "-t", strconv.Itoa(c.init), "-m", "-u", "-i", "-n", "-p",
		"/bin/sh", "-c", script)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// underSystemd boots the installed root with systemd and runs bootsrv.service
// for real: Type=notify readiness with its status line, the sandbox and the
// unprivileged user, a reload refused for a broken cluster.yaml (the
// service keeps running), a good reload, and a clean stop.
func underSystemd(t *testing.T, ctx context.Context, root string) {
	if _, err := exec.LookPath("systemd-nspawn"); err != nil {
		t.Fatalf("systemd-nspawn: %v (package systemd-container; make lab-deps)", err)
	}
	if out, err := chroot(ctx, root, "systemctl enable bootsrv.service"); err != nil {
		t.Fatalf("systemctl enable bootsrv: %v\n%s", err, out)
	}
	c := bootRoot(t, ctx, root)
	must := func(script, want string) string {
		t.Helper()
		out, err := c.exec(ctx, script)
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("%s: %v\n%s\nwant %q", script, err, out, want)
		}
		return out
	}
	must("systemctl is-active bootsrv", "active")
	for _, want := range []string{"Type=notify\n", "NRestarts=0\n", "StatusText=serving 0 nodes\n", "User=disklesstrap\n"} {
		must("systemctl show -p StatusText -p User -p Type -p NRestarts bootsrv", want)
	}
	must("ps -o user:20=,comm= -C bootsrv", "disklesstrap")
	must("grep -E '^(CapEff|CapAmb)' /proc/$(systemctl show -p MainPID --value bootsrv)/status", "CapEff:\t0000000000000400\nCapAmb:\t0000000000000400")
	must("journalctl -u bootsrv -o cat --no-pager", `"msg":"bootsrv serving"`)

	// A broken edit: the reload fails on the check, bootsrv keeps serving.
	must("cp /etc/disklesstrap/cluster.yaml /root/good.yaml && sed -i 's/^  mode: trap/  mode: fly/' /etc/disklesstrap/cluster.yaml && "+
		"if systemctl reload bootsrv; then echo reloaded; else echo refused; fi; systemctl is-active bootsrv; journalctl -u bootsrv -o cat --no-pager | tail -5",
		"refused\nactive\n")
	must("journalctl -u bootsrv -o cat --no-pager", `/etc/disklesstrap/cluster.yaml:26: defaults.mode: unknown mode "fly"`)
	// systemd's reload ends when kill -HUP has been sent; the log line follows.
	must("cp /root/good.yaml /etc/disklesstrap/cluster.yaml && systemctl reload bootsrv && "+
		"for i in $(seq 50); do journalctl -u bootsrv -o cat --no-pager | grep -q 'inventory reloaded' && break; sleep 0.2; done; "+
		"journalctl -u bootsrv -o cat --no-pager | tail -3",
		`"msg":"inventory reloaded"`)
	must("systemctl stop bootsrv; systemctl is-active bootsrv || true", "inactive")
	out, _ := c.exec(ctx, "journalctl -u bootsrv -o cat --no-pager")
	t.Logf("journalctl -u bootsrv in the container:\n%s", lastLines(out, 12))
}
