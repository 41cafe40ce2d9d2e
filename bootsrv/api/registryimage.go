package api

import (
	"errors"
	"fmt"

	"github.com/disklesstrap/disklesstrap/bootsrv/images"
	"github.com/disklesstrap/disklesstrap/bootsrv/inventory"
	"github.com/disklesstrap/disklesstrap/manifest"
)

// registryImage is the manifest image of the registry record named by
// node n's image attribute, or a problem naming what is missing.
func (a *API) registryImage(n *inventory.Node, mode manifest.Mode) (*manifest.Image, string) {
	name := inventory.Val(n.Attrs.Image)
	switch {
	case name == "":
		return nil, fmt.Sprintf("mode %s: no image: node %s's image attribute is not set (trapctl node set %s image=NAME; trapctl image list)", mode, n.Name, n.Name)
	case a.cfg.Images == nil:
		return nil, fmt.Sprintf("mode %s: image %s of node %s: bootsrv's image registry is unavailable (%v)", mode, name, n.Name, a.imagesErr)
	}
	rec, err := a.cfg.Images.Get(name)
	switch {
	case errors.Is(err, images.ErrNotFound):
		return nil, fmt.Sprintf("mode %s: image %s of node %s is not in bootsrv's image registry (trapctl image list; trapctl image pack DIR --name %s)", mode, name, n.Name, name)
	case err != nil:
		a.log.Warn("image record", "node", n.Name, "image", name, "err", err)
		return nil, fmt.Sprintf("mode %s: node %s: %v", mode, n.Name, err)
	}
	return &manifest.Image{Name: rec.Name, SHA256: rec.SHA256, Size: rec.Size, Format: rec.Format}, ""
}
