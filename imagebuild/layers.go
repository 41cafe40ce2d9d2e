package imagebuild

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/disklesstrap/disklesstrap/imageprofile"
)

// LayerFormat changes whenever what a layer holds or how it is made
// changes (it is part of every key): old layers are then never reused.
const LayerFormat = "dt-image-layer 1"

// KeepLayers is how many layers a layer cache keeps (the most recently
// used); older ones are removed after each build.
const KeepLayers = 4

// Layer is one cached package layer: the tree after installing the
// packages of a profile and of every profile before it in the chain.
// The first is made by mmdebstrap, each next one by installing its
// packages with apt on a copy of the one below. The image's own profile
// (the chain's last) is never a layer: its packages are installed on a
// copy of the top layer in every build, cached layers or not, so a cold
// and a warm build take the same path and give the same tree.
type Layer struct {
	Profile  string   // the profile whose packages it adds
	Packages []string // the packages it adds, sorted
	Key      string   // sha256 (hex) of everything that determines it
	Inputs   string   // the text Key hashes, kept beside the layer
}

// splitLayers returns the layers below r's image (their keys unset) and
// the packages the image's own profile adds on top. The first layer is
// the chain's first profile's packages (none for a profile without
// parents: then it is the bare mmdebstrap variant); a later profile of
// the chain adds a layer only when it adds packages.
func splitLayers(r *imageprofile.Resolved) ([]Layer, []string) {
	by := map[string][]string{}
	for _, p := range r.Packages {
		by[p.From.Profile] = append(by[p.From.Profile], p.Value)
	}
	leaf := r.Chain[len(r.Chain)-1]
	if len(r.Chain) == 1 {
		return []Layer{{Profile: "(" + r.Variant.Value + ")"}}, sorted(by[leaf])
	}
	layers := []Layer{{Profile: r.Chain[0], Packages: sorted(by[r.Chain[0]])}}
	for _, p := range r.Chain[1 : len(r.Chain)-1] {
		if len(by[p]) > 0 {
			layers = append(layers, Layer{Profile: p, Packages: sorted(by[p])})
		}
	}
	return layers, sorted(by[leaf])
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

// keyLayers sets each layer's Inputs and Key: the first from the layer
// format, the tool's version, the architecture, the mirror's Release
// file (its sha256: the mirror state the packages come from), the epoch
// and mmdebstrap's arguments (variant, dpkg filters, packages, suite,
// mirror); each next one from the key below it and its packages.
func keyLayers(layers []Layer, r *imageprofile.Resolved, tool, release string, epoch int64) {
	prev := ""
	for i := range layers {
		var in string
		if i == 0 {
			in = fmt.Sprintf("%s\ntool %s\narch %s\nrelease sha256:%s\nepoch %d\nmmdebstrap %s\n",
				LayerFormat, tool, runtime.GOARCH, release, epoch,
				strings.Join(MmdebstrapArgs(r, layers[0].Packages, "ROOT", ""), " "))
		} else {
			in = fmt.Sprintf("%s\nbelow %s\napt-install %s\ndelta-script sha256:%s\n", LayerFormat, prev,
				strings.Join(layers[i].Packages, " "), sha(aptScript))
		}
		layers[i].Inputs = in
		layers[i].Key = sha(in)
		prev = layers[i].Key
	}
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// releaseURL is where the mirror's signed Release file for suite is.
func releaseURL(mirror, suite string) string {
	return strings.TrimRight(mirror, "/") + "/dists/" + suite + "/InRelease"
}

// FetchRelease reads the mirror's InRelease (http, https or file URL).
func FetchRelease(ctx context.Context, url string) ([]byte, error) {
	if p, ok := strings.CutPrefix(url, "file://"); ok {
		return os.ReadFile(p)
	}
	if p, ok := strings.CutPrefix(url, "file:"); ok {
		return os.ReadFile(p)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 64<<20))
}

// layerDir is where a layer's tree is kept; KEY.inputs beside it says
// what made it.
func (b *build) layerDir(l Layer) string { return filepath.Join(b.opt.Layers, l.Key) }

// cached reports whether l's tree is in the layer cache.
func (b *build) cached(l Layer) bool {
	st, err := os.Stat(filepath.Join(b.layerDir(l), "var", "lib", "dpkg", "status"))
	return err == nil && st.Mode().IsRegular()
}

// storeLayer moves a finished tree into the cache under l's key (a
// concurrent build that stored it first wins; the tree is dropped).
func (b *build) storeLayer(tmp string, l Layer) error {
	if err := os.WriteFile(b.layerDir(l)+".inputs", []byte(l.Inputs), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, b.layerDir(l)); err != nil {
		if b.cached(l) {
			return os.RemoveAll(tmp)
		}
		return err
	}
	fmt.Fprintf(b.log, "layer %s (%s) stored in %s\n", l.Key[:12], l.Profile, b.layerDir(l))
	return nil
}

// pruneLayers removes all but the keep most recently used layers.
func pruneLayers(dir string, keep int, log io.Writer) {
	m, _ := filepath.Glob(filepath.Join(dir, "*.inputs"))
	type ent struct {
		dir string
		t   time.Time
	}
	var all []ent
	for _, f := range m {
		if st, err := os.Stat(f); err == nil {
			all = append(all, ent{strings.TrimSuffix(f, ".inputs"), st.ModTime()})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].t.After(all[j].t) })
	for i := keep; i < len(all); i++ {
		os.RemoveAll(all[i].dir)
		os.Remove(all[i].dir + ".inputs")
		fmt.Fprintf(log, "layer cache: removed %s (least recently used)\n", filepath.Base(all[i].dir))
	}
}

// touch marks a layer used (the cache keeps the most recently used).
func (b *build) touch(l Layer) {
	now := time.Now()
	os.Chtimes(b.layerDir(l)+".inputs", now, now)
}
