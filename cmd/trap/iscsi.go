package main

import (
	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/ctl"
	"github.com/disklesstrap/disklesstrap/trap/iscsi"
	"github.com/disklesstrap/disklesstrap/trap/plan"
)

// Mode iscsi (the Ocean diskless root) and its storage step commands
// (`trap iscsi login`, `trap multipath`, `trap luks open`, `trap
// partitions`, `trap lvm`, `trap readonly`, `trap lower`). It registers
// from init so modes.go stays untouched; zram, overlay, sysroot and
// switch-root are ramroot's commands, registered by registerModes.
func init() { registerISCSI(plan.Default) }

func registerISCSI(r *plan.Registry) {
	r.RegisterMode(manifest.ModeISCSI, iscsi.Plan)
	r.RegisterCommands(iscsi.Commands())
}

// The commands that push a secret or the iscsi section into the agent's
// memory, reading the client's standard input.
func init() {
	for _, name := range iscsi.StdinCommands {
		ctl.RegisterStdinCommand(name)
	}
	for name, mk := range iscsi.PushCommands() {
		plan.Default.RegisterCommand(name, func(_ *manifest.Manifest, args []string) (plan.Step, error) {
			return mk(args)
		})
	}
}
