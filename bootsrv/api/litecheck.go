package api

import (
	"fmt"

	"github.com/disklesstrap/disklesstrap/bootsrv/imagekinds"
	"github.com/disklesstrap/disklesstrap/bootsrv/inventory"
	"github.com/disklesstrap/disklesstrap/manifest"
)

// registryFolderProblems compares node n's litefile rules with its
// registry image img (read by package imagekinds, cached per sha256): a
// rule without the trailing / where the image has a folder, or with it
// where the image has a file, is a manifest problem naming the rule's
// file:line. Reload and inventory edits refuse such rules already; this
// catches an image replaced afterwards. An image that cannot be read is
// not checked (the agent checks again at boot).
func (a *API) registryFolderProblems(n *inventory.Node, img *manifest.Image) []string {
	if n.Lite == nil || a.cfg.Images == nil || img.Format != manifest.FormatSquashfs {
		return nil
	}
	rec, err := a.cfg.Images.Get(img.Name)
	if err != nil {
		return nil
	}
	paths := make([]string, len(n.Lite.Files))
	for i, f := range n.Lite.Files {
		paths[i] = f.Path
	}
	kinds, err := imagekinds.Kinds(a.cfg.Images.Path(rec), rec.SHA256, paths)
	if err != nil {
		return nil
	}
	var out []string
	for _, f := range n.Lite.Files {
		if msg := inventory.LiteKindMismatch(f.LiteFile, kinds[f.Path], n.Lite.Image); msg != "" {
			out = append(out, fmt.Sprintf("mode statelite: %s:%d: %s", f.File, f.Line, msg))
		}
	}
	return out
}

// liteImageCheck is the inventory edits' check of litefile rules against
// the registry's images.
func (a *API) liteImageCheck(c *inventory.Cluster) error {
	return c.CheckLiteImages(imagekinds.For(a.cfg.Images))
}
