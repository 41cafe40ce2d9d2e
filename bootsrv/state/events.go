package state

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
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
// Group commit: concurrent calls (many nodes reporting at once) are written
// in one transaction, so they share one fsync; each call still returns only
// after its events are durable, and a failing batch is retried call by call
// so one call's error never fails another.
func (s *Store) AddEvents(evs []manifest.Event) error {
	for i, ev := range evs {
		if ev.Node == "" {
			return fmt.Errorf("add events: event %d (%s): field node is empty", i, ev.Phase)
		}
		if ev.Phase == "" {
			return fmt.Errorf("add events: event %d of %s: field phase is empty", i, ev.Node)
		}
	}
	if len(evs) == 0 {
		return nil
	}
	req := eventReq{evs: evs, done: make(chan error, 1)}
	select {
	case s.evCh <- req:
	case <-s.quit:
		return fmt.Errorf("add events: state store %s is closed", s.path)
	}
	return <-req.done
}

type eventReq struct {
	evs  []manifest.Event
	done chan error
}

// maxGroup bounds how many AddEvents calls share one transaction.
const maxGroup = 256

// committer writes queued AddEvents calls, grouping those that wait.
func (s *Store) committer() {
	defer close(s.stopped)
	for {
		var first eventReq
		select {
		case first = <-s.evCh:
		case <-s.quit:
			return
		}
		group := []eventReq{first}
	drain:
		for len(group) < maxGroup {
			select {
			case r := <-s.evCh:
				group = append(group, r)
			default:
				break drain
			}
		}
		var all []manifest.Event
		for _, r := range group {
			all = append(all, r.evs...)
		}
		err := s.writeEvents(all)
		if err != nil && len(group) > 1 {
			for _, r := range group {
				r.done <- s.writeEvents(r.evs)
			}
			continue
		}
		for _, r := range group {
			r.done <- err
		}
	}
}

// writeEvents stores events in one transaction.
func (s *Store) writeEvents(evs []manifest.Event) error {
	ctx := context.Background()
	now := s.now().UTC()
	return s.tx(ctx, fmt.Sprintf("add %d events", len(evs)), func(tx *sql.Tx) error {
		ins, err := tx.PrepareContext(ctx, `INSERT INTO events(node, mac, time, phase, message, data) VALUES(?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		st, err := tx.PrepareContext(ctx, `INSERT INTO node_status(node, phase, last_event, last_seen, address, hostkey)
			VALUES(?1, ?2, ?3, ?4, ?5, ?6)
			ON CONFLICT(node) DO UPDATE SET phase=?2, last_event=?3, last_seen=?4,
				address = CASE WHEN ?5 != '' THEN ?5 ELSE address END,
				hostkey = CASE WHEN ?6 != '' THEN ?6 ELSE hostkey END`)
		if err != nil {
			return err
		}
		defer st.Close()
		for i, ev := range evs {
			if ev.Node == "" {
				return fmt.Errorf("event %d (%s): field node is empty", i, ev.Phase)
			}
			if ev.Phase == "" {
				return fmt.Errorf("event %d of %s: field phase is empty", i, ev.Node)
			}
			t := ev.Time
			if t.IsZero() {
				t = now
			}
			data := ""
			if len(ev.Data) > 0 {
				b, err := json.Marshal(ev.Data)
				if err != nil {
					return fmt.Errorf("event %d of %s: data: %w", i, ev.Node, err)
				}
				data = string(b)
			}
			if _, err := ins.ExecContext(ctx, ev.Node, ev.MAC, toDB(t), ev.Phase, ev.Message, data); err != nil {
				return fmt.Errorf("event %d of %s: %w", i, ev.Node, err)
			}
			key := ""
			if ev.Phase == manifest.PhaseHostKey {
				key = strings.TrimSpace(ev.Data["key"])
			}
			if _, err := st.ExecContext(ctx, ev.Node, ev.Phase, Summary(ev), toDB(now),
				strings.TrimSpace(ev.Data["address"]), key); err != nil {
				return fmt.Errorf("status of %s: %w", ev.Node, err)
			}
		}
		return nil
	})
}

// Events returns node's last limit events, oldest first. limit <= 0 means
// all of them.
func (s *Store) Events(node string, limit int) ([]manifest.Event, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	rows, err := s.r.Query(`SELECT node, mac, time, phase, message, data FROM
		(SELECT id, node, mac, time, phase, message, data FROM events WHERE node = ? ORDER BY id DESC LIMIT ?)
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
	return out, nil
}

// Status returns the status of the given nodes that bootsrv has heard of,
// keyed by name; nodes never seen are absent. nil nodes means every node.
func (s *Store) Status(nodes []string) (map[string]NodeStatus, error) {
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
	return out, nil
}
