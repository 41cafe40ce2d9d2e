package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/disklesstrap/disklesstrap/imagediff"
)

var imageDiff = &command{
	name: "image diff", args: "A B", summary: "packages and files that differ between two images (A -> B)",
	help: `Downloads both squashfs images from bootsrv and compares them with
unsquashfs: Debian packages added, removed or changed (version), and files
added, removed or changed (type, mode, owner, size, link target, and the
dpkg md5sum of package files), each with the package that owns it.`,
	minArgs: 2, maxArgs: 2,
	run: func(e *env, args []string) error {
		tmp, err := os.MkdirTemp("", "trapctl-diff-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		var cs [2]*imagediff.Contents
		for i, name := range args {
			im, err := e.client().Image(e.ctx, name)
			if err != nil {
				return err
			}
			if im.Format != "squashfs" {
				return fmt.Errorf("image %s: format %s: image diff reads squashfs images only", name, im.Format)
			}
			p := filepath.Join(tmp, fmt.Sprintf("%d.squashfs", i))
			f, err := os.Create(p)
			if err != nil {
				return err
			}
			_, err = e.client().DownloadImage(e.ctx, name, f)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("image %s: %w", name, err)
			}
			if cs[i], err = imagediff.Inspect(e.ctx, p); err != nil {
				return fmt.Errorf("image %s: %w", name, err)
			}
		}
		d := imagediff.Diff(cs[0], cs[1])
		if e.output == "json" {
			return writeJSON(e.stdout, d)
		}
		fmt.Fprintf(e.stdout, "%s -> %s\n", args[0], args[1])
		return d.Write(e.stdout)
	},
}
