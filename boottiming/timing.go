package boottiming

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/disklesstrap/disklesstrap/manifest"
)

// Phase is one part of a boot. Known is false when the boot has not
// reached its end yet or an event lacks the mark (an older agent).
type Phase struct {
	Name  string
	Took  time.Duration
	Known bool
	// CrossClock marks a phase measured between bootsrv's clock and the
	// node's wall clock.
	CrossClock bool
}

// Timing is the phase breakdown of one boot.
type Timing struct {
	Node   string
	Start  time.Time // bootsrv served the iPXE script (zero: not seen)
	Phases []Phase
}

// Phase names, in boot order.
const (
	PhaseDownload = "iPXE script to kernel start (kernel+initrd download)"
	PhaseKernel   = "kernel start to /init"
	PhaseModules  = "agent: kernel modules"
	PhaseLink     = "agent: link up"
	PhaseDHCP     = "agent: DHCP"
	PhaseManifest = "agent: manifest"
	PhaseSSH      = "agent: SSH ready (trap)"
)

// ErrNoBoot says the events hold no boot (no ipxe and no agent-start).
var ErrNoBoot = errors.New("no boot in the events (no ipxe or agent-start event)")

// FromEvents breaks down the last boot in evs (oldest first, one node's):
// from the last iPXE script bootsrv served (or, with none, the last
// agent-start) to the first trapped event after it.
func FromEvents(evs []manifest.Event) (*Timing, error) {
	start := -1
	for i := len(evs) - 1; i >= 0 && start < 0; i-- {
		if evs[i].Phase == phaseIPXE {
			start = i
		}
	}
	if start < 0 {
		for i := len(evs) - 1; i >= 0 && start < 0; i-- {
			if evs[i].Phase == manifest.PhaseAgentStart {
				start = i
			}
		}
	}
	if start < 0 {
		return nil, ErrNoBoot
	}
	boot := evs[start:]
	t := &Timing{Node: boot[0].Node}
	if boot[0].Phase == phaseIPXE {
		t.Start = boot[0].Time
	}
	agent, _ := first(boot, manifest.PhaseAgentStart)
	man, _ := first(boot, manifest.PhaseManifest)
	trap, _ := first(boot, manifest.PhaseTrapped)
	var d map[string]string
	if agent != nil {
		d = agent.Data
	}
	initAt, okInit := parse(d, KeyUptime)
	mods, okMods := parse(d, KeyModules)
	link, okLink := parse(d, KeyLink)
	lease, okLease := parse(d, KeyLease)
	manAt, okMan := uptime(man)
	trapAt, okTrap := uptime(trap)

	download := Phase{Name: PhaseDownload, CrossClock: true}
	if !t.Start.IsZero() && okInit {
		kernelStart := agent.Time.Add(-initAt)
		download.Took, download.Known = max(kernelStart.Sub(t.Start), 0), true
	}
	if !t.Start.IsZero() {
		t.Phases = append(t.Phases, download)
	}
	t.Phases = append(t.Phases,
		between(PhaseKernel, 0, initAt, true, okInit),
		between(PhaseModules, initAt, mods, okInit, okMods),
		between(PhaseLink, mods, link, okMods, okLink),
		between(PhaseDHCP, link, lease, okLink, okLease),
		between(PhaseManifest, lease, manAt, okLease, okMan),
		between(PhaseSSH, manAt, trapAt, okMan, okTrap))
	return t, nil
}

func first(evs []manifest.Event, phase string) (*manifest.Event, bool) {
	for i := range evs {
		if evs[i].Phase == phase {
			return &evs[i], true
		}
	}
	return nil, false
}

func uptime(ev *manifest.Event) (time.Duration, bool) {
	if ev == nil {
		return 0, false
	}
	return parse(ev.Data, KeyUptime)
}

func between(name string, from, to time.Duration, okFrom, okTo bool) Phase {
	if !okFrom || !okTo {
		return Phase{Name: name}
	}
	return Phase{Name: name, Took: max(to-from, 0), Known: true}
}

// Total is the sum of the known phases and whether every phase is known.
func (t *Timing) Total() (time.Duration, bool) {
	var sum time.Duration
	all := true
	for _, p := range t.Phases {
		sum += p.Took
		all = all && p.Known
	}
	return sum, all
}

// Slowest is the known phase that took longest ("" when none is known).
func (t *Timing) Slowest() string {
	var best Phase
	for _, p := range t.Phases {
		if p.Known && p.Took > best.Took {
			best = p
		}
	}
	return best.Name
}

// Write prints the breakdown as a table: each phase, its time, the time
// since the boot's start and its share of the total.
func (t *Timing) Write(w io.Writer) error {
	total, all := t.Total()
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "PHASE\tTOOK\tAT\tSHARE")
	var at time.Duration
	for _, p := range t.Phases {
		if !p.Known {
			fmt.Fprintf(tw, "%s\t-\t-\t-\n", p.Name)
			continue
		}
		at += p.Took
		name := p.Name
		if p.CrossClock {
			name += " *"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name, seconds(p.Took), seconds(at), share(p.Took, total))
	}
	status := "complete"
	if !all {
		status = "incomplete (boot still running, or an older agent without timing marks)"
	}
	fmt.Fprintf(tw, "total\t%s\t\t%s\n", seconds(total), status)
	if err := tw.Flush(); err != nil {
		return err
	}
	var notes []string
	if s := t.Slowest(); s != "" {
		notes = append(notes, "slowest: "+s)
	}
	for _, p := range t.Phases {
		if p.CrossClock && p.Known {
			notes = append(notes, "* bootsrv's clock vs the node's clock")
			break
		}
	}
	if len(notes) > 0 {
		_, err := fmt.Fprintln(w, strings.Join(notes, "; "))
		return err
	}
	return nil
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }

func share(d, total time.Duration) string {
	if total <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(d)/float64(total))
}
