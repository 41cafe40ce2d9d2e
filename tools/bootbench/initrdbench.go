package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/disklesstrap/disklesstrap/tools/labcluster"
)

// Goals of issue #18 for the trap's iSCSI initramfs against dracut's.
const (
	buildGoal = 5.0 // dracut time / trap time, at least
	sizeGoal  = 2.0 // dracut size / trap size, at least
)

// dracutModules are the capabilities of the trap's iSCSI set: network,
// iSCSI, dm-multipath, LUKS and LVM.
const dracutModules = "network iscsi multipath crypt lvm"

type build struct {
	took time.Duration
	size int64
}

// benchInitrd builds the iSCSI trap initramfs (the real trapctl) and a
// dracut initramfs with the same capabilities for the same kernel, each
// cold (its builder's cache empty) then warm, both zstd-compressed.
func benchInitrd(ctx context.Context, work string, stdout, stderr io.Writer) error {
	dracut, err := exec.LookPath("dracut")
	if err != nil {
		return errors.New("dracut not found (tools/lab-deps.sh --bench installs dracut-core)")
	}
	k, err := labcluster.FindKernel()
	if err != nil {
		return err
	}
	dir := filepath.Join(work, "initrd")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	trapctl, err := labcluster.GoBuild(ctx, "./cmd/trapctl", filepath.Join(dir, "bin"))
	if err != nil {
		return err
	}
	undo, err := linkHostModules(k)
	if err != nil {
		return err
	}
	defer undo()
	cache := filepath.Join(dir, "trap-cache")
	trap := func(out string) *exec.Cmd {
		return exec.CommandContext(ctx, trapctl, "initrd", "build", "-iscsi", "-out", out, "-cache", cache,
			"-modules-root", k.ModulesRoot, "-kernel-version", k.Version, "-bootsrv-cert", "none", "-tmp", dir)
	}
	drac := func(out string) *exec.Cmd {
		return exec.CommandContext(ctx, dracut, "--force", "--quiet", "--no-hostonly", "--no-hostonly-cmdline",
			"--kver", k.Version, "--kmoddir", filepath.Join(k.ModulesRoot, "lib/modules", k.Version),
			"--add", dracutModules, "--zstd", "--tmpdir", dir, out)
	}
	var trapB, dracB [2]build // cold, warm
	for i, temp := range []string{"cold", "warm"} {
		fmt.Fprintf(stderr, "bootbench: trap iSCSI initramfs, %s\n", temp)
		if trapB[i], err = timeBuild(trap(filepath.Join(dir, "trap-"+temp+".img")), filepath.Join(dir, "trap-"+temp+".img")); err != nil {
			return fmt.Errorf("trapctl initrd build (%s): %w", temp, err)
		}
		fmt.Fprintf(stderr, "bootbench: dracut initramfs, %s\n", temp)
		if dracB[i], err = timeBuild(drac(filepath.Join(dir, "dracut-"+temp+".img")), filepath.Join(dir, "dracut-"+temp+".img")); err != nil {
			return fmt.Errorf("dracut (%s): %w", temp, err)
		}
	}
	return printInitrd(stdout, k.Version, trapB, dracB)
}

// timeBuild runs cmd and returns its wall time and out's size.
func timeBuild(cmd *exec.Cmd, out string) (build, error) {
	start := time.Now()
	b, err := cmd.CombinedOutput()
	took := time.Since(start)
	if err != nil {
		return build{}, fmt.Errorf("%w: %s", err, tailLines(string(b), 15))
	}
	fi, err := os.Stat(out)
	if err != nil {
		return build{}, err
	}
	return build{took: took, size: fi.Size()}, nil
}

// linkHostModules makes /lib/modules/KVER point at the cached guest
// kernel's modules for the run: dracut checks that directory even with
// --kmoddir (FACTS.md). What it created is removed again.
func linkHostModules(k *labcluster.Kernel) (func(), error) {
	link := filepath.Join("/lib/modules", k.Version)
	if _, err := os.Lstat(link); err == nil {
		return func() {}, nil
	}
	var made []string
	if _, err := os.Stat("/lib/modules"); errors.Is(err, os.ErrNotExist) {
		if err := os.Mkdir("/lib/modules", 0o755); err != nil {
			return nil, err
		}
		made = append(made, "/lib/modules")
	}
	if err := os.Symlink(filepath.Join(k.ModulesRoot, "lib/modules", k.Version), link); err != nil {
		return nil, fmt.Errorf("dracut needs /lib/modules/%s: %w", k.Version, err)
	}
	made = append(made, link)
	return func() {
		for i := len(made) - 1; i >= 0; i-- {
			os.Remove(made[i])
		}
	}, nil
}

func printInitrd(w io.Writer, kver string, trap, dracut [2]build) error {
	fmt.Fprintf(w, "\nInitramfs build: trap with the iSCSI set (trapctl initrd build -iscsi) vs dracut 059 --no-hostonly -a %q, kernel %s, both zstd\n", dracutModules, kver)
	fmt.Fprintln(w, "(cold: the trap builder's Go busybox cache empty, the Go build cache as it is; dracut has no cache: its first run)")
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "Build\ttrap\tdracut\tdracut/trap")
	ok := true
	for i, temp := range []string{"cold", "warm"} {
		tr := dracut[i].took.Seconds() / trap[i].took.Seconds()
		ok = ok && tr >= buildGoal
		fmt.Fprintf(tw, "time, %s\t%.1fs\t%.1fs\t%.1fx\n", temp, trap[i].took.Seconds(), dracut[i].took.Seconds(), tr)
	}
	sr := float64(dracut[1].size) / float64(trap[1].size)
	fmt.Fprintf(tw, "size\t%.1f MB\t%.1f MB\t%.1fx\n", float64(trap[1].size)/1e6, float64(dracut[1].size)/1e6, sr)
	if err := tw.Flush(); err != nil {
		return err
	}
	verdict := func(met bool) string {
		if met {
			return "MET"
		}
		return "NOT MET"
	}
	_, err := fmt.Fprintf(w, "goal build >= %.0fx faster (cold and warm): %s; goal size >= %.0fx smaller: %s\n",
		buildGoal, verdict(ok), sizeGoal, verdict(sr >= sizeGoal))
	return err
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
