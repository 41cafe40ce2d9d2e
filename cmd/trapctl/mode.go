package main

import (
	"flag"
	"time"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/manifest"
)

var (
	modeSetOnce   bool
	modeSetReboot bool
	modeSetWait   time.Duration
)

var modeSet = &command{
	name: "mode set", args: "RANGE MODE [--once] [--reboot [--wait D]]", summary: "switch the boot mode of nodes (--once: next boot only)",
	help: "MODE is one of trap, discovery, ramroot, iscsi, statelite, install, local, service.\n" +
		"--reboot then boots the nodes through their BMCs (reset, or on when off; see trapctl power);\n" +
		"--wait D waits up to D until every node reports its new mode's phase, printing progress and\n" +
		"the nodes that did not make it.",
	minArgs: 2, maxArgs: 2,
	flags: func(fs *flag.FlagSet) {
		fs.BoolVar(&modeSetOnce, "once", false, "next boot only, then back to the persistent mode")
		fs.BoolVar(&modeSetReboot, "reboot", false, "boot the nodes through their BMCs after the switch")
		fs.DurationVar(&modeSetWait, "wait", 0, "with --reboot: wait this long for every node to reach the new mode's phase")
		powerFlags(fs)
	},
	run: func(e *env, args []string) error {
		mode, err := manifest.ParseMode(args[1])
		if err != nil {
			return usagef("%v", err)
		}
		if modeSetWait != 0 && !modeSetReboot {
			return usagef("--wait needs --reboot")
		}
		if modeSetWait < 0 {
			return usagef("--wait: want a positive duration, got %v", modeSetWait)
		}
		if modeSetReboot {
			return modeSetAndReboot(e, args[0], mode)
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
