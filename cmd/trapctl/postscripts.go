package main

import (
	"flag"
	"strings"

	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/noderange"
)

var postscriptsRerun bool

var postscriptsCmd = &command{
	name: "postscripts", args: "RANGE [--rerun]", summary: "show the nodes' postscript results; --rerun runs them again over SSH (xCAT updatenode)",
	help: `Without --rerun: each node's last postscript events (script, exit code).
With --rerun: runs /usr/lib/dt/dt-postscripts on every node of RANGE over
SSH (host keys pinned, as trapctl ssh), which fetches the node's current
postscript list from bootsrv, runs the scripts in name order and reports
each result as an event. Exit status 1 when any node's scripts failed.`,
	minArgs: 1, maxArgs: 1,
	flags: func(fs *flag.FlagSet) {
		postscriptsRerun = false
		fs.BoolVar(&postscriptsRerun, "rerun", false, "run the postscripts again over SSH")
		sshFlags(fs)
	},
	run: func(e *env, args []string) error {
		if postscriptsRerun {
			results, err := fanOut(e, args[0], "/usr/lib/dt/dt-postscripts", nil)
			if err != nil {
				return err
			}
			return reportResults(e, results)
		}
		nodes, err := noderange.Parse(args[0])
		if err != nil {
			return usagef("%v", err)
		}
		t := newTable(e.stdout, "NODE", "SCRIPT", "EXIT", "WHEN", "MESSAGE")
		for _, n := range nodes {
			evs, err := e.client().Events(e.ctx, n, 200)
			if err != nil {
				return err
			}
			last := map[string]int{}
			var order []string
			for i, ev := range evs {
				if ev.Phase != manifest.PhasePostscript {
					continue
				}
				s := ev.Data["script"]
				if _, ok := last[s]; !ok {
					order = append(order, s)
				}
				last[s] = i
			}
			for _, s := range order {
				ev := evs[last[s]]
				t.row(n, s, ev.Data["exit"], age(e.now(), ev.Time), strings.SplitN(ev.Message, "\n", 2)[0])
			}
			if len(order) == 0 {
				t.row(n, "-", "", "", "no postscript events")
			}
		}
		return t.flush()
	},
}
