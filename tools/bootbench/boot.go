package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/disklesstrap/disklesstrap/boottiming"
	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/tools/lab"
	"github.com/disklesstrap/disklesstrap/tools/labcluster"
)

// bareReady is the bare /init's console line; the group is its uptime.
var bareReady = regexp.MustCompile(bareMarker + ` uptime=([0-9.]+)`)

// eventsDir, when set, receives NODE.json with each trap node's events.
var eventsDir string

// bootGoal is issue #18's bound on trap ready / bare boot.
const bootGoal = 1.3

// phasePowerOn is the bench's own first phase: QEMU started (host clock)
// to bootsrv serving the node's iPXE script (bootsrv's event, same clock).
const phasePowerOn = "power-on to iPXE script (firmware, iPXE DHCP)"

type bootRun struct {
	took   time.Duration
	toInit time.Duration      // kernel start to /init (bare: its marker's uptime)
	timing *boottiming.Timing // trap runs only
}

// benchBoot boots bare and trap nodes alternately, runs of each, and prints
// the medians, their ratio and the trap's phases.
func benchBoot(ctx context.Context, work string, runs int, stdout, stderr io.Writer) error {
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	k, err := labcluster.FindKernel()
	if err != nil {
		return err
	}
	dir := filepath.Join(work, "boot")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	fmt.Fprintln(stderr, "bootbench: building the trap initramfs")
	trapImg, err := labcluster.BuildInitrd(ctx, filepath.Join(dir, "trap.cpio.zst"))
	if err != nil {
		return err
	}
	bareImg := filepath.Join(dir, "bare.cpio.zst")
	if err := writeBareInitramfs("/bin/busybox", bareImg); err != nil {
		return err
	}
	var nodes []labcluster.Node
	for i := 1; i <= runs; i++ {
		nodes = append(nodes,
			labcluster.Node{Name: fmt.Sprintf("bare%d", i), MAC: fmt.Sprintf("52:54:00:19:00:%02x", i), IP: fmt.Sprintf("198.18.0.%d", 20+i),
				Firmware: lab.BIOS, Attrs: map[string]string{"initrd": "bare.cpio.zst"}},
			labcluster.Node{Name: fmt.Sprintf("trap%d", i), MAC: fmt.Sprintf("52:54:00:19:01:%02x", i), IP: fmt.Sprintf("198.18.0.%d", 40+i),
				Firmware: lab.BIOS})
	}
	c, err := labcluster.Start(ctx, nil, labcluster.Options{Initrd: trapImg, Nodes: nodes, Logger: log})
	if err != nil {
		return err
	}
	defer c.Close()
	if err := labcluster.CopyFile(bareImg, filepath.Join(c.DataDir, "boot", "bare.cpio.zst"), 0o644); err != nil {
		return err
	}
	var bare, trap []bootRun
	for _, n := range nodes { // bare1, trap1, bare2, ...: drift hits both alike
		r, err := bootOne(ctx, c, n.Name, n.Attrs["initrd"] != "")
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "bootbench: %s ready after %.2fs\n", n.Name, r.took.Seconds())
		if n.Attrs["initrd"] != "" {
			bare = append(bare, r)
		} else {
			trap = append(trap, r)
		}
	}
	return printBoot(stdout, k.Version, bareImg, trapImg, bare, trap)
}

