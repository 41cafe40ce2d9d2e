package api

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/squashfs"

	"github.com/disklesstrap/disklesstrap/bootsrv/inventory"
	"github.com/disklesstrap/disklesstrap/manifest"
)

// liteKinds caches, per image sha256, whether each litefile path is a
// folder or a file in the image ("" when it has none): the squashfs is
// read once per image version.
var liteKinds = struct {
	sync.Mutex
	m map[string]map[string]string
}{m: map[string]map[string]string{}}

// liteFolderProblems compares node n's litefile rules with its registry
// image (squashfs at file, digest sha): a rule without the trailing /
// where the image has a folder, or with it where the image has a file, is
// a problem naming the rule's file:line. An image that cannot be read is
// not checked (the agent checks again at boot).
func liteFolderProblems(n *inventory.Node, file, sha string) []string {
	liteKinds.Lock()
	kinds := liteKinds.m[sha]
	if kinds == nil {
		kinds = map[string]string{}
		liteKinds.m[sha] = kinds
	}
	var missing []string
	for _, f := range n.Lite.Files {
		if _, ok := kinds[f.Path]; !ok {
			missing = append(missing, f.Path)
		}
	}
	liteKinds.Unlock()
	if len(missing) > 0 {
		got, err := squashKinds(file, missing)
		if err != nil {
			return nil
		}
		liteKinds.Lock()
		for k, v := range got {
			kinds[k] = v
		}
		liteKinds.Unlock()
	}
	liteKinds.Lock()
	defer liteKinds.Unlock()
	var out []string
	for _, f := range n.Lite.Files {
		switch k := kinds[f.Path]; {
		case k == "dir" && !f.IsFolder():
			out = append(out, fmt.Sprintf("mode statelite: %s:%d: litefile %s: image %s has a folder there: write the rule as %s/", f.File, f.Line, f.Path, n.Lite.Image, f.Path))
		case k == "file" && f.IsFolder():
			out = append(out, fmt.Sprintf("mode statelite: %s:%d: litefile %s: image %s has a file there, not a folder: write the rule without the trailing /", f.File, f.Line, f.Path, n.Lite.Image))
		}
	}
	return out
}

// squashKinds reads the kinds of paths in a squashfs image: "dir",
// "file" or "" (absent). A path prepared by trapctl image lite is a link
// to /.statelite/tmpfs/P: its kind is that of /.default/P.
func squashKinds(name string, paths []string) (map[string]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	sq, err := squashfs.Read(file.New(f, true), st.Size(), 0, 0)
	if err != nil {
		return nil, err
	}
	kind := func(p string) (string, bool) {
		dir := strings.TrimPrefix(path.Dir(p), "/") // io/fs names: "etc", "." for the root
		if dir == "" {
			dir = "."
		}
		ents, err := sq.ReadDir(dir)
		if err != nil {
			return "", false
		}
		for _, e := range ents {
			if e.Name() != path.Base(p) {
				continue
			}
			switch {
			case e.IsDir():
				return "dir", false
			case e.Type()&fs.ModeSymlink != 0:
				return "", true
			}
			return "file", false
		}
		return "", false
	}
	out := map[string]string{}
	for _, p := range paths {
		rel := strings.Trim(p, "/")
		k, link := kind("/" + rel)
		if link {
			k, _ = kind("/.default/" + rel)
		}
		out[p] = k
	}
	return out, nil
}

// registryFolderProblems is liteFolderProblems for a manifest's image.
func (a *API) registryFolderProblems(n *inventory.Node, img *manifest.Image) []string {
	if n.Lite == nil || a.cfg.Images == nil || img.Format != manifest.FormatSquashfs {
		return nil
	}
	rec, err := a.cfg.Images.Get(img.Name)
	if err != nil {
		return nil
	}
	return liteFolderProblems(n, a.cfg.Images.Path(rec), rec.SHA256)
}
