package state

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/disklesstrap/disklesstrap/manifest"
)

// NodeStatus is what bootsrv last heard from a node.
type NodeStatus struct {
	Node      string
	Phase     string    // phase of the last event
	LastEvent string    // short summary of the last event: "step-failed luks: bad key"
	LastSeen  time.Time // when bootsrv received the last event (server clock)
	Address   string    // last reported Data["address"] (may be CIDR)
	HostKey   string    // last reported SSH host key (authorized_keys form)
	Boots     int64     // iPXE scripts served (see StartBoot)
}

// Summary is the LastEvent text for an event: the phase, the step if any,
// and the message if any.
func Summary(ev manifest.Event) string {
	s := ev.Phase
	if step := ev.Data["step"]; step != "" {
		s += " " + step
	}
	if ev.Message != "" {
		s += ": " + ev.Message
	}
	return s
}

// AddEvents stores events and updates each node's status: phase, last
// event, last seen (the server's receive time), the reported address
// (Data["address"]) and host key (phase ssh-hostkey, Data["key"]). Events
// without a time get the receive time. Every event must name its node and
// phase; otherwise nothing is stored.
//
// It returns once the events are durable. Concurrent calls (many nodes
// reporting at once) share one transaction and one fsync (group commit);
// each call has its own savepoint, so one call's error never fails another.
func (s *Store) AddEvents(evs []manifest.Event) error {
	if err := checkEvents(evs); err != nil {
		return fmt.Errorf("add events: %w", err)
	}
	if len(evs) == 0 {
		return nil
	}
	now := s.now().UTC()
	evs = slices.Clone(evs)
	for i := range evs {
		if evs[i].Time.IsZero() {
			evs[i].Time = now
		}
	}
	ctx := context.Background()
	return s.tx(ctx, fmt.Sprintf("add %d events", len(evs)), func(tx *sql.Tx) error {
		return s.insertEvents(ctx, tx, evs, nil)
	})
}

// checkEvents: every event names its node and phase.
func checkEvents(evs []manifest.Event) error {
	for i, ev := range evs {
		if ev.Node == "" {
			return fmt.Errorf("event %d (%s): field node is empty", i, ev.Phase)
		}
		if ev.Phase == "" {
			return fmt.Errorf("event %d of %s: field phase is empty", i, ev.Node)
		}
	}
	return nil
}

// Events returns node's last limit events, oldest first. limit <= 0 means
// all of them, queued events (QueueEvents, kept in the boot log) merged
// in by time.
func (s *Store) Events(node string, limit int) ([]manifest.Event, error) {
	if err := s.Flush(); err != nil {
		return nil, fmt.Errorf("events of %s: %w", node, err)
	}
	if limit <= 0 {
		limit = noLimit
	}
	rows, err := s.r.Query(`SELECT node, mac, time, phase, message, data FROM
		(SELECT id, node, mac, time, phase, message, data FROM events WHERE node = ? ORDER BY id DESC LIMIT ?) AS e
		ORDER BY id`, node, limit)
	if err != nil {
		return nil, fmt.Errorf("events of %s: %w", node, err)
	}
	defer rows.Close()
	out := []manifest.Event{}
	for rows.Next() {
		var ev manifest.Event
		var t int64
		var data string
		if err := rows.Scan(&ev.Node, &ev.MAC, &t, &ev.Phase, &ev.Message, &data); err != nil {
			return nil, fmt.Errorf("events of %s: %w", node, err)
		}
		ev.Time = fromDB(t)
		if data != "" {
			if err := json.Unmarshal([]byte(data), &ev.Data); err != nil {
				return nil, fmt.Errorf("events of %s: data: %w", node, err)
			}
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events of %s: %w", node, err)
	}
	return s.mergeBootEvents(node, out, limit), nil
}

// Status returns the status of the given nodes that bootsrv has heard of,
// keyed by name; nodes never seen are absent. nil nodes means every node.
// Queued writes are committed first; Boots comes from memory.
func (s *Store) Status(nodes []string) (map[string]NodeStatus, error) {
	if err := s.Flush(); err != nil {
		return nil, fmt.Errorf("node status: %w", err)
	}
	var want map[string]bool
	if nodes != nil {
		want = make(map[string]bool, len(nodes))
		for _, n := range nodes {
			want[n] = true
		}
	}
	rows, err := s.r.Query(`SELECT node, phase, last_event, last_seen, address, hostkey, boots FROM node_status`)
	if err != nil {
		return nil, fmt.Errorf("node status: %w", err)
	}
	defer rows.Close()
	out := map[string]NodeStatus{}
	for rows.Next() {
		var st NodeStatus
		var seen int64
		if err := rows.Scan(&st.Node, &st.Phase, &st.LastEvent, &seen, &st.Address, &st.HostKey, &st.Boots); err != nil {
			return nil, fmt.Errorf("node status: %w", err)
		}
		if want != nil && !want[st.Node] {
			continue
		}
		st.LastSeen = fromDB(seen)
		out[st.Node] = st
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("node status: %w", err)
	}
	s.mergeBootStatus(out, want)
	for n, boots := range s.cache.bootCounts() {
		if want != nil && !want[n] {
			continue
		}
		st := out[n]
		st.Node, st.Boots = n, max(st.Boots, boots)
		out[n] = st
	}
	return out, nil
}
