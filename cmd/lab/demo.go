package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/disklesstrap/disklesstrap/tools/lab"
	"github.com/disklesstrap/disklesstrap/tools/labcluster"
)

// demoNodes is the built-in example cluster.
var demoNodes = []labcluster.Node{
	{Name: "cn001", MAC: "52:54:00:18:00:01", IP: "198.18.0.11", Firmware: lab.BIOS},
	{Name: "cn002", MAC: "52:54:00:18:00:02", IP: "198.18.0.12", Firmware: lab.UEFI},
}

func demo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("lab demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	timeout := fs.Duration("boot-timeout", 6*time.Minute, "how long to wait for the nodes to reach the trap")
	exitAfter := fs.Bool("exit-when-ready", false, "stop once the nodes are trapped (for scripted checks)")
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
			if err := node.WaitConsole(ctx, "root@"+n.Name+"_DisklessTrap:/root#", *timeout); err != nil {
				errs[i] = fmt.Errorf("%s: %w", n.Name, err)
				return
			}
			fmt.Fprintf(stdout, "lab: %s trapped after %.0fs\n", n.Name, node.Elapsed().Seconds())
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	ns := c.Lab.Namespace()
	fmt.Fprintf(stdout, "\nDisklessTrap demo: %d nodes are in the trap.\n\n", len(demoNodes))
	for _, n := range demoNodes {
		if err := c.WaitSSH(ctx, n.Name, time.Minute); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "  ssh into %s:\n    %s\n", n.Name, strings.Join(c.SSHArgs(n.Name, c.Key), " "))
	}
	fmt.Fprintf(stdout, "\n  cluster status:\n    ip netns exec %s %s --server %s status\n", ns, ctl, c.URL)
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
