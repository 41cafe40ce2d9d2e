package state

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Anyone on the boot network can make bootsrv record an unknown MAC
// (GET /ipxe?mac=M, GET /manifest?mac=M): a discovered row, a status row
// and an event per request. Prune bounds them, and every node's event
// history, so that the database, status listings and /metrics stay bounded
// whatever arrives.

// PruneLimits bound the rows Prune keeps. Zero fields take the defaults.
type PruneLimits struct {
	// MaxDiscovered is how many unknown MACs are kept, the most recently
	// seen first; their status and event rows go with them.
	MaxDiscovered int
	// DiscoveredTTL drops an unknown MAC not seen for this long.
	DiscoveredTTL time.Duration
	// EventsPerNode is how many of each node's newest events are kept.
	EventsPerNode int
}

// Defaults of PruneLimits' zero fields.
const (
	DefaultMaxDiscovered = 4096
	DefaultDiscoveredTTL = 30 * 24 * time.Hour
	DefaultEventsPerNode = 1000
)

func (l PruneLimits) withDefaults() PruneLimits {
	if l.MaxDiscovered <= 0 {
		l.MaxDiscovered = DefaultMaxDiscovered
	}
	if l.DiscoveredTTL <= 0 {
		l.DiscoveredTTL = DefaultDiscoveredTTL
	}
	if l.EventsPerNode <= 0 {
		l.EventsPerNode = DefaultEventsPerNode
	}
	return l
}

// Pruned counts the rows one Prune removed.
type Pruned struct {
	Discovered, Status, Events int64
}

// orphanDiscovery is SQL for "node is a discovery name (mac-<12 hex>) whose
// MAC is no longer in discovered".
const orphanDiscovery = `node > 'mac-' AND node < 'mac.' AND length(node) = 16
	AND substr(node, 5) NOT IN (SELECT replace(mac, ':', '') FROM discovered)`

// Prune removes what l does not keep, in one transaction.
func (s *Store) Prune(l PruneLimits) (Pruned, error) { return s.prune(l, true) }

// prune is Prune; without events, only unknown MACs and their rows (the
// cheap part, run early under a flood of new MACs).
func (s *Store) prune(l PruneLimits, events bool) (Pruned, error) {
	l = l.withDefaults()
	var p Pruned
	var over []string
	if events {
		var err error
		if over, err = s.nodesOverEvents(l.EventsPerNode); err != nil {
			return Pruned{}, err
		}
	}
	cutoff := toDB(s.now().Add(-l.DiscoveredTTL))
	err := s.tx(context.Background(), "prune", func(tx *sql.Tx) error {
		exec := func(n *int64, q string, args ...any) error {
			r, err := tx.Exec(q, args...)
			if err != nil {
				return err
			}
			c, _ := r.RowsAffected()
			*n += c
			return nil
		}
		if err := exec(&p.Discovered, `DELETE FROM discovered WHERE last_seen < ?`, cutoff); err != nil {
			return err
		}
		if err := exec(&p.Discovered, `DELETE FROM discovered WHERE mac IN
			(SELECT mac FROM discovered ORDER BY last_seen DESC, mac LIMIT -1 OFFSET ?)`, l.MaxDiscovered); err != nil {
			return err
		}
		if err := exec(&p.Status, `DELETE FROM node_status WHERE `+orphanDiscovery); err != nil {
			return err
		}
		if err := exec(&p.Events, `DELETE FROM events WHERE `+orphanDiscovery); err != nil {
			return err
		}
		for _, node := range over {
			if err := exec(&p.Events, `DELETE FROM events WHERE node = ?1 AND id <=
				(SELECT id FROM events WHERE node = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)`, node, l.EventsPerNode); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Pruned{}, fmt.Errorf("state db %s: %w", s.path, err)
	}
	return p, s.pruneBoots()
}

// nodesOverEvents lists the nodes with more than keep events. It reads
// on a reader connection (a scan of the events index), so the writer,
// and with it every other write, is held only for the deletes.
func (s *Store) nodesOverEvents(keep int) ([]string, error) {
	rows, err := s.r.Query(`SELECT node FROM events GROUP BY node HAVING count(*) > ?`, keep)
	if err != nil {
		return nil, fmt.Errorf("state db %s: nodes over %d events: %w", s.path, keep, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("state db %s: nodes over %d events: %w", s.path, keep, err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// Counts are the row counts Prune bounds (for tests and logs).
type Counts struct {
	Discovered, Status, Events int64
}

// Count counts the rows of the pruned tables.
func (s *Store) Count() (Counts, error) {
	if err := s.Flush(); err != nil {
		return Counts{}, err
	}
	var c Counts
	err := s.r.QueryRow(`SELECT (SELECT count(*) FROM discovered), (SELECT count(*) FROM node_status), (SELECT count(*) FROM events)`).
		Scan(&c.Discovered, &c.Status, &c.Events)
	if err != nil {
		return Counts{}, fmt.Errorf("state db %s: count rows: %w", s.path, err)
	}
	return c, nil
}

// RunPruner prunes at once and every interval, and prunes unknown MACs
// early whenever a tenth of MaxDiscovered were recorded since the last
// pass, until ctx ends. Failures are handed to report (nil: ignored).
func (s *Store) RunPruner(ctx context.Context, l PruneLimits, every time.Duration, report func(Pruned, error)) {
	l = l.withDefaults()
	s.pruneAt.Store(int64(max(l.MaxDiscovered/10, 16)))
	t := time.NewTicker(every)
	defer t.Stop()
	full := true // the first pass, at start, is a full one
	select {
	case s.pruneKick <- struct{}{}:
	default:
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			full = true
		case <-s.pruneKick:
		}
		s.newDiscovered.Store(0)
		p, err := s.prune(l, full)
		full = false
		if report != nil {
			report(p, err)
		}
	}
}

// sawDiscovered counts an unknown MAC recorded and kicks the pruner when
// enough arrived.
func (s *Store) sawDiscovered() {
	if at := s.pruneAt.Load(); at > 0 && s.newDiscovered.Add(1) >= at {
		select {
		case s.pruneKick <- struct{}{}:
		default:
		}
	}
}
