package main

import (
	"flag"
	"fmt"

	"github.com/disklesstrap/disklesstrap/initrd"
)

var prebuildOpts initrd.PrebuildConfig

var initrdPrebuild = &command{
	name: "initrd prebuild", args: "-dir DIR", summary: "compile the agent, helpers and Go busybox for Go-less initrd builds",
	help: `Writes DIR/trap, DIR/trap-torrent, DIR/bb and DIR/bb.commands, the Go parts
of the trap initramfs. The Debian package ships them in ` + initrd.DefaultPrebuiltDir + `
so that trapctl initrd build works on a head node without Go. Needs Go and
the source tree.`,
	flags: func(fs *flag.FlagSet) {
		prebuildOpts = initrd.PrebuildConfig{}
		fs.StringVar(&prebuildOpts.Dir, "dir", "", "output directory (required)")
		fs.StringVar(&prebuildOpts.ModuleDir, "module-dir", "", "the disklesstrap source tree (default: nearest go.mod)")
		fs.StringVar(&prebuildOpts.TempDir, "tmp", "", "temporary directory")
	},
	run: func(e *env, args []string) error {
		if prebuildOpts.Dir == "" {
			return usagef("initrd prebuild: -dir is required")
		}
		if err := initrd.Prebuild(e.ctx, prebuildOpts); err != nil {
			return err
		}
		_, err := fmt.Fprintf(e.stdout, "%s: trap, trap-torrent, bb (%d u-root commands)\n", prebuildOpts.Dir, len(initrd.DefaultUrootCommands))
		return err
	},
}
