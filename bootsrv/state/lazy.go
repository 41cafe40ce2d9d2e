package state

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/disklesstrap/disklesstrap/manifest"
)

// maxLazyEvents is how many queued events make QueueEvents wait for a
// commit (backpressure instead of unbounded memory or dropped events).
const maxLazyEvents = 1 << 16

// lazyQueue holds writes nobody waits for: boot counters and bootsrv's own
// "ipxe" events (queued leases go to the lease log, leasestore.go). Boots
// are coalesced (the latest value wins); events keep their order.
type lazyQueue struct {
	mu   sync.Mutex
	cur  lazyBatch
	kick chan struct{} // cap 1: tells the writer the queue is not empty
}

type lazyBatch struct {
	boots  map[string]int64 // node -> boot number (stored as a maximum)
	events []manifest.Event // time already set
}

func (b lazyBatch) empty() bool { return len(b.boots) == 0 && len(b.events) == 0 }
func (b lazyBatch) size() int   { return len(b.boots) + len(b.events) }

// add runs fn on the current batch and wakes the writer. It reports the
// number of queued events.
func (q *lazyQueue) add(fn func(b *lazyBatch)) int {
	q.mu.Lock()
	if q.cur.boots == nil {
		q.cur.boots = make(map[string]int64)
	}
	fn(&q.cur)
	n := len(q.cur.events)
	q.mu.Unlock()
	select {
	case q.kick <- struct{}{}:
	default:
	}
	return n
}

// take returns the queued writes and empties the queue.
func (q *lazyQueue) take() lazyBatch {
	q.mu.Lock()
	b := q.cur
	q.cur = lazyBatch{}
	q.mu.Unlock()
	return b
}

// queueBoot records node's boot number without waiting for it (boot log).
func (s *Store) queueBoot(node string, boot int64) {
	s.boots.add(bootRecord{Node: node, Boot: boot})
}

// QueueEvents stores events like AddEvents, but returns before they are
// durable: they go to the boot log (bootlog.go), written with its next
// flush, at most LazyDelay later, or by Flush. bootsrv uses it for the
// events it records itself, which acknowledge nothing to anyone. The boot
// log keeps a node's newest BootLogKeep of them; reads merge them with the
// database's events.
func (s *Store) QueueEvents(evs []manifest.Event) error {
	if err := checkEvents(evs); err != nil {
		return fmt.Errorf("queue events: %w", err)
	}
	if len(evs) == 0 {
		return nil
	}
	now := s.now().UTC()
	rs := make([]bootRecord, len(evs))
	for i, ev := range evs {
		if ev.Time.IsZero() {
			ev.Time = now
		}
		rs[i] = bootRecord{Event: &ev}
	}
	s.boots.add(rs...)
	return nil
}

// The writer's batch statements take many rows per Exec: modernc's driver
// re-parses a statement at every Exec, prepared or not, so one statement
// per batch instead of one per row is what makes a group commit cheap.
// Events go as multi-row VALUES lists (binding is cheaper than JSON
// extraction in the transpiled SQLite); the rest loops with json_each.
const sqlBoots = `INSERT INTO node_status(node, boots) SELECT key, CAST(value AS BIGINT) FROM json_each(?) WHERE true
		ON CONFLICT(node) DO UPDATE SET boots = ` + maxBoots

// eventChunk bounds the rows of one multi-row statement (7 parameters a
// row, far below SQLite's limit of 32766).
const eventChunk = 32

// writeLazy stores queued writes in tx. A boot counter travels with its
// node's last queued event (one node_status write for both).
func (s *Store) writeLazy(ctx context.Context, tx *sql.Tx, b lazyBatch) error {
	if len(b.events) > 0 {
		if err := s.insertEvents(ctx, tx, b.events, b.boots); err != nil {
			return err
		}
	}
	if len(b.boots) > 0 {
		list, err := json.Marshal(b.boots)
		if err != nil {
			return fmt.Errorf("%d boot counters: %w", len(b.boots), err)
		}
		if _, err := tx.ExecContext(ctx, sqlBoots, string(list)); err != nil {
			return fmt.Errorf("%d boot counters: %w", len(b.boots), err)
		}
	}
	return nil
}

