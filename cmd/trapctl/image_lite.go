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
	name: "image lite", args: "NAME [DIR] [--pack]", summary: "prepare an image for statelite (liteimg): originals under /.default, links",
	help: "Reads the litefile rules of image NAME from bootsrv and prepares the image as xCAT's liteimg does: for every\n" +
		"path P the original moves to /.default/P and /P -> /.statelite/tmpfs/P -> /.default/P. Repeatable; paths no\n" +
		"longer in the rules are put back. A rule that does not match the image (a folder written without the\n" +
		"trailing /) is refused with its file:line and the image is left as it was.\n" +
		"Without DIR the registry's squashfs NAME is prepared: downloaded, unpacked (unsquashfs), prepared, packed\n" +
		"(mksquashfs) and uploaded as NAME again, only when something changed. With DIR, the root folder DIR (the\n" +
		"folder an NFS root exports, nfsroot attribute) is prepared in place; --pack then also packs DIR and uploads\n" +
		"it as NAME (replacing it). Rules also apply to an unprepared image: the agent makes the links at boot.",
	minArgs: 1, maxArgs: 2,
	flags: func(fs *flag.FlagSet) {
		imageLitePack = false
		fs.BoolVar(&imageLitePack, "pack", false, "with DIR: pack DIR with mksquashfs and upload it as image NAME afterwards (replaces the image)")
	},
	run: func(e *env, args []string) error {
		name := args[0]
		files, err := e.client().LiteFiles(e.ctx, name)
		if err != nil {
			return err
		}
		rules := make([]imagelite.Rule, len(files))
		for i, f := range files {
			rules[i] = imagelite.Rule{LiteFile: manifest.LiteFile{Path: f.Path, Option: f.Option}, File: f.File, Line: f.Line}
		}
		if len(args) == 1 {
			if imageLitePack {
				return usagef("image lite NAME: --pack goes with DIR (without DIR the registry image is repacked anyway)")
			}
			return imageLiteRegistry(e, name, rules)
		}
		dir := args[1]
		if _, err := imageLiteApply(e, name, dir, dir, rules); err != nil {
			return err
		}
		if !imageLitePack {
			return nil
		}
		return imageLiteUpload(e, name, dir, "")
	},
}

// imageLiteApply runs imagelite.Prepare on root and prints what changed;
// changed says whether anything did.
func imageLiteApply(e *env, name, root, shown string, rules []imagelite.Rule) (changed bool, err error) {
	res, err := imagelite.Prepare(root, rules)
	if err != nil {
		return false, fmt.Errorf("image lite %s: %w", name, err)
	}
	for _, l := range []struct {
		what  string
		paths []string
	}{{"prepared", res.Prepared}, {"kept", res.Kept}, {"restored", res.Restored}} {
		if len(l.paths) > 0 {
			fmt.Fprintf(e.stdout, "%s: %s\n", l.what, strings.Join(l.paths, " "))
		}
	}
	fmt.Fprintf(e.stdout, "image %s: %d litefile rule(s) applied to %s\n", name, len(rules), shown)
	return len(res.Prepared)+len(res.Restored) > 0, nil
}

// imageLiteUpload packs root with mksquashfs and uploads it as image
// name, replacing it: the links point into /.statelite, which does not
// exist here, and go-diskfs cannot pack a dangling link.
func imageLiteUpload(e *env, name, root, tmp string) error {
	imagePackOpts = imagePackFlags{name: name, format: imagepack.FormatSquashfs, tool: "mksquashfs", replace: true, tmp: tmp}
	return runImagePack(e, []string{root})
}
