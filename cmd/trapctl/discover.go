package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/disklesstrap/disklesstrap/api"
)

var discoverList = &command{
	name: "discover list", summary: "machines that booted unknown: their hardware and name (docs/discovery.md)",
	maxArgs: 0,
	run: func(e *env, args []string) error {
		rows, err := e.client().Discovered(e.ctx)
		if err != nil {
			return err
		}
		if e.output == "json" {
			return writeJSON(e.stdout, rows)
		}
		now := e.now()
		t := newTable(e.stdout, "MAC", "NODE", "ADDRESS", "PHASE", "SERIAL", "UUID", "CPUS", "MEMORY", "DISKS", "MACS", "BMC-MAC", "LAST-SEEN")
		for _, r := range rows {
			node := r.Node
			switch {
			case !r.Named && r.SerialMatch != "":
				node += " (serial: " + r.SerialMatch + ")"
			case !r.Named:
				node += " (unnamed)"
			}
			mem := "-"
			if r.MemoryKB > 0 {
				mem = fmt.Sprintf("%dM", r.MemoryKB/1024)
			}
			cpus := "-"
			if r.CPUs > 0 {
				cpus = fmt.Sprint(r.CPUs)
			}
			t.row(r.MAC, node, dash(r.Address), dash(r.Phase), dash(r.Serial), dash(r.UUID), cpus, mem,
				dash(strings.Join(r.Disks, ",")), dash(strings.Join(r.MACs, ",")), dash(r.BMCMAC), age(now, r.LastSeen))
		}
		return t.flush()
	},
}

var discoverNext string

var discoverAssign = &command{
	name: "discover assign", args: "MAC NAME|--next RANGE",
	summary: "name a discovered machine: it joins the inventory and goes on in its mode without a reboot",
	help: "NAME (or with --next the first free name of RANGE) must be in a pool of the inventory's discovery\n" +
		"section, which gives the node its groups and reserved address (docs/discovery.md).",
	minArgs: 1, maxArgs: 2,
	flags: func(fs *flag.FlagSet) {
		fs.StringVar(&discoverNext, "next", "", "take the next free name of this range, e.g. 'cn[001-512]'")
	},
	run: func(e *env, args []string) error {
		req := api.DiscoverAssign{MAC: args[0], Next: discoverNext}
		switch {
		case len(args) == 2 && discoverNext != "":
			return usagef("discover assign: give NAME or --next RANGE, not both")
		case len(args) == 2:
			req.Name = args[1]
		case discoverNext == "":
			return usagef("discover assign: give NAME or --next RANGE")
		}
		res, err := e.client().DiscoverAssign(e.ctx, req)
		if err != nil {
			return err
		}
		if e.output == "json" {
			return writeJSON(e.stdout, res)
		}
		_, err = printf(e.stdout, "%s is node %s, address %s on network %s\n", res.MAC, res.Node, res.Address, res.Network)
		return err
	},
}
