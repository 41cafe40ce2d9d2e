package api

import (
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
	img, problem := a.registryImage(n, manifest.ModeRAMRoot)
	if problem != "" {
		m.Problems = append(m.Problems, problem)
		return
	}
	img.URL = m.Server + "/images/" + img.Name
	m.Image = img
	if inventory.Val(at.Transport) == manifest.TransportTorrent {
		a.torrentTransport(m, n.Name)
	}
}
