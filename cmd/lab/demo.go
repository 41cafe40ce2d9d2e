package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/disklesstrap/disklesstrap/tools/lab"
	"github.com/disklesstrap/disklesstrap/tools/labcluster"
)

// demoNodes is the built-in example cluster: two nodes held in the trap
// (BIOS and UEFI) and one provisioned stateless (mode ramroot: the lab's
// test OS packed by trapctl, squashfs lower + zram upper, switch_root).
var demoNodes = []labcluster.Node{
	{Name: "cn001", MAC: "52:54:00:18:00:01", IP: "198.18.0.11", Firmware: lab.BIOS},
	{Name: "cn002", MAC: "52:54:00:18:00:02", IP: "198.18.0.12", Firmware: lab.UEFI},
	{Name: "cn003", MAC: "52:54:00:18:00:03", IP: "198.18.0.13", Firmware: lab.BIOS, Mode: "ramroot"},
}

// demoImage packs the lab's test OS with trapctl and points the ramroot
// nodes at it.
func demoImage(ctx context.Context, c *labcluster.Cluster, stdout io.Writer) error {
	root, err := labcluster.RepoRoot()
	if err != nil {
		return err
	}
	osDir := filepath.Join(c.Dir, "testos")
	if out, err := exec.CommandContext(ctx, filepath.Join(root, "images/testos/build.sh"), osDir).CombinedOutput(); err != nil {
		return fmt.Errorf("images/testos/build.sh: %v\n%s", err, out)
	}
	if _, err := c.Trapctl(ctx, "image", "pack", osDir, "--name", "testos"); err != nil {
		return err
	}
	for _, n := range demoNodes {
		if n.Mode == "ramroot" {
			if _, err := c.Trapctl(ctx, "node", "set", n.Name, "image=testos"); err != nil {
				return err
			}
		}
	}
	fmt.Fprintln(stdout, "lab: trapctl image pack images/testos -> image testos (squashfs) in bootsrv's registry")
	return nil
}

// ready is what a demo node shows on its console when it is up: the trap
// prompt, or the test OS's marker for a provisioned node.
func ready(n labcluster.Node) (marker, what string) {
	if n.Mode == "ramroot" {
		return "DT-OS-BOOTED " + n.Name, "booted its OS image (ramroot: squashfs + zram overlay, switch_root)"
	}
	return "root@" + n.Name + "_DisklessTrap:/root#", "trapped"
}

func demo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("lab demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("boot-timeout", 6*time.Minute, "how long to wait for the nodes to come up")
	exitAfter := fs.Bool("exit-when-ready", false, "stop once the nodes are up (for scripted checks)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	fmt.Fprintln(stdout, "lab: building bootsrv, trapctl and the trap initramfs, starting bootsrv ...")
	c, err := labcluster.Start(ctx, nil, labcluster.Options{Nodes: demoNodes, Logger: log})
	if err != nil {
		return err
	}
	defer func() {
		fmt.Fprintln(stdout, "lab: stopping nodes and bootsrv, removing namespace", c.Lab.Namespace())
		c.Close()
	}()
	ctl, err := labcluster.GoBuild(ctx, "./cmd/trapctl", filepath.Join(c.Dir, "bin"))
	if err != nil {
		return err
	}
	if err := demoImage(ctx, c, stdout); err != nil {
		return err
	}
	var wg sync.WaitGroup
	errs := make([]error, len(demoNodes))
	for i, n := range demoNodes {
		node, err := c.Boot(n.Name)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "lab: %s (%s) powered on, PXE-booting; console log %s\n", n.Name, n.Firmware, node.ConsolePath)
		wg.Add(1)
		go func() {
			defer wg.Done()
			marker, what := ready(n)
			if err := node.WaitConsole(ctx, marker, *timeout); err != nil {
				errs[i] = fmt.Errorf("%s: %w", n.Name, err)
				return
			}
			fmt.Fprintf(stdout, "lab: %s %s after %.0fs\n", n.Name, what, node.Elapsed().Seconds())
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	ns := c.Lab.Namespace()
	fmt.Fprintf(stdout, "\nDisklessTrap demo: %d nodes are up.\n\n", len(demoNodes))
	if st, err := c.Trapctl(ctx, "status"); err == nil {
		fmt.Fprintf(stdout, "$ trapctl status\n%s\n", st)
	}
	var trapped []labcluster.Node
	for _, n := range demoNodes {
		if n.Mode == "ramroot" {
			fmt.Fprintf(stdout, "  %s runs the test OS (mode ramroot); its console:\n    socat - UNIX-CONNECT:%s\n", n.Name, c.Nodes[n.Name].SocketPath)
			continue
		}
		if err := c.WaitSSH(ctx, n.Name, time.Minute); err != nil {
			return err
		}
		trapped = append(trapped, n)
	}
	kh, err := pinHostKeys(ctx, c)
	if err != nil {
		return err
	}
	for _, n := range trapped {
		fmt.Fprintf(stdout, "  ssh into %s (in the trap):\n    %s\n", n.Name, pinnedSSH(c, n.Name, kh))
	}
	fmt.Fprintf(stdout, "\n  trapctl as the cluster's admin (root on bootsrv's admin socket; no token needed):\n"+
		"    export TRAPCTL_SERVER=unix://%s\n    %s status\n    %s audit\n", c.AdminSocket, ctl, ctl)
	fmt.Fprintf(stdout, "  a named token for an admin on another host (over TLS; revoke with %s admin token revoke alice):\n"+
		"    %s admin token create alice --out alice.json\n"+
		"    ip netns exec %s %s --credentials alice.json status\n", ctl, ctl, ns, ctl)
	fmt.Fprintf(stdout, "  leave the trap on cn001's console (type exit) with:\n    socat - UNIX-CONNECT:%s\n", c.Nodes["cn001"].SocketPath)
	fmt.Fprintf(stdout, "  inventory %s, bootsrv log %s\n", c.Inventory, c.Bootsrv.LogPath)
	if *exitAfter {
		return nil
	}
	fmt.Fprintln(stdout, "\nCtrl-C stops the demo and cleans up.")
	<-ctx.Done()
	return nil
}

func reap(stdout io.Writer) error {
	n, err := lab.Reap()
	fmt.Fprintf(stdout, "lab: removed %d stale lab namespaces\n", n)
	if err != nil {
		return err
	}
	_, _ = os.Stat("/")
	return nil
}
