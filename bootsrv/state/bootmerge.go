package state

import (
	"fmt"
	"strings"

	"github.com/disklesstrap/disklesstrap/manifest"
)

// openBoots opens the boot log (bootlog.go) and raises the cached boot
// counters to what it recorded.
func (s *Store) openBoots(dir string) error {
	bl, err := openBootLog(dir)
	if err != nil {
		return err
	}
	s.boots = bl
	s.cache.mu.Lock()
	defer s.cache.mu.Unlock()
	for node, boot := range bl.boots() {
		e := s.cache.nodes[node]
		if e == nil {
			e = &nodeEntry{}
			s.cache.nodes[node] = e
		}
		e.boots = max(e.boots, boot)
	}
	return nil
}

// mergeBootEvents merges node's boot-log events into evs (database
// events, oldest first) by time and keeps the newest limit (<= 0: all).
func (s *Store) mergeBootEvents(node string, evs []manifest.Event, limit int) []manifest.Event {
	more := s.boots.events(node)
	if len(more) == 0 {
		return evs
	}
	out := make([]manifest.Event, 0, len(evs)+len(more))
	i, j := 0, 0
	for i < len(evs) || j < len(more) {
		if j == len(more) || (i < len(evs) && !more[j].Time.Before(evs[i].Time)) {
			out = append(out, evs[i])
			i++
		} else {
			out = append(out, more[j])
			j++
		}
	}
	if limit > 0 && len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out
}

// lastBootEvent returns node's newest boot-log event of phase.
func (s *Store) lastBootEvent(node, phase string) (manifest.Event, bool) {
	evs := s.boots.events(node)
	for k := len(evs) - 1; k >= 0; k-- {
		if evs[k].Phase == phase {
			return evs[k], true
		}
	}
	return manifest.Event{}, false
}

// mergeBootStatus lets a node's newest boot-log event be its last event
// when it is newer than the database's (its time is bootsrv's receive
// time, like LastSeen).
func (s *Store) mergeBootStatus(out map[string]NodeStatus, want map[string]bool) {
	for node, ev := range s.boots.lastEvents() {
		if want != nil && !want[node] {
			continue
		}
		st, ok := out[node]
		if ok && !ev.Time.After(st.LastSeen) {
			continue
		}
		st.Node, st.Phase, st.LastEvent, st.LastSeen = node, ev.Phase, Summary(ev), ev.Time
		out[node] = st
	}
}

// pruneBoots drops the boot-log entries of discovery names ("mac-" and 12
// hex digits) whose MAC is no longer discovered, as Prune does with their
// rows.
func (s *Store) pruneBoots() error {
	rows, err := s.r.Query(`SELECT replace(mac, ':', '') FROM discovered`)
	if err != nil {
		return fmt.Errorf("state db %s: discovered MACs: %w", s.path, err)
	}
	defer rows.Close()
	known := map[string]bool{}
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			return fmt.Errorf("state db %s: discovered MACs: %w", s.path, err)
		}
		known[m] = true
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("state db %s: discovered MACs: %w", s.path, err)
	}
	s.boots.drop(func(node string) bool {
		m, ok := strings.CutPrefix(node, "mac-")
		return !ok || len(m) != 12 || known[m]
	})
	return nil
}
