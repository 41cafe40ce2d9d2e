package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/tools/lab"
	"github.com/disklesstrap/disklesstrap/tools/labcluster"
)

// TestPXEToTrapSSH boots one BIOS node (QEMU's iPXE ROM) and one UEFI node
// (OVMF's own PXE -> snponly.efi over TFTP -> iPXE) at the same time, logs
// in to both with the real OpenSSH client, and checks status, mode
// switches across a bootsrv restart, and --once.
func TestPXEToTrapSSH(t *testing.T) {
	requireLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	c, err := labcluster.Start(ctx, t, labcluster.Options{
		Initrd: sharedInitrd(t),
		Nodes: []labcluster.Node{
			{Name: "cn001", MAC: "52:54:00:18:00:01", IP: "198.18.0.11", Firmware: lab.BIOS},
			{Name: "cn002", MAC: "52:54:00:18:00:02", IP: "198.18.0.12", Firmware: lab.UEFI},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) { return c.Trapctl(ctx, args...) }

	nodes := map[string]*lab.Node{}
	for _, name := range []string{"cn001", "cn002"} {
		n, err := c.Boot(name)
		if err != nil {
			t.Fatal(err)
		}
		nodes[name] = n
	}

	var wg sync.WaitGroup
	for name, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			prompt := "root@" + name + "_DisklessTrap:/root#"
			if err := n.WaitConsole(ctx, prompt, 5*time.Minute); err != nil {
				t.Errorf("%s (%s): console prompt: %v", name, n.Spec.Firmware, err)
				return
			}
			t.Logf("TIMING %s (%s): power-on to trap prompt %.1fs", name, n.Spec.Firmware, n.Elapsed().Seconds())
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	k, _ := labcluster.FindKernel()
	for _, name := range []string{"cn001", "cn002"} {
		t.Run("ssh-"+name, func(t *testing.T) {
			if err := c.WaitSSH(ctx, name, 60*time.Second); err != nil {
				t.Fatal(err)
			}
			out, err := c.SSH(ctx, name, c.Key, "uname", "-r")
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSpace(out); got != k.Version {
				t.Errorf("uname -r on %s = %q, want %q", name, got, k.Version)
			}
			cmdline, err := c.SSH(ctx, name, c.Key, "cat /proc/cmdline")
			if err != nil {
				t.Fatal(err)
			}
			mac := nodes[name].MACs[0]
			for _, want := range []string{"BOOTIF=01-" + strings.ReplaceAll(mac, ":", "-"), "dt.node=" + name, "dt.server=" + c.URL} {
				if !strings.Contains(cmdline, want) {
					t.Errorf("/proc/cmdline on %s = %q, want it to contain %q", name, cmdline, want)
				}
			}
			// Exit status travels back.
			if _, err := c.SSH(ctx, name, c.Key, "exit 3"); err == nil || !strings.Contains(err.Error(), "exit status 3") {
				t.Errorf("ssh %s 'exit 3': err = %v, want exit status 3", name, err)
			}
			// A key that is not in the inventory is refused.
			if out, err := c.SSH(ctx, name, c.WrongKey, "true"); err == nil {
				t.Errorf("ssh %s with a key not in the inventory succeeded: %q", name, out)
			} else if !strings.Contains(err.Error(), "Permission denied") {
				t.Errorf("ssh %s with the wrong key: %v, want Permission denied", name, err)
			}
		})
	}

	t.Run("status", func(t *testing.T) {
		out, err := run("status")
		if err != nil {
			t.Fatalf("trapctl status: %v\n%s", err, out)
		}
		for _, name := range []string{"cn001", "cn002"} {
			if !lineHas(out, name, "trapped") {
				t.Errorf("trapctl status: no line with %s and phase trapped:\n%s", name, out)
			}
		}
		keys, err := run("hostkeys", "cn[001-002]")
		if err != nil || strings.Count(keys, "ssh-ed25519") != 2 {
			t.Errorf("trapctl hostkeys = %q, %v; want two ssh-ed25519 lines", keys, err)
		}
	})

	t.Run("fan-out", func(t *testing.T) {
		// trapctl ssh pins the host keys the nodes reported and groups
		// identical output under one node range, like clush -b.
		out, err := run("ssh", "cn[001-002]", "-i", c.Key, "--", "uname", "-r")
		if err != nil {
			t.Fatalf("trapctl ssh: %v\n%s", err, out)
		}
		if !strings.Contains(out, "cn[001-002] (2)") || !strings.Contains(out, k.Version) {
			t.Errorf("trapctl ssh cn[001-002] uname -r =\n%s\nwant one group cn[001-002] with %s", out, k.Version)
		}
		out, err = run("ssh", "cn[001-002]", "-i", c.WrongKey, "--", "true")
		if err == nil || !strings.Contains(out, "2 of 2 nodes failed") {
			t.Errorf("trapctl ssh with a key not in the inventory: %v\n%s\nwant both nodes failed", err, out)
		}
	})

	t.Run("known-hosts-and-sftp", func(t *testing.T) {
		keys, err := run("hostkeys", "cn001")
		if err != nil {
			t.Fatalf("trapctl hostkeys: %v\n%s", err, keys)
		}
		kh := filepath.Join(c.Dir, "known_hosts")
		if err := os.WriteFile(kh, []byte(keys), 0o600); err != nil {
			t.Fatal(err)
		}
		// Strict host key checking against trapctl's line proves the key the
		// node reported is the key it serves.
		strict := func(args ...string) (string, error) {
			full := append([]string{"netns", "exec", c.Lab.Namespace()}, args...)
			out, err := exec.CommandContext(ctx, "ip", full...).CombinedOutput()
			return string(out), err
		}
		opts := []string{"-i", c.Key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
			"-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=" + kh}
		if out, err := strict(append(append([]string{"ssh"}, opts...), "root@198.18.0.11", "hostname")...); err != nil || strings.TrimSpace(out) != "cn001" {
			t.Errorf("ssh with StrictHostKeyChecking and trapctl's known_hosts: %q, %v; want cn001", out, err)
		}
		// sftp (the subsystem) puts a file that the shell then reads.
		payload := filepath.Join(c.Dir, "payload.txt")
		os.WriteFile(payload, []byte("hello from sftp\n"), 0o644)
		batch := filepath.Join(c.Dir, "sftp.batch")
		os.WriteFile(batch, []byte("put "+payload+" /tmp/payload.txt\n"), 0o644)
		if out, err := strict(append(append([]string{"sftp"}, opts...), "-b", batch, "root@198.18.0.11")...); err != nil {
			t.Fatalf("sftp put: %v\n%s", err, out)
		}
		if out, err := c.SSH(ctx, "cn001", c.Key, "cat /tmp/payload.txt"); err != nil || out != "hello from sftp\n" {
			t.Errorf("file put by sftp reads %q, %v", out, err)
		}
	})

	t.Run("forged-events", func(t *testing.T) {
		// From cn001's own address, as a process without the agent's boot
		// key (busybox wget copied in by sftp): forged events for cn001
		// and for cn002, a forged host key for cn002, a guessed OS token:
		// all refused, and nothing of them reaches the state.
		testNodeForgery(ctx, t, c, "cn001", "cn002")
	})

	t.Run("leave-the-trap", func(t *testing.T) {
		// `exit` on cn001's serial console leaves the trap. Its mode is
		// trap with nothing to continue to, so it says so and traps again.
		n := nodes["cn001"]
		off := n.ConsoleOffset()
		if err := n.SendConsole("exit\n"); err != nil {
			t.Fatal(err)
		}
		if _, err := n.WaitConsoleFrom(ctx, off, regexp.MustCompile(`nothing to continue to`), time.Minute); err != nil {
			t.Fatalf("console exit: %v", err)
		}
		if _, err := n.WaitConsoleFrom(ctx, off, regexp.MustCompile(`root@cn001_DisklessTrap:/root#`), time.Minute); err != nil {
			t.Fatalf("back in the trap after exit: %v", err)
		}
		// The agent's own (signed) events still flow after the forgeries.
		if out, err := waitEvents(ctx, c, "cn001", "nothing to continue to"); err != nil {
			t.Errorf("cn001's own continue event after the forged ones: %v\n%s", err, out)
		}
		// `trap continue` over SSH on cn002 does the same.
		off = nodes["cn002"].ConsoleOffset()
		if out, err := c.SSH(ctx, "cn002", c.Key, "trap continue"); err != nil {
			t.Logf("trap continue: %v (%s)", err, out)
		}
		if _, err := nodes["cn002"].WaitConsoleFrom(ctx, off, regexp.MustCompile(`nothing to continue to`), time.Minute); err != nil {
			t.Fatalf("trap continue: %v", err)
		}
		if err := c.WaitSSH(ctx, "cn002", time.Minute); err != nil {
			t.Fatalf("ssh after trap continue: %v", err)
		}
		out, err := run("events", "cn002")
		if err != nil {
			t.Fatalf("trapctl events: %v\n%s", err, out)
		}
		if !strings.Contains(out, "continue") || !strings.Contains(out, "nothing to continue to") {
			t.Errorf("trapctl events cn002 lacks the continue and its error:\n%s", out)
		}
	})

	t.Run("discovery", func(t *testing.T) {
		// A MAC the inventory does not know gets a pool address and the trap
		// in discovery mode, and registers its hardware.
		n, err := c.Lab.Boot(lab.NodeSpec{Name: "unknown", Firmware: lab.BIOS, MACs: []string{"52:54:00:18:00:99"}, MemoryMB: 768})
		if err != nil {
			t.Fatal(err)
		}
		if err := n.WaitConsole(ctx, "root@mac-525400180099_DisklessTrap:/root#", 5*time.Minute); err != nil {
			t.Fatal(err)
		}
		t.Logf("TIMING unknown node (bios): power-on to discovery trap %.1fs", n.Elapsed().Seconds())
		deadline := time.Now().Add(30 * time.Second)
		var out string
		for time.Now().Before(deadline) {
			out, _ = run("-o", "json", "events", "mac-525400180099")
			if strings.Contains(out, "discovered") {
				break
			}
			time.Sleep(time.Second)
		}
		if !strings.Contains(out, "discovered") || !strings.Contains(out, "52:54:00:18:00:99") {
			t.Errorf("trapctl events mac-525400180099 lacks the discovered inventory:\n%s", out)
		}
		st, err := run("status")
		if err != nil || !lineHas(st, "mac-525400180099", "discovery", "198.18.0.2") {
			t.Errorf("trapctl status = %v\n%s\nwant mac-525400180099 in discovery with a pool address", err, st)
		}
		n.Stop()
	})

	t.Run("mode-survives-restart-and-once", func(t *testing.T) {
		if out, err := run("mode", "set", "cn001", "local"); err != nil {
			t.Fatalf("trapctl mode set: %v\n%s", err, out)
		}
		if out, err := run("mode", "set", "cn002", "service", "--once"); err != nil {
			t.Fatalf("trapctl mode set --once: %v\n%s", err, out)
		}
		if err := c.StopBootsrv(); err != nil {
			t.Logf("stop bootsrv: %v", err)
		}
		if err := c.StartBootsrv(ctx); err != nil {
			t.Fatal(err)
		}
		out, err := run("status", "cn[001-002]")
		if err != nil {
			t.Fatalf("trapctl status: %v\n%s", err, out)
		}
		if !lineHas(out, "cn001", "local") || !lineHas(out, "cn002", "service") {
			t.Errorf("after restart, trapctl status =\n%s\nwant cn001 local and cn002 service", out)
		}
		// The once mode applies to one boot: the next script has it, the
		// one after that has the persistent mode again.
		for i, want := range []string{"dt.mode=service", "dt.mode=trap"} {
			script, err := c.API.IPXEScript(ctx, nodes["cn002"].MACs[0], "efi")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(script, want) {
				t.Errorf("boot %d of cn002: iPXE script lacks %q:\n%s", i+1, want, script)
			}
		}
		script, err := c.API.IPXEScript(ctx, nodes["cn001"].MACs[0], "pcbios")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(script, "sanboot") {
			t.Errorf("cn001 in mode local: script lacks sanboot:\n%s", script)
		}
	})
}

// lineHas reports whether one line of out contains every word.
func lineHas(out string, words ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		ok := true
		for _, w := range words {
			if !strings.Contains(line, w) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

var _ = fmt.Sprintf
