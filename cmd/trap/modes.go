package main

import (
	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/install"
	"github.com/disklesstrap/disklesstrap/trap/plan"
	"github.com/disklesstrap/disklesstrap/trap/ramroot"
)

// registerModes wires the implemented modes and their step commands into
// plan.Default. Modes not registered here fail with "mode X: not
// implemented in this agent", which drops the node into the trap.
func registerModes() {
	plan.Default.RegisterMode(manifest.ModeRAMRoot, ramroot.Plan)
	plan.Default.RegisterCommands(ramroot.Commands())
	plan.Default.RegisterMode(manifest.ModeInstall, install.Plan)
	plan.Default.RegisterCommands(install.Commands())
}
