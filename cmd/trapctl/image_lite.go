package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/disklesstrap/disklesstrap/imagelite"
	"github.com/disklesstrap/disklesstrap/imagepack"
	"github.com/disklesstrap/disklesstrap/manifest"
)

var imageLitePack bool

var imageLite = &command{
	name: "image lite", args: "NAME DIR [--pack]", summary: "prepare an image root for statelite (liteimg): originals under /.default, links",
	help: "Reads the litefile rules of image NAME from bootsrv and prepares the root folder DIR as xCAT's liteimg does:\n" +
		"for every path P the original moves to /.default/P and /P -> /.statelite/tmpfs/P -> /.default/P. Repeatable;\n" +
		"paths no longer in the rules are put back. A rule that does not match the image (a folder written without\n" +
		"the trailing /) is refused with its file:line and DIR is left as it was. DIR may be the folder an NFS root\n" +
		"exports (nfsroot attribute); --pack then packs DIR (mksquashfs) and uploads it as image NAME (replacing\n" +
		"it), for nodes that boot the registry image. Rules also apply to an unprepared image: the agent makes the links at boot.",
	minArgs: 2, maxArgs: 2,
	flags: func(fs *flag.FlagSet) {
		imageLitePack = false
		fs.BoolVar(&imageLitePack, "pack", false, "pack DIR with mksquashfs and upload it as image NAME afterwards (replaces the image)")
	},
	run: func(e *env, args []string) error {
		name, dir := args[0], args[1]
		files, err := e.client().LiteFiles(e.ctx, name)
		if err != nil {
			return err
		}
		rules := make([]imagelite.Rule, len(files))
		for i, f := range files {
			rules[i] = imagelite.Rule{LiteFile: manifest.LiteFile{Path: f.Path, Option: f.Option}, File: f.File, Line: f.Line}
		}
		res, err := imagelite.Prepare(dir, rules)
		if err != nil {
			return fmt.Errorf("image lite %s: %w", name, err)
		}
		for _, l := range []struct {
			what  string
			paths []string
		}{{"prepared", res.Prepared}, {"kept", res.Kept}, {"restored", res.Restored}} {
			if len(l.paths) > 0 {
				fmt.Fprintf(e.stdout, "%s: %s\n", l.what, strings.Join(l.paths, " "))
			}
		}
		fmt.Fprintf(e.stdout, "image %s: %d litefile rule(s) applied to %s\n", name, len(rules), dir)
		if !imageLitePack {
			return nil
		}
		// mksquashfs: the links point into /.statelite, which does not exist
		// here, and go-diskfs cannot pack a dangling link.
		imagePackOpts = imagePackFlags{name: name, format: imagepack.FormatSquashfs, tool: "mksquashfs", replace: true}
		return runImagePack(e, []string{dir})
	},
}
