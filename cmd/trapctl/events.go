package main

import (
	"flag"
	"sort"
	"strings"
	"time"
)

var (
	eventsLimit  int
	eventsTiming bool
)

var eventsCmd = &command{
	name: "events", args: "NODE [--limit N] [--timing]", summary: "a node's last events, oldest first (--timing: phase durations of its last boot)",
	minArgs: 1, maxArgs: 1,
	flags: func(fs *flag.FlagSet) {
		fs.IntVar(&eventsLimit, "limit", 20, "how many events")
		fs.BoolVar(&eventsTiming, "timing", false, "phase durations of the node's last boot instead of the events")
	},
	run: func(e *env, args []string) error {
		if eventsLimit < 1 {
			return usagef("--limit: want a positive number, got %d", eventsLimit)
		}
		if eventsTiming {
			return printTiming(e, args[0])
		}
		evs, err := e.client().Events(e.ctx, args[0], eventsLimit)
		if err != nil {
			return err
		}
		if e.output == "json" {
			return writeJSON(e.stdout, evs)
		}
		t := newTable(e.stdout, "TIME", "PHASE", "MESSAGE", "DATA")
		for _, ev := range evs {
			t.row(ev.Time.Local().Format(time.DateTime), ev.Phase, ev.Message, dataString(ev.Data))
		}
		return t.flush()
	},
}

// dataString renders event data as sorted key=value pairs; long values
// (host keys, inventories) are cut.
func dataString(d map[string]string) string {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		v := d[k]
		if len(v) > 48 {
			v = v[:45] + "..."
		}
		parts[i] = k + "=" + v
	}
	return strings.Join(parts, " ")
}

var hostkeysCmd = &command{
	name: "hostkeys", args: "[RANGE]", summary: "known_hosts lines of trapped nodes' SSH host keys",
	maxArgs: 1,
	run: func(e *env, args []string) error {
		text, err := e.client().HostKeys(e.ctx, argOr(args, 0))
		if err != nil {
			return err
		}
		if e.output == "json" {
			lines := []string{}
			for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
				if l != "" {
					lines = append(lines, l)
				}
			}
			return writeJSON(e.stdout, lines)
		}
		_, err = printf(e.stdout, "%s", text)
		return err
	},
}
