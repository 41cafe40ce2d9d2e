package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/disklesstrap/disklesstrap/bootsrv/inventory"
	"github.com/disklesstrap/disklesstrap/bootsrv/state"
	"github.com/disklesstrap/disklesstrap/manifest"
)

// A known node's manifest is a function of the inventory, its mode
// overrides, the base URL it is asked at, the image registry and a few
// files under the data folder (postscripts). JSON-encoding it per request
// cost more than the rest of GET /manifest/{node}, so it is kept encoded
// (split around its Generated time, the one per-request field) and used
// again while nothing it came from changed: the same *inventory.Cluster
// (a reload or an edit stores a new one), the same overrides (a mode
// switch, a --once consumed), the same base URL, and at most manifestTTL
// old. A manifest that draws on files
// (an image record, postscripts, install scripts, statelite checks) or has
// problems is encoded per request, so a file changed by hand shows at once
// (fromInventoryOnly).

// manifestTTL bounds how long an encoded manifest is used again.
const manifestTTL = 5 * time.Second

// maxManifests bounds the cache whatever Host headers come in: it is
// emptied when full.
const maxManifests = 1 << 15

type manifestKey struct{ node, base string }

type manifestEntry struct {
	cluster       *inventory.Cluster
	mode, persist state.Override
	hasMode, hasP bool
	built         time.Time
	head, tail    []byte // the JSON before and after the Generated value
}

type manifestCache struct {
	mu sync.RWMutex
	m  map[manifestKey]*manifestEntry
}

// generatedMark is the Generated value a cached encoding is made with; the
// cache splits the JSON at it.
var generatedMark = []byte(`"generated": "0001-01-01T00:00:00Z"`)

// serveNodeManifest answers a known node's manifest from the cache,
// encoding it first when the cached one is stale.
func (a *API) serveNodeManifest(w http.ResponseWriter, r *http.Request, c *inventory.Cluster, n *inventory.Node) error {
	key := manifestKey{n.Name, a.cfg.BaseURL(r)}
	cur := manifestEntry{cluster: c}
	var err error
	if cur.mode, cur.hasMode, err = a.cfg.Store.ModeFor(n.Name); err != nil {
		return err
	}
	if cur.persist, cur.hasP, err = a.cfg.Store.PersistentMode(n.Name); err != nil {
		return err
	}
	now := a.cfg.Now()
	a.manifests.mu.RLock()
	e := a.manifests.m[key]
	a.manifests.mu.RUnlock()
	if e == nil || !e.sameInputs(&cur) || now.Sub(e.built) > manifestTTL || now.Before(e.built) {
		m, err := a.nodeManifest(r, c, n)
		if err != nil {
			return err
		}
		m.Generated = time.Time{}
		if !fromInventoryOnly(n, m) {
			m.Generated = now.UTC()
			return writeManifest(w, m)
		}
		cur.built = now
		if cur.head, cur.tail, err = splitManifest(m); err != nil {
			return err
		}
		e = &cur
		a.manifests.mu.Lock()
		if a.manifests.m == nil || len(a.manifests.m) >= maxManifests {
			a.manifests.m = make(map[manifestKey]*manifestEntry)
		}
		a.manifests.m[key] = e
		a.manifests.mu.Unlock()
	}
	b := manifestBufs.Get().(*bytes.Buffer)
	defer manifestBufs.Put(b)
	b.Reset()
	b.Write(e.head)
	b.Write(now.UTC().AppendFormat(b.AvailableBuffer(), time.RFC3339Nano))
	b.Write(e.tail)
	writeJSONBytes(w, b.Bytes())
	return nil
}

// fromInventoryOnly reports whether m (rendered for n) depends on nothing
// but the inventory, the overrides and the base URL: no image record, no
// file under the data folder, no problems (which may name a missing file).
func fromInventoryOnly(n *inventory.Node, m *manifest.Manifest) bool {
	return inventory.Val(n.Attrs.Image) == "" && n.Attrs.Postscripts == nil && len(m.Problems) == 0 &&
		m.Image == nil && m.Install == nil && m.Statelite == nil && len(m.Postscripts) == 0
}

func (e *manifestEntry) sameInputs(cur *manifestEntry) bool {
	return e.cluster == cur.cluster &&
		e.hasMode == cur.hasMode && e.mode == cur.mode && e.hasP == cur.hasP && e.persist == cur.persist
}

// splitManifest encodes m (Generated zero) as writeManifest does and
// splits it around the Generated time's text.
func splitManifest(m *manifest.Manifest) (head, tail []byte, err error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return nil, nil, fmt.Errorf("encode manifest of %s: %w", m.Node, err)
	}
	out := b.Bytes()
	i := bytes.Index(out, generatedMark)
	if i < 0 {
		return nil, nil, fmt.Errorf("encode manifest of %s: no generated field", m.Node)
	}
	head = out[:i+len(generatedMark)-len(`0001-01-01T00:00:00Z"`)]
	tail = out[i+len(generatedMark)-1:]
	return head, tail, nil
}
