package storm

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/manifest"
	_ "modernc.org/sqlite" // the state file is read directly, too
)

// wantModes replays the acknowledged switches: node index -> mode in force
// (absent: the inventory's "trap"), and the modes the in-doubt switch may
// have left instead.
func (s *storm) wantModes() (want, alt map[int]manifest.Mode) {
	want, alt = map[int]manifest.Mode{}, map[int]manifest.Mode{}
	for _, m := range s.modeLog {
		for i := m.first; i <= m.last; i++ {
			want[i] = m.mode
		}
	}
	if d := s.inDoubt; d != nil {
		for i := d.first; i <= d.last; i++ {
			alt[i] = d.mode
		}
	}
	return want, alt
}

// modeOK reports whether got is a mode node i may have after the storm.
func modeOK(i int, got string, want, alt map[int]manifest.Mode) bool {
	w, ok := want[i]
	if !ok {
		w = manifest.ModeTrap
	}
	a, doubt := alt[i]
	return got == string(w) || doubt && got == string(a)
}

// lostEvent counts an acknowledged event a check did not find.
func (s *storm) lostEvent(node, msg string) {
	if s.lostEvents == nil {
		s.lostEvents = map[string]bool{}
	}
	s.lostEvents[node+"\x00"+msg] = true
}

// lostMode counts a node whose last acknowledged switch a check did not
// find.
func (s *storm) lostMode(node string) {
	if s.lostModes == nil {
		s.lostModes = map[string]bool{}
	}
	s.lostModes[node] = true
}

// maxProblems caps the report; past it, only the count grows.
const maxProblems = 20

type problems struct {
	list []string
	n    int
}

func (p *problems) add(format string, args ...any) {
	p.n++
	if len(p.list) < maxProblems {
		p.list = append(p.list, fmt.Sprintf(format, args...))
	}
}

func (p *problems) result() []string {
	if p.n > len(p.list) {
		p.list = append(p.list, fmt.Sprintf("... and %d more", p.n-len(p.list)))
	}
	return p.list
}

// verifyAPI checks, through the API of the restarted server, every
// acknowledged event and every node's mode.
func (s *storm) verifyAPI(ctx context.Context) []string {
	var p problems
	want, alt := s.wantModes()
	b, err := s.adminGet(ctx, "/api/v1/status?range="+url.QueryEscape(NodeRange(1, s.cfg.Nodes)))
	if err != nil {
		return []string{"status: " + err.Error()}
	}
	var rows []api.Status
	if err := json.Unmarshal(b, &rows); err != nil {
		return []string{"status: " + err.Error()}
	}
	got := map[string]manifest.Mode{}
	for _, r := range rows {
		got[r.Node] = r.Mode
	}
	for i := 1; i <= s.cfg.Nodes; i++ {
		if g := got[NodeName(i)]; !modeOK(i, string(g), want, alt) {
			s.lostMode(NodeName(i))
			p.add("mode of %s after the storm = %q, want %q (last acknowledged switch)", NodeName(i), g, want[i])
		}
		b, err := s.adminGet(ctx, fmt.Sprintf("/api/v1/events?node=%s&limit=100000", NodeName(i)))
		if err != nil {
			p.add("events of %s: %v", NodeName(i), err)
			continue
		}
		var evs []manifest.Event
		if err := json.Unmarshal(b, &evs); err != nil {
			p.add("events of %s: %v", NodeName(i), err)
			continue
		}
		have := map[string]bool{}
		for _, ev := range evs {
			have[ev.Message] = true
		}
		for _, msg := range s.acked[i] {
			if !have[msg] {
				s.lostEvent(NodeName(i), msg)
				p.add("API: acknowledged event %q of %s is lost", msg, NodeName(i))
			}
		}
	}
	return p.result()
}

// verifyDB reads the SQLite file of the stopped server: every acknowledged
// event must be in table events, and every node's persistent override
// must be the last acknowledged switch.
func (s *storm) verifyDB(path string) ([]string, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer db.Close()
	have := map[string]bool{}
	rows, err := db.Query(`SELECT message FROM events WHERE phase = ?`, manifest.PhaseProgress)
	if err != nil {
		return nil, fmt.Errorf("read events from %s: %w", path, err)
	}
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read events from %s: %w", path, err)
		}
		have[m] = true
	}
	rows.Close()
	modes := map[string]string{}
	rows, err = db.Query(`SELECT node, mode FROM mode_overrides WHERE once = 0`)
	if err != nil {
		return nil, fmt.Errorf("read modes from %s: %w", path, err)
	}
	for rows.Next() {
		var n, m string
		if err := rows.Scan(&n, &m); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read modes from %s: %w", path, err)
		}
		modes[n] = m
	}
	rows.Close()
	var p problems
	for i := 1; i <= s.cfg.Nodes; i++ {
		for _, msg := range s.acked[i] {
			if !have[msg] {
				s.lostEvent(NodeName(i), msg)
				p.add("SQLite: acknowledged event %q of %s is not in %s", msg, NodeName(i), path)
			}
		}
	}
	want, alt := s.wantModes()
	for i := 1; i <= s.cfg.Nodes; i++ {
		got, set := modes[NodeName(i)]
		if _, acked := want[i]; !acked && !set {
			continue // never switched: no override row
		}
		if !modeOK(i, got, want, alt) {
			s.lostMode(NodeName(i))
			p.add("SQLite: persistent mode of %s = %q, want %q", NodeName(i), got, want[i])
		}
	}
	return p.result(), nil
}
