package api

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/bootsrv/inventory"
	"github.com/disklesstrap/disklesstrap/manifest"
)

// stateliteFields fills m.Statelite for node n when the node's plan mode
// (Mode, or Continue for a trapped node) is statelite:
//
//   - Files: the litefile rules of the node's image (per-image rules
//     replace all-images rules of the same path);
//   - Tree: the litetree sources of the image, templated for the node,
//     in priority order; a data:/PATH source is the node's data_export
//     plus PATH, and DATA/PATH must be a folder here;
//   - Store: the node's statelite attribute;
//   - Root: the nfsroot attribute (the image root as an NFS export), else
//     Image from the registry record named by the image attribute, as in
//     mode ramroot;
//   - Sysroot's Init from the init attribute.
//
// What is missing or inconsistent is stated in m.Problems, which keeps
// the node in the trap saying why.
func (a *API) stateliteFields(m *manifest.Manifest, n *inventory.Node) {
	if m.Mode != manifest.ModeStatelite && m.Continue != manifest.ModeStatelite {
		return
	}
	s := &manifest.Statelite{Files: []manifest.LiteFile{}}
	if n.Lite != nil {
		if n.Lite.Err != nil {
			m.Problems = append(m.Problems, fmt.Sprintf("mode statelite: node %s: %v", n.Name, n.Lite.Err))
			return
		}
		s = n.Lite.Manifest()
		if problems := a.dataSourceProblems(n); len(problems) > 0 {
			m.Problems = append(m.Problems, problems...)
			return
		}
	}
	s.Root = inventory.Val(n.Attrs.NFSRoot)
	if init := inventory.Val(n.Attrs.Init); init != "" {
		m.Init = init
	}
	if err := s.Validate(); err != nil {
		m.Problems = append(m.Problems, fmt.Sprintf("mode statelite: node %s: %v", n.Name, err))
		return
	}
	if s.Root == "" {
		img, problem := a.registryImage(n, manifest.ModeStatelite)
		if problem != "" {
			m.Problems = append(m.Problems, problem+" (or set nfsroot=ADDR:/EXPORT to mount the image root over NFS)")
			return
		}
		if problems := a.registryFolderProblems(n, img); len(problems) > 0 {
			m.Problems = append(m.Problems, problems...)
			return
		}
		img.URL = m.Server + "/images/" + img.Name
		m.Image = img
	}
	m.Statelite = s
}

// liteFiles serves GET /api/v1/images/{name}/litefile: the litefile
// rules that apply to image NAME, with where each was written (trapctl
// image lite prepares the image root from them).
func (a *API) liteFiles(w http.ResponseWriter, r *http.Request) error {
	c, err := a.cluster()
	if err != nil {
		return err
	}
	out := []api.LiteFile{}
	for _, f := range c.LiteFiles(r.PathValue("name")) {
		out = append(out, api.LiteFile{Path: f.Path, Option: f.Option, Image: f.Image, File: f.File, Line: f.Line})
	}
	return writeJSON(w, http.StatusOK, out)
}

// dataSourceProblems checks that each data:/PATH litetree source of node
// n is a folder of bootsrv's data folder (the agent would mount a missing
// one and fail later, less clearly).
func (a *API) dataSourceProblems(n *inventory.Node) []string {
	if a.cfg.DataDir == "" {
		return nil
	}
	var out []string
	for _, t := range n.Lite.Tree {
		if t.Data == "" {
			continue
		}
		if fi, err := os.Stat(filepath.Join(a.cfg.DataDir, t.Data)); err != nil || !fi.IsDir() {
			out = append(out, fmt.Sprintf("mode statelite: node %s: litetree source %q (%s:%d): %s is not a folder of bootsrv's data folder %s",
				n.Name, t.Template, t.File, t.Line, t.Data, a.cfg.DataDir))
		}
	}
	return out
}
