package api

import (
	"bytes"
	"embed"
	"html/template"
	"net"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/noderange"
)

//go:embed web.html
var webFS embed.FS

var pageTemplates = template.Must(template.New("").Funcs(template.FuncMap{"since": sinceText}).ParseFS(webFS, "web.html"))

// webNode is one node in the page: name, phase, its class, mode.
type webNode struct {
	Name  string `json:"n"`
	Phase string `json:"p"`
	Class int    `json:"c"`
	Mode  string `json:"m"`
	Event string `json:"e,omitempty"`
	Seen  int64  `json:"s,omitempty"` // unix ms
}

// phaseClasses are the grid's colours: 0 never seen, 1 booting, 2 in the
// trap, 3 discovery, 4 working, 5 up, 6 failed.
var phaseClasses = map[string]int{
	PhaseIPXE: 1, manifest.PhaseAgentStart: 1, manifest.PhaseNetUp: 1, manifest.PhaseManifest: 1, manifest.PhaseContinue: 1,
	manifest.PhaseTrapped: 2, manifest.PhaseHostKey: 2,
	manifest.PhaseDiscovered: 3, PhaseNamed: 3,
	manifest.PhaseStepStart: 4, manifest.PhaseStepDone: 4, manifest.PhaseProgress: 4, manifest.PhaseSysroot: 4,
	manifest.PhaseSecretReleased: 4, manifest.PhaseSecretReceived: 4, manifest.PhasePostscript: 4,
	manifest.PhaseSwitchRoot: 5, manifest.PhaseOSBooted: 5, manifest.PhasePostscriptsDone: 5,
	manifest.PhaseError: 6, manifest.PhaseStepFailed: 6, manifest.PhaseUnreachable: 6, manifest.PhaseSecretRefused: 6,
	manifest.PhasePostscriptsFailed: 6,
}

var classNames = []string{"never seen", "booting", "in the trap", "discovery", "working", "up", "failed"}

func phaseClass(p string) int {
	if p == "" {
		return 0
	}
	if c, ok := phaseClasses[p]; ok {
		return c
	}
	return 1
}

// webNodes is every inventory node, then the unnamed discovered MACs.
func (a *API) webNodes(since time.Time) ([]webNode, error) {
	c, err := a.cluster()
	if err != nil {
		return nil, err
	}
	st, err := a.cfg.Store.Status(nil)
	if err != nil {
		return nil, err
	}
	modes, err := a.cfg.Store.Modes()
	if err != nil {
		return nil, err
	}
	out := make([]webNode, 0, len(c.Nodes()))
	add := func(name string, mode manifest.Mode) {
		n := webNode{Name: name, Mode: string(mode)}
		if o, ok := modes[name]; ok {
			n.Mode = string(o.Mode)
			if o.Once {
				n.Mode += " (once)"
			}
		}
		s, ok := st[name]
		if ok {
			n.Phase, n.Event = s.Phase, s.LastEvent
			if !s.LastSeen.IsZero() {
				n.Seen = s.LastSeen.UnixMilli()
			}
		}
		n.Class = phaseClass(n.Phase)
		if !since.IsZero() && (!ok || s.LastSeen.Before(since)) {
			return
		}
		out = append(out, n)
	}
	for _, n := range c.Nodes() {
		add(n.Name, nodeMode(n))
	}
	ds, err := a.cfg.Store.DiscoveredNodes()
	if err != nil {
		return nil, err
	}
	var unknown []string
	for _, d := range ds {
		if mac, err := net.ParseMAC(d.MAC); err == nil {
			if _, _, known := c.ByMAC(mac); !known {
				unknown = append(unknown, discoveryName(mac))
			}
		}
	}
	slices.SortFunc(unknown, func(x, y string) int {
		if noderange.Less(x, y) {
			return -1
		}
		return 1
	})
	for _, name := range unknown {
		add(name, manifest.ModeDiscovery)
	}
	return out, nil
}

// webErrors are the nodes whose last phase failed, newest first.
func webErrors(nodes []webNode, max int) []webNode {
	var out []webNode
	for _, n := range nodes {
		if n.Class == 6 {
			out = append(out, n)
		}
	}
	slices.SortFunc(out, func(x, y webNode) int { return int(y.Seen - x.Seen) })
	if len(out) > max {
		out = out[:max]
	}
	return out
}

// webSwarm is one image's swarm in the page.
type webSwarm struct {
	Image     string `json:"image"`
	Peers     int    `json:"peers"`
	Complete  int    `json:"complete"`
	Percent   int    `json:"percent"` // mean progress of the peers
	Completed int    `json:"completed"`
}