// insertEvents stores events (validated, times set) in order and updates
// each node's status. boots (may be nil) are queued boot counters: those
// of nodes with an event here are written with it and removed from boots.
func (s *Store) insertEvents(ctx context.Context, tx *sql.Tx, evs []manifest.Event, boots map[string]int64) error {
	now := toDB(s.now())
	last := make(map[string]int, len(evs)) // node -> index of its last event
	for i, ev := range evs {
		last[ev.Node] = i
	}
	var q strings.Builder
	for lo := 0; lo < len(evs); lo += eventChunk {
		chunk := evs[lo:min(lo+eventChunk, len(evs))]
		ins := make([]any, 0, 6*len(chunk))
		st := make([]any, 0, 7*len(chunk))
		row := make(map[string]int, len(chunk)) // node -> its status row's first parameter in st
		for j, ev := range chunk {
			i := lo + j
			data := ""
			if len(ev.Data) > 0 {
				b, err := json.Marshal(ev.Data)
				if err != nil {
					return fmt.Errorf("event %d of %s: data: %w", i, ev.Node, err)
				}
				data = string(b)
			}
			key := ""
			if ev.Phase == manifest.PhaseHostKey {
				key = strings.TrimSpace(ev.Data["key"])
			}
			var boot int64
			if last[ev.Node] == i {
				boot = boots[ev.Node]
				delete(boots, ev.Node)
			}
			ins = append(ins, ev.Node, ev.MAC, toDB(ev.Time), ev.Phase, ev.Message, data)
			// One status row per node and statement (PostgreSQL's upsert
			// cannot touch a row twice): a later event of the node in this
			// chunk updates its row as the upsert would.
			addr := strings.TrimSpace(ev.Data["address"])
			if r, ok := row[ev.Node]; ok {
				st[r+1], st[r+2] = ev.Phase, Summary(ev)
				if addr != "" {
					st[r+4] = addr
				}
				if key != "" {
					st[r+5] = key
				}
				if boot > st[r+6].(int64) {
					st[r+6] = boot
				}
				continue
			}
			row[ev.Node] = len(st)
			st = append(st, ev.Node, ev.Phase, Summary(ev), now, addr, key, boot)
		}
		q.Reset()
		q.WriteString(`INSERT INTO events(node, mac, time, phase, message, data) VALUES `)
		values(&q, len(chunk), 6)
		if _, err := tx.ExecContext(ctx, q.String(), ins...); err != nil {
			return fmt.Errorf("%d events: %w", len(evs), err)
		}
		q.Reset()
		q.WriteString(`INSERT INTO node_status(node, phase, last_event, last_seen, address, hostkey, boots) VALUES `)
		values(&q, len(st)/7, 7)
		q.WriteString(` ON CONFLICT(node) DO UPDATE SET phase=excluded.phase, last_event=excluded.last_event,
			last_seen=excluded.last_seen,
			address = CASE WHEN excluded.address != '' THEN excluded.address ELSE node_status.address END,
			hostkey = CASE WHEN excluded.hostkey != '' THEN excluded.hostkey ELSE node_status.hostkey END,
			boots = ` + maxBoots)
		if _, err := tx.ExecContext(ctx, q.String(), st...); err != nil {
			return fmt.Errorf("status of %d events: %w", len(evs), err)
		}
	}
	return nil
}

// values writes rows "(?,?,...)" groups of cols parameters.
func values(q *strings.Builder, rows, cols int) {
	for r := range rows {
		if r > 0 {
			q.WriteByte(',')
		}
		q.WriteByte('(')
		for c := range cols {
			if c > 0 {
				q.WriteByte(',')
			}
			q.WriteByte('?')
		}
		q.WriteByte(')')
	}
}
