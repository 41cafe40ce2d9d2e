package main

import (
	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/plan"
	"github.com/disklesstrap/disklesstrap/trap/statelite"
)

// Mode statelite and its step commands (`trap statelite root`, `trap
// statelite tmpfs`, `trap statelite litetree`, `trap statelite store`,
// `trap statelite files`, `trap statelite readonly`). It registers from
// init so modes.go stays untouched; image fetch, sysroot and switch-root
// are ramroot's commands.
func init() { registerStatelite(plan.Default) }

func registerStatelite(r *plan.Registry) {
	r.RegisterMode(manifest.ModeStatelite, statelite.Plan)
	r.RegisterCommands(statelite.Commands())
}
