package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/disklesstrap/disklesstrap/imagelite"
	"github.com/disklesstrap/disklesstrap/imagepack"
)

// imageLiteRegistry prepares the registry's squashfs image name for
// statelite: download, unsquashfs into a temporary folder, Prepare, and,
// when something changed, mksquashfs and upload as name again (nodes
// then fetch the new version; an unchanged image keeps its sha256).
func imageLiteRegistry(e *env, name string, rules []imagelite.Rule) error {
	rec, err := e.client().Image(e.ctx, name)
	if err != nil {
		return err
	}
	if rec.Format != imagepack.FormatSquashfs {
		return fmt.Errorf("image lite %s: the registry image is %s; only a squashfs is prepared in the registry (or give the root folder DIR)", name, rec.Format)
	}
	if _, err := exec.LookPath("unsquashfs"); err != nil {
		return fmt.Errorf("image lite %s: unsquashfs (squashfs-tools) is needed to unpack the registry image: %w", name, err)
	}
	tmp, err := os.MkdirTemp("", ".trapctl-lite-"+name+"-")
	if err != nil {
		return fmt.Errorf("image lite %s: temporary folder: %w", name, err)
	}
	defer os.RemoveAll(tmp)
	sq := filepath.Join(tmp, name+".squashfs")
	f, err := os.Create(sq)
	if err != nil {
		return fmt.Errorf("image lite %s: %w", name, err)
	}
	fmt.Fprintf(e.stderr, "image lite %s: downloading %d bytes\n", name, rec.Size)
	_, err = e.client().DownloadImage(e.ctx, name, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("image lite %s: download: %w", name, err)
	}
	root := filepath.Join(tmp, "root")
	// Ownership, modes, devices and xattrs are kept when run as root, as
	// image pack needs anyway.
	cmd := exec.CommandContext(e.ctx, "unsquashfs", "-no-progress", "-quiet", "-d", root, sq)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("image lite %s: unsquashfs: %w: %s", name, err, strings.TrimSpace(string(out)))
	}
	if err := os.Remove(sq); err != nil {
		return err
	}
	changed, err := imageLiteApply(e, name, root, "registry image "+name, rules)
	if err != nil {
		return err
	}
	if !changed {
		fmt.Fprintf(e.stdout, "image %s: already prepared for these rules; registry image unchanged\n", name)
		return nil
	}
	return imageLiteUpload(e, name, root, tmp)
}
