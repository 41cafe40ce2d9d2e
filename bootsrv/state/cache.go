package state

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/disklesstrap/disklesstrap/manifest"
)

// nodeCache mirrors, per node, the mode overrides and the boot counter, so
// that the manifest and iPXE paths read no SQL. It is loaded at Open and
// changed only after the change is durable (overrides) or queued (the boot
// counter of a boot that changes no override).
type nodeCache struct {
	mu    sync.RWMutex // guards the map and every entry's fields (not op)
	nodes map[string]*nodeEntry
}

type nodeEntry struct {
	// op serializes the writes of this node's overrides and boot counter;
	// it is held across the commit, so the cache changes in the order the
	// database does.
	op sync.Mutex

	boots              int64
	persist, once      Override
	hasPersist, hasOne bool     // hasOne: a once override row exists (pending or consumed)
	bootKey            *BootKey // registered boot credential (bootkeys.go)
}

// effective is the override in force for the node's current boot (see
// ModeFor). Callers hold nodeCache.mu.
func (e *nodeEntry) effective() (Override, bool) {
	if e.hasOne && (e.once.ConsumedBoot == 0 || e.once.ConsumedBoot == e.boots) {
		return e.once, true
	}
	if e.hasPersist {
		return e.persist, true
	}
	return Override{}, false
}

// get returns node's entry, nil when the node has none.
func (c *nodeCache) get(node string) *nodeEntry {
	c.mu.RLock()
	e := c.nodes[node]
	c.mu.RUnlock()
	return e
}

// entry returns node's entry, creating it.
func (c *nodeCache) entry(node string) *nodeEntry {
	if e := c.get(node); e != nil {
		return e
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.nodes[node]
	if e == nil {
		e = &nodeEntry{}
		c.nodes[node] = e
	}
	return e
}

// lockNodes locks the op mutex of every distinct node, in name order (no
// deadlock between two multi-node writes), and returns the entries and the
// unlock function.
func (c *nodeCache) lockNodes(nodes []string) ([]*nodeEntry, []string, func()) {
	names := slices.Clone(nodes)
	slices.Sort(names)
	names = slices.Compact(names)
	es := make([]*nodeEntry, len(names))
	c.mu.Lock()
	for i, n := range names {
		e := c.nodes[n]
		if e == nil {
			e = &nodeEntry{}
			c.nodes[n] = e
		}
		es[i] = e
	}
	c.mu.Unlock()
	for _, e := range es {
		e.op.Lock()
	}
	return es, names, func() {
		for _, e := range es {
			e.op.Unlock()
		}
	}
}

// load fills the cache from the database (Open).
func (s *Store) loadCache(ctx context.Context) error {
	c := &s.cache
	c.nodes = make(map[string]*nodeEntry)
	rows, err := s.w.QueryContext(ctx, `SELECT node, boots FROM node_status WHERE boots != 0`)
	if err != nil {
		return fmt.Errorf("load boot counters: %w", err)
	}
	for rows.Next() {
		e := &nodeEntry{}
		var node string
		if err := rows.Scan(&node, &e.boots); err != nil {
			rows.Close()
			return fmt.Errorf("load boot counters: %w", err)
		}
		c.nodes[node] = e
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load boot counters: %w", err)
	}
	rows, err = s.w.QueryContext(ctx, `SELECT node, once, mode, set_at, consumed_boot FROM mode_overrides`)
	if err != nil {
		return fmt.Errorf("load mode overrides: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var o Override
		var mode string
		var setAt int64
		if err := rows.Scan(&o.Node, &o.Once, &mode, &setAt, &o.ConsumedBoot); err != nil {
			return fmt.Errorf("load mode overrides: %w", err)
		}
		o.Mode, o.SetAt = manifest.Mode(mode), fromDB(setAt)
		e := c.nodes[o.Node]
		if e == nil {
			e = &nodeEntry{}
			c.nodes[o.Node] = e
		}
		if o.Once {
			e.once, e.hasOne = o, true
		} else {
			e.persist, e.hasPersist = o, true
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load mode overrides: %w", err)
	}
	rows.Close()
	return s.loadBootKeys(ctx)
}

// boots returns the boot counters of every node that has booted.
func (c *nodeCache) bootCounts() map[string]int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make(map[string]int64, len(c.nodes))
	for n, e := range c.nodes {
		if e.boots != 0 {
			out[n] = e.boots
		}
	}
	return out
}
