package api

import (
	"errors"
	"fmt"

	"github.com/disklesstrap/disklesstrap/bootsrv/images"
	"github.com/disklesstrap/disklesstrap/bootsrv/inventory"
	"github.com/disklesstrap/disklesstrap/manifest"
)

// ramrootFields fills the stateless-boot fields of m for node n when the
// node's plan mode (Mode, or Continue for a trapped node) is ramroot:
//
//   - Image from the registry record named by the node's image attribute
//     (URL base/images/NAME, SHA256, Size, Format); the record is read from
//     disk now, so a hand-edited record shows in the next manifest;
//   - Image.Transport "torrent" and Image.Torrent when the node's
//     transport attribute says torrent and bootsrv seeds the image (else
//     the node fetches over http, and bootsrv logs why);
//   - Zram[0].Size/Algorithm from zram_size/zram_algorithm, Overlays from
//     overlays; anything unset is left to manifest.RAMRootDefaults, which
//     the agent applies.
//
// What is missing (no image attribute, an image not in the registry, an
// unreadable record) leaves Image nil and is stated in m.Problems, which
// the agent shows in the trap.
func (a *API) ramrootFields(m *manifest.Manifest, n *inventory.Node) {
	if m.Mode != manifest.ModeRAMRoot && m.Continue != manifest.ModeRAMRoot {
		return
	}
	at := n.Attrs
	if size, alg := inventory.Val(at.ZramSize), inventory.Val(at.ZramAlgorithm); size != "" || alg != "" {
		m.Zram = []manifest.Zram{{Size: size, Algorithm: alg}}
	}
	if at.Overlays != nil {
		m.Overlays = append([]string{}, *at.Overlays...)
	}
	if init := inventory.Val(at.Init); init != "" {
		m.Init = init
	}
	if m.Image = a.registryImage(m, n, manifest.ModeRAMRoot); m.Image == nil {
		return
	}
	if inventory.Val(at.Transport) == manifest.TransportTorrent {
		a.torrentTransport(m, n.Name)
	}
}

// registryImage is the registry's record of node n's image attribute as a
// manifest image (URL base/images/NAME, SHA256, Size, Format), read from
// disk now. What is missing is stated in m.Problems for mode and nil
// returned.
func (a *API) registryImage(m *manifest.Manifest, n *inventory.Node, mode manifest.Mode) *manifest.Image {
	name := inventory.Val(n.Attrs.Image)
	if name == "" {
		m.Problems = append(m.Problems, fmt.Sprintf(
			"mode %s: no image: node %s's image attribute is not set (trapctl node set %s image=NAME; trapctl image list)", mode, n.Name, n.Name))
		return nil
	}
	if a.cfg.Images == nil {
		m.Problems = append(m.Problems, fmt.Sprintf("mode %s: image %s of node %s: bootsrv's image registry is unavailable (%v)", mode, name, n.Name, a.imagesErr))
		return nil
	}
	rec, err := a.cfg.Images.Get(name)
	switch {
	case errors.Is(err, images.ErrNotFound):
		m.Problems = append(m.Problems, fmt.Sprintf(
			"mode %s: image %s of node %s is not in bootsrv's image registry (trapctl image list; trapctl image pack DIR --name %s)", mode, name, n.Name, name))
		return nil
	case err != nil:
		a.log.Warn("image record", "node", n.Name, "image", name, "err", err)
		m.Problems = append(m.Problems, fmt.Sprintf("mode %s: node %s: %v", mode, n.Name, err))
		return nil
	}
	return &manifest.Image{
		Name:   rec.Name,
		URL:    m.Server + "/images/" + rec.Name,
		SHA256: rec.SHA256,
		Size:   rec.Size,
		Format: rec.Format,
	}
}
