// Package imagekinds reads whether paths are folders or files in the
// registry's squashfs images, for statelite's litefile rules (a folder
// rule ends in /). The squashfs is read with go-diskfs, only for the
// paths asked, and the answers are cached per image sha256, so a reload
// or a manifest reads an image version once.
package imagekinds

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/squashfs"

	"github.com/disklesstrap/disklesstrap/bootsrv/images"
	"github.com/disklesstrap/disklesstrap/bootsrv/inventory"
	"github.com/disklesstrap/disklesstrap/manifest"
)

// cache maps an image sha256 to path -> kind ("dir", "file", "").
var cache = struct {
	sync.Mutex
	m map[string]map[string]string
}{m: map[string]map[string]string{}}

// For returns the inventory's ImageKinds over registry reg: an image not
// in it, not a squashfs or unreadable is not checked.
func For(reg *images.Registry) inventory.ImageKinds {
	if reg == nil {
		return nil
	}
	return func(image string, paths []string) (map[string]string, bool) {
		rec, err := reg.Get(image)
		if err != nil || rec.Format != manifest.FormatSquashfs {
			return nil, false
		}
		k, err := Kinds(reg.Path(rec), rec.SHA256, paths)
		return k, err == nil
	}
}

// Kinds returns the kind of each path in the squashfs at name (digest
// sha, the cache key).
func Kinds(name, sha string, paths []string) (map[string]string, error) {
	cache.Lock()
	kinds := cache.m[sha]
	var missing []string
	for _, p := range paths {
		if _, ok := kinds[p]; !ok {
			missing = append(missing, p)
		}
	}
	cache.Unlock()
	if len(missing) > 0 {
		got, err := squashKinds(name, missing)
		if err != nil {
			return nil, err
		}
		cache.Lock()
		if cache.m[sha] == nil {
			cache.m[sha] = map[string]string{}
		}
		for k, v := range got {
			cache.m[sha][k] = v
		}
		kinds = cache.m[sha]
		cache.Unlock()
	}
	cache.Lock()
	defer cache.Unlock()
	out := make(map[string]string, len(paths))
	for _, p := range paths {
		out[p] = kinds[p]
	}
	return out, nil
}

// squashKinds reads the kinds of paths in a squashfs image. A path
// prepared by trapctl image lite is a link to /.statelite/tmpfs/P: its
// kind is that of /.default/P.
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
	if sq == nil {
		return nil, errors.New("not a squashfs")
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
