package main

import (
	"github.com/disklesstrap/disklesstrap/bootsrv/invcheck"
)

var inventoryCheck = &command{
	name: "inventory check", args: "FILE", summary: "validate an inventory file exactly as bootsrv's reload would",
	help: `Prints every problem as FILE:LINE: FIELD: message and exits 1 if there is
any; needs no bootsrv. Same check as bootsrv check --config FILE (which the
systemd unit runs before each reload).`,
	minArgs: 1, maxArgs: 1,
	run: func(e *env, args []string) error {
		return invcheck.Check(args[0], e.stdout, e.stderr)
	},
}