// bootOne boots name and waits for its ready line: the bare marker or the
// trap's console prompt. The node is stopped afterwards.
func bootOne(ctx context.Context, c *labcluster.Cluster, name string, bare bool) (bootRun, error) {
	n, err := c.Boot(name)
	if err != nil {
		return bootRun{}, err
	}
	defer n.Stop()
	if bare {
		m, err := n.WaitConsoleRegexp(ctx, bareReady, 4*time.Minute)
		if err != nil {
			return bootRun{}, fmt.Errorf("%s: %w\n%s", name, err, n.ConsoleTail(20))
		}
		r := bootRun{took: n.Elapsed()}
		if f, err := strconv.ParseFloat(m[1], 64); err == nil {
			r.toInit = time.Duration(f * float64(time.Second))
		}
		return r, nil
	}
	if err := n.WaitConsole(ctx, "root@"+name+"_DisklessTrap:/root#", 4*time.Minute); err != nil {
		return bootRun{}, fmt.Errorf("%s: %w\n%s", name, err, n.ConsoleTail(20))
	}
	r := bootRun{took: n.Elapsed()}
	// The trapped event is queued just before the prompt; give it time.
	deadline := time.Now().Add(20 * time.Second)
	for {
		evs, err := c.API.Events(ctx, name, 200)
		if err != nil {
			return r, fmt.Errorf("%s: events: %w", name, err)
		}
		t, err := boottiming.FromEvents(evs)
		if err == nil {
			if _, all := t.Total(); all {
				for _, ev := range evs {
					if ev.Phase == "ipxe" { // bootsrv/api.PhaseIPXE
						t.Phases = slices.Insert(t.Phases, 0, boottiming.Phase{Name: phasePowerOn, Took: max(ev.Time.Sub(n.Started), 0), Known: true})
						break
					}
				}
				r.timing = t
				for _, p := range t.Phases {
					if p.Name == boottiming.PhaseKernel {
						r.toInit = p.Took
					}
				}
				return r, saveEvents(name, evs)
			}
		}
		if time.Now().After(deadline) {
			return r, fmt.Errorf("%s: no complete boot timing in its events after 20s: %v (last: %s)", name, err, lastPhase(evs))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func lastPhase(evs []manifest.Event) string {
	if len(evs) == 0 {
		return "none"
	}
	return evs[len(evs)-1].Phase
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

func printBoot(w io.Writer, kver, bareImg, trapImg string, bare, trap []bootRun) error {
	size := func(p string) string {
		fi, err := os.Stat(p)
		if err != nil {
			return "?"
		}
		return fmt.Sprintf("%.1f MB", float64(fi.Size())/1e6)
	}
	fmt.Fprintf(w, "\nBoot time: power-on to ready, QEMU TCG, BIOS PXE (iPXE ROM), one bootsrv, kernel %s, one node at a time, median of %d\n", kver, len(bare))
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "System\tinitramfs\truns\tmedian\tratio")
	var bm, tm time.Duration
	for _, row := range []struct {
		name, img string
		runs      []bootRun
		med       *time.Duration
	}{{"bare busybox (/init prints a marker)", bareImg, bare, &bm}, {"trap (console prompt, SSH listening)", trapImg, trap, &tm}} {
		var ds []time.Duration
		var cells string
		for _, r := range row.runs {
			ds = append(ds, r.took)
			cells += fmt.Sprintf("%.2fs ", r.took.Seconds())
		}
		*row.med = median(ds)
		ratio := "1.00x"
		if row.med == &tm && bm > 0 {
			ratio = fmt.Sprintf("%.2fx", tm.Seconds()/bm.Seconds())
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2fs\t%s\n", row.name, size(row.img), cells, row.med.Seconds(), ratio)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	r := tm.Seconds() / bm.Seconds()
	verdict := "MET"
	if r > bootGoal {
		verdict = "NOT MET"
	}
	fmt.Fprintf(w, "goal trap/bare <= %.2fx: %s (%.2fx)\n", bootGoal, verdict, r)
	toInit := func(runs []bootRun) time.Duration {
		var ds []time.Duration
		for _, r := range runs {
			ds = append(ds, r.toInit)
		}
		return median(ds)
	}
	fmt.Fprintf(w, "kernel start to /init (initramfs unpacking and kernel init), median: bare %.2fs, trap %.2fs\n",
		toInit(bare).Seconds(), toInit(trap).Seconds())
	return printPhases(w, trap)
}

// printPhases prints each trap run's phases and their medians.
func printPhases(w io.Writer, trap []bootRun) error {
	if len(trap) == 0 || trap[0].timing == nil {
		return nil
	}
	fmt.Fprintf(w, "\nTrap boot phases (events: bootsrv's ipxe event, the agent's uptime marks; * = bootsrv's clock vs the node's)\n")
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprint(tw, "Phase")
	for i := range trap {
		fmt.Fprintf(tw, "\trun %d", i+1)
	}
	fmt.Fprintln(tw, "\tmedian")
	var slow string
	var slowMed time.Duration
	for i, p := range trap[0].timing.Phases {
		name := p.Name
		if p.CrossClock {
			name += " *"
		}
		fmt.Fprint(tw, name)
		var ds []time.Duration
		for _, r := range trap {
			if r.timing == nil || i >= len(r.timing.Phases) || !r.timing.Phases[i].Known {
				fmt.Fprint(tw, "\t-")
				continue
			}
			ds = append(ds, r.timing.Phases[i].Took)
			fmt.Fprintf(tw, "\t%.2fs", r.timing.Phases[i].Took.Seconds())
		}
		m := median(ds)
		if m > slowMed {
			slow, slowMed = p.Name, m
		}
		fmt.Fprintf(tw, "\t%.2fs\n", m.Seconds())
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "slowest phase: %s (%.2fs median)\n", slow, slowMed.Seconds())
	return err
}

func saveEvents(name string, evs []manifest.Event) error {
	if eventsDir == "" {
		return nil
	}
	b, err := json.MarshalIndent(evs, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(eventsDir, name+".json"), append(b, '\n'), 0o644)
}
