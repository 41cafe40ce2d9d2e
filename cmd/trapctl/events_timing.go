package main

import (
	"errors"
	"fmt"

	"github.com/disklesstrap/disklesstrap/boottiming"
)

// timingEvents is how many of a node's last events `events --timing`
// searches for its last boot (a trapped node adds a handful per boot).
const timingEvents = 500

// timingJSON is `events --timing -o json`.
type timingJSON struct {
	Node     string            `json:"node"`
	Phases   []timingPhaseJSON `json:"phases"`
	TotalSec float64           `json:"total_seconds"`
	Complete bool              `json:"complete"`
	Slowest  string            `json:"slowest,omitempty"`
}

type timingPhaseJSON struct {
	Name       string   `json:"name"`
	Seconds    *float64 `json:"seconds"` // null: not reached or not reported
	CrossClock bool     `json:"cross_clock,omitempty"`
}

// printTiming prints the phase breakdown of node's last boot.
func printTiming(e *env, node string) error {
	evs, err := e.client().Events(e.ctx, node, timingEvents)
	if err != nil {
		return err
	}
	t, err := boottiming.FromEvents(evs)
	if errors.Is(err, boottiming.ErrNoBoot) {
		return fmt.Errorf("node %s: %w", node, err)
	}
	if err != nil {
		return err
	}
	if e.output == "json" {
		total, all := t.Total()
		out := timingJSON{Node: node, TotalSec: total.Seconds(), Complete: all, Slowest: t.Slowest(), Phases: []timingPhaseJSON{}}
		for _, p := range t.Phases {
			j := timingPhaseJSON{Name: p.Name, CrossClock: p.CrossClock}
			if p.Known {
				s := p.Took.Seconds()
				j.Seconds = &s
			}
			out.Phases = append(out.Phases, j)
		}
		return writeJSON(e.stdout, out)
	}
	if _, err := printf(e.stdout, "last boot of %s:\n", node); err != nil {
		return err
	}
	return t.Write(e.stdout)
}