func (a *API) webSwarms() []webSwarm {
	if a.cfg.Swarm == nil || a.cfg.Swarm.Tracker == nil {
		return []webSwarm{}
	}
	a.swarm.mu.Lock()
	imgs := make([]*swarmImage, 0, len(a.swarm.imgs))
	for _, im := range a.swarm.imgs {
		imgs = append(imgs, im)
	}
	a.swarm.mu.Unlock()
	out := []webSwarm{}
	for _, im := range imgs {
		s := webSwarm{Image: im.rec.Name}
		size := im.info.TotalLength()
		if st, ok := a.cfg.Swarm.Tracker.Stats(im.ih); ok {
			s.Completed = st.Completed
			sum := 0
			for _, p := range st.Peers {
				s.Peers++
				if p.Left == 0 {
					s.Complete++
				}
				if size > 0 {
					sum += int(100 * (size - min(p.Left, size)) / size)
				}
			}
			if s.Peers > 0 {
				s.Percent = sum / s.Peers
			}
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(x, y webSwarm) int {
		if x.Image < y.Image {
			return -1
		}
		return 1
	})
	return out
}

// webSection is one mode's part of the grid.
type webSection struct {
	Mode  string
	Nodes []webNode
}

type webPage struct {
	Who      string
	Total    int
	Sections []webSection
	Counts   []webCount
	Errors   []webNode
	Swarms   []webSwarm
	Now      int64
	Rendered string
}

type webCount struct {
	Class int
	Name  string
	N     int
}

// webPageHandler serves GET /ui.
func (a *API) webPageHandler(w http.ResponseWriter, r *http.Request) error {
	start := time.Now()
	now := a.cfg.Now()
	nodes, err := a.webNodes(time.Time{})
	if err != nil {
		return err
	}
	p := webPage{Total: len(nodes), Errors: webErrors(nodes, 50), Swarms: a.webSwarms(), Now: now.UnixMilli()}
	if adm, ok := AdminOf(r.Context()); ok {
		p.Who = adm.Who
	}
	idx := map[string]int{}
	counts := make([]int, len(classNames))
	for _, n := range nodes {
		mode, _, _ := bytes.Cut([]byte(n.Mode), []byte(" "))
		i, ok := idx[string(mode)]
		if !ok {
			i = len(p.Sections)
			idx[string(mode)] = i
			p.Sections = append(p.Sections, webSection{Mode: string(mode)})
		}
		p.Sections[i].Nodes = append(p.Sections[i].Nodes, n)
		counts[n.Class]++
	}
	for c, n := range counts {
		p.Counts = append(p.Counts, webCount{Class: c, Name: classNames[c], N: n})
	}
	var b bytes.Buffer
	if err := pageTemplates.ExecuteTemplate(&b, "page", p); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.Header().Set("Server-Timing", "render;dur="+strconv.FormatFloat(float64(time.Since(start).Microseconds())/1000, 'f', 1, 64))
	w.Write(b.Bytes())
	return nil
}

// webState serves GET /ui/state?since=MS: what changed since then (every
// node when since is 0), the failures and the swarms.
func (a *API) webState(w http.ResponseWriter, r *http.Request) error {
	var since time.Time
	if s := r.URL.Query().Get("since"); s != "" && s != "0" {
		ms, err := strconv.ParseInt(s, 10, 64)
		if err != nil || ms < 0 {
			return errorf(http.StatusBadRequest, "query parameter since: want unix milliseconds, got %q", s)
		}
		since = time.UnixMilli(ms)
	}
	now := a.cfg.Now()
	all, err := a.webNodes(time.Time{})
	if err != nil {
		return err
	}
	changed := all
	if !since.IsZero() {
		changed = nil
		for _, n := range all {
			if n.Seen >= since.UnixMilli() {
				changed = append(changed, n)
			}
		}
	}
	counts := make([]int, len(classNames))
	for _, n := range all {
		counts[n.Class]++
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"now": now.UnixMilli(), "nodes": nonNilNodes(changed), "errors": nonNilNodes(webErrors(all, 50)),
		"swarms": a.webSwarms(), "counts": counts, "total": len(all),
	})
}

func nonNilNodes(n []webNode) []webNode {
	if n == nil {
		return []webNode{}
	}
	return n
}

// webEvents serves GET /ui/events?node=N: the node's last 15 events.
func (a *API) webEvents(w http.ResponseWriter, r *http.Request) error {
	node := r.URL.Query().Get("node")
	if node == "" {
		return errorf(http.StatusBadRequest, "query parameter node is required")
	}
	evs, err := a.cfg.Store.Events(node, 15)
	if err != nil {
		return err
	}
	if evs == nil {
		evs = []manifest.Event{}
	}
	for i := range evs {
		delete(evs[i].Data, "inventory") // large; trapctl discover list shows it
		delete(evs[i].Data, "key")
	}
	return writeJSON(w, http.StatusOK, evs)
}

func sinceText(ms int64) string {
	if ms == 0 {
		return "never"
	}
	return time.UnixMilli(ms).UTC().Format("15:04:05")
}
