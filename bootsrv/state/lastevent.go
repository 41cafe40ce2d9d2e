package state

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/disklesstrap/disklesstrap/manifest"
)

// LastEvent returns node's most recent event of phase (e.g. its latest
// hardware report); ok is false when there is none. Queued events (boot
// log) count.
func (s *Store) LastEvent(node, phase string) (ev manifest.Event, ok bool, err error) {
	if err := s.Flush(); err != nil {
		return ev, false, fmt.Errorf("last %s event of %s: %w", phase, node, err)
	}
	var t int64
	var data string
	err = s.r.QueryRow(`SELECT node, mac, time, phase, message, data FROM events
		WHERE node = ? AND phase = ? ORDER BY id DESC LIMIT 1`, node, phase).
		Scan(&ev.Node, &ev.MAC, &t, &ev.Phase, &ev.Message, &data)
	queued, qok := s.lastBootEvent(node, phase)
	if errors.Is(err, sql.ErrNoRows) {
		return queued, qok, nil
	}
	if err != nil {
		return ev, false, fmt.Errorf("last %s event of %s: %w", phase, node, err)
	}
	ev.Time = fromDB(t)
	if data != "" {
		if err := json.Unmarshal([]byte(data), &ev.Data); err != nil {
			return ev, false, fmt.Errorf("last %s event of %s: data: %w", phase, node, err)
		}
	}
	if qok && queued.Time.After(ev.Time) {
		return queued, true, nil
	}
	return ev, true, nil
}
