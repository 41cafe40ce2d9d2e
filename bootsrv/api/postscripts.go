package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/bootsrv/inventory"
	"github.com/disklesstrap/disklesstrap/manifest"
)

// maxProfileParam bounds the resolved profile an image upload carries.
const maxProfileParam = 64 << 10

// profileParam decodes the profile query parameter of an image upload
// (nil when absent).
func profileParam(s string) (*api.ImageProfile, error) {
	if s == "" {
		return nil, nil
	}
	if len(s) > maxProfileParam {
		return nil, errorf(http.StatusBadRequest, "query parameter profile: more than %d bytes", maxProfileParam)
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	var p api.ImageProfile
	if err := dec.Decode(&p); err != nil {
		return nil, errorf(http.StatusBadRequest, "query parameter profile: %v", err)
	}
	for _, n := range p.Postscripts {
		if !manifest.ValidPostscriptName(n) {
			return nil, errorf(http.StatusBadRequest, "query parameter profile: postscripts: invalid name %q", n)
		}
	}
	return &p, nil
}

// postscriptFields lists node n's postscripts in m: its image's profile
// postscripts (from the image record) and its postscripts attribute
// (scripts in DATA/postscripts), merged and sorted by name; a server
// script replaces an image script of the same name.
func (a *API) postscriptFields(m *manifest.Manifest, n *inventory.Node) {
	byName := map[string]manifest.Postscript{}
	if name := inventory.Val(n.Attrs.Image); name != "" && a.cfg.Images != nil {
		if rec, err := a.cfg.Images.Get(name); err == nil && rec.Profile != nil {
			for _, s := range rec.Profile.Postscripts {
				byName[s] = manifest.Postscript{Name: s, From: manifest.PostscriptFromImage, Path: manifest.PostscriptsDir + "/" + s}
			}
		}
	}
	if n.Attrs.Postscripts != nil {
		for _, s := range *n.Attrs.Postscripts {
			byName[s] = manifest.Postscript{Name: s, From: manifest.PostscriptFromServer, Path: "/postscripts/" + s}
			if _, err := os.Stat(filepath.Join(a.cfg.DataDir, "postscripts", s)); err != nil {
				m.Problems = append(m.Problems, fmt.Sprintf("postscript %s of node %s: not in bootsrv's DATA/postscripts", s, n.Name))
			}
		}
	}
	for _, p := range byName {
		m.Postscripts = append(m.Postscripts, p)
	}
	sort.Slice(m.Postscripts, func(i, j int) bool { return m.Postscripts[i].Name < m.Postscripts[j].Name })
}

// manifestPostscripts serves GET /manifest/{node}/postscripts: the booted
// OS's part of the manifest as lines a shell reads without a JSON parser
// (the image's dt-postscripts): "key AUTHORIZED_KEY" for each of the
// node's ssh_keys, then "script NAME PATH" in run order.
func (a *API) manifestPostscripts(w http.ResponseWriter, r *http.Request) error {
	c, err := a.cluster()
	if err != nil {
		return err
	}
	name := r.PathValue("node")
	n, ok := c.Node(name)
	if !ok {
		return errorf(http.StatusNotFound, "node %s not in the inventory", name)
	}
	m := &manifest.Manifest{}
	a.postscriptFields(m, n)
	var b bytes.Buffer
	for _, k := range inventory.Val(n.Attrs.SSHKeys) {
		fmt.Fprintf(&b, "key %s\n", k)
	}
	for _, p := range m.Postscripts {
		fmt.Fprintf(&b, "script %s %s\n", p.Name, p.Path)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, err = w.Write(b.Bytes())
	return err
}

// postscriptFile serves GET /postscripts/{name} from DATA/postscripts.
func (a *API) postscriptFile(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if !manifest.ValidPostscriptName(name) {
		return errorf(http.StatusNotFound, "no postscript %q", name)
	}
	root, err := os.OpenRoot(filepath.Join(a.cfg.DataDir, "postscripts"))
	if err != nil {
		return errorf(http.StatusNotFound, "no postscript %q", name)
	}
	defer root.Close()
	f, err := root.Open(name)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			a.log.Info("postscript refused", "name", name, "err", err)
		}
		return errorf(http.StatusNotFound, "no postscript %q", name)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return errorf(http.StatusNotFound, "no postscript %q", name)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	http.ServeContent(w, r, "", st.ModTime(), f)
	return nil
}
