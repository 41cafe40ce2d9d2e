package main

import (
	"flag"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/manifest"
)

var modeSetOnce bool

var modeSet = &command{
	name: "mode set", args: "RANGE MODE [--once]", summary: "switch the boot mode of nodes (--once: next boot only)",
	help:    "MODE is one of trap, discovery, ramroot, iscsi, statelite, install, local, service.",
	minArgs: 2, maxArgs: 2,
	flags: func(fs *flag.FlagSet) {
		fs.BoolVar(&modeSetOnce, "once", false, "next boot only, then back to the persistent mode")
	},
	run: func(e *env, args []string) error {
		mode, err := manifest.ParseMode(args[1])
		if err != nil {
			return usagef("%v", err)
		}
		res, err := e.client().SetMode(e.ctx, api.ModeSet{Range: args[0], Mode: mode, Once: modeSetOnce})
		if err != nil {
			return err
		}
		if e.output == "json" {
			return writeJSON(e.stdout, res)
		}
		when := "persistent"
		if modeSetOnce {
			when = "next boot only"
		}
		_, err = printf(e.stdout, "mode %s set on %d node(s) (%s)\n", mode, res.Count, when)
		return err
	},
}

var statusCmd = &command{
	name: "status", args: "[RANGE]", summary: "boot mode, phase and last event of nodes",
	maxArgs: 1,
	run: func(e *env, args []string) error {
		rows, err := e.client().Status(e.ctx, argOr(args, 0))
		if err != nil {
			return err
		}
		if e.output == "json" {
			return writeJSON(e.stdout, rows)
		}
		now := e.now()
		t := newTable(e.stdout, "NODE", "MODE", "PHASE", "LAST-EVENT", "LAST-SEEN", "ADDRESS")
		for _, r := range rows {
			mode := string(r.Mode)
			if r.Once {
				mode += " (once)"
			}
			addr := r.Address
			if addr == "" {
				addr = "-"
			}
			t.row(r.Node, mode, r.Phase, shortEvent(r.LastEvent), age(now, r.LastSeen), addr)
		}
		return t.flush()
	},
}
