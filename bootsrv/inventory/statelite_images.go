package inventory

import (
	"fmt"
	"slices"

	"github.com/disklesstrap/disklesstrap/manifest"
)

// ImageKinds reads what each path is in registry image NAME: "dir",
// "file", or "" when the image has nothing there. ok is false when the
// image cannot be read (not in the registry, not a squashfs): its rules
// are then not checked (bootsrv checks again when it renders a manifest,
// the agent at boot).
type ImageKinds func(image string, paths []string) (kinds map[string]string, ok bool)

// CheckLiteImages refuses a litefile rule written without the trailing /
// where a registry image it applies to has a folder (or with it where
// the image has a file), as a file:line: litefile[i].path: error. The
// images checked are those statelite nodes boot from the registry (no
// nfsroot: bootsrv cannot read an NFS root) and those a per-image rule
// names. bootsrv runs it on start, reload and inventory edits, and
// `bootsrv check` / `trapctl inventory check` when they find the
// registry, so a bad rule leaves the inventory in force unchanged.
func (c *Cluster) CheckLiteImages(kinds ImageKinds) error {
	if kinds == nil || len(c.lite.files) == 0 {
		return nil
	}
	var imgs []string
	add := func(img string) {
		if img != "" && !slices.Contains(imgs, img) {
			imgs = append(imgs, img)
		}
	}
	for _, n := range c.nodes {
		if isStatelite(n) && Val(n.Attrs.NFSRoot) == "" {
			add(Val(n.Attrs.Image))
		}
	}
	for _, f := range c.lite.files {
		add(f.image)
	}
	slices.Sort(imgs)
	errs := &errList{file: c.file}
	reported := map[string]bool{}
	for _, img := range imgs {
		rules := c.LiteFiles(img)
		paths := make([]string, len(rules))
		for i, f := range rules {
			paths[i] = f.Path
		}
		got, ok := kinds(img, paths)
		if !ok {
			continue
		}
		for _, f := range rules {
			if reported[f.Field] {
				continue
			}
			if msg := LiteKindMismatch(f.LiteFile, got[f.Path], img); msg != "" {
				reported[f.Field] = true
				errs.add(f.Line, f.Field+".path", "%s", msg)
			}
		}
	}
	return errs.err()
}

// LiteKindMismatch says why rule f does not fit what image img has at
// its path (kind "dir", "file" or ""), or "" when it fits.
func LiteKindMismatch(f manifest.LiteFile, kind, img string) string {
	switch {
	case kind == "dir" && !f.IsFolder():
		return fmt.Sprintf("litefile %s: image %s has a folder there: write the rule as %s/", f.Path, img, f.Path)
	case kind == "file" && f.IsFolder():
		return fmt.Sprintf("litefile %s: image %s has a file there, not a folder: write the rule without the trailing /", f.Path, img)
	}
	return ""
}
