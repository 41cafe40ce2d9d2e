package server

import (
	"path/filepath"

	"github.com/disklesstrap/disklesstrap/bootsrv/imagekinds"
	"github.com/disklesstrap/disklesstrap/bootsrv/images"
	"github.com/disklesstrap/disklesstrap/bootsrv/inventory"
)

// loadInventory reads the inventory file and checks its litefile rules
// against the registry's images (a folder rule without the trailing /
// where the image has a folder is a file:line: field: error), so start
// and reload refuse such an inventory as they refuse any bad attribute.
func (s *Server) loadInventory() (*inventory.Cluster, error) {
	c, err := inventory.Load(s.cfg.ConfigPath)
	if err != nil {
		return nil, err
	}
	if s.cfg.DataDir == "" {
		return c, nil
	}
	reg := images.View(filepath.Join(s.cfg.DataDir, "images"))
	if err := c.CheckLiteImages(imagekinds.For(reg)); err != nil {
		return nil, err
	}
	return c, nil
}
