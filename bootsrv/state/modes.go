package state

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/disklesstrap/disklesstrap/manifest"
)

// Override is a boot-mode override set by an admin (trapctl mode set).
type Override struct {
	Node  string
	Mode  manifest.Mode
	Once  bool // next boot only
	SetAt time.Time
	// ConsumedBoot is, for a once override, the node's boot number (see
	// StartBoot) that used it; 0 while it is still pending.
	ConsumedBoot int64
}

// SetModes sets mode for every node in one transaction.
//
// A persistent set (once false) replaces the nodes' persistent override and
// drops any pending once override: the latest command decides the next
// boot. A once set adds a next-boot-only override on top of the persistent
// one (or the inventory's mode), which applies again after that boot.
func (s *Store) SetModes(nodes []string, mode manifest.Mode, once bool) error {
	if _, err := manifest.ParseMode(string(mode)); err != nil {
		return fmt.Errorf("set mode: %w", err)
	}
	ctx := context.Background()
	now := toDB(s.now())
	list, err := json.Marshal(nodes)
	if err != nil {
		return fmt.Errorf("set mode: %w", err)
	}
	// One statement for all nodes: json_each loops inside SQLite, which is
	// ~10x faster than one Exec per node through database/sql.
	return s.tx(ctx, fmt.Sprintf("set mode %s on %d nodes", mode, len(nodes)), func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO mode_overrides(node, once, mode, set_at, consumed_boot)
			SELECT value, ?, ?, ?, 0 FROM json_each(?) WHERE true
			ON CONFLICT(node, once) DO UPDATE SET mode=excluded.mode, set_at=excluded.set_at, consumed_boot=0`,
			once, string(mode), now, string(list)); err != nil {
			return err
		}
		if once {
			return nil
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM mode_overrides
			WHERE once = 1 AND node IN (SELECT value FROM json_each(?))`, string(list))
		return err
	})
}

// ClearModes removes every override (persistent and once) of the nodes, so
// they boot with their inventory mode again.
func (s *Store) ClearModes(nodes []string) error {
	list, err := json.Marshal(nodes)
	if err != nil {
		return fmt.Errorf("clear mode: %w", err)
	}
	return s.tx(context.Background(), fmt.Sprintf("clear mode on %d nodes", len(nodes)), func(tx *sql.Tx) error {
		_, err := tx.Exec(`DELETE FROM mode_overrides WHERE node IN (SELECT value FROM json_each(?))`, string(list))
		return err
	})
}

// Modes returns the override in effect for every node that has one (the
// same choice as ModeFor), keyed by node name.
func (s *Store) Modes() (map[string]Override, error) {
	rows, err := s.r.Query(`SELECT o.node, o.once, o.mode, o.set_at, o.consumed_boot, COALESCE(st.boots, 0)
		FROM mode_overrides o LEFT JOIN node_status st ON st.node = o.node`)
	if err != nil {
		return nil, fmt.Errorf("list mode overrides: %w", err)
	}
	defer rows.Close()
	out := map[string]Override{}
	for rows.Next() {
		var o Override
		var mode string
		var setAt, boots int64
		if err := rows.Scan(&o.Node, &o.Once, &mode, &setAt, &o.ConsumedBoot, &boots); err != nil {
			return nil, fmt.Errorf("list mode overrides: %w", err)
		}
		o.Mode, o.SetAt = manifest.Mode(mode), fromDB(setAt)
		if o.Once && !onceActive(o, boots) {
			continue
		}
		if prev, ok := out[o.Node]; ok && prev.Once {
			continue // an active once override wins over the persistent one
		}
		out[o.Node] = o
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list mode overrides: %w", err)
	}
	return out, nil
}

// onceActive: a once override applies while pending and during the boot
// that consumed it (so that boot's manifest still shows it).
func onceActive(o Override, boots int64) bool {
	return o.ConsumedBoot == 0 || o.ConsumedBoot == boots
}

// ModeFor returns the override in effect for node's current boot without
// changing anything: a once override that is pending or was consumed by the
// node's current boot, else the persistent override. ok is false when the
// inventory's mode applies. The manifest handler uses this.
func (s *Store) ModeFor(node string) (o Override, ok bool, err error) {
	o, ok, err = modeFor(context.Background(), s.r, node)
	if err != nil {
		return Override{}, false, fmt.Errorf("mode of %s: %w", node, err)
	}
	return o, ok, nil
}

type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func modeFor(ctx context.Context, db querier, node string) (Override, bool, error) {
	rows, err := db.QueryContext(ctx, `SELECT o.once, o.mode, o.set_at, o.consumed_boot, COALESCE(st.boots, 0)
		FROM mode_overrides o LEFT JOIN node_status st ON st.node = o.node
		WHERE o.node = ? ORDER BY o.once DESC`, node)
	if err != nil {
		return Override{}, false, err
	}
	defer rows.Close()
	for rows.Next() {
		o := Override{Node: node}
		var mode string
		var setAt, boots int64
		if err := rows.Scan(&o.Once, &mode, &setAt, &o.ConsumedBoot, &boots); err != nil {
			return Override{}, false, err
		}
		o.Mode, o.SetAt = manifest.Mode(mode), fromDB(setAt)
		if o.Once && !onceActive(o, boots) {
			continue
		}
		return o, true, nil
	}
	return Override{}, false, rows.Err()
}

// StartBoot records that node is starting a new boot and returns the
// override for that boot. bootsrv calls it when it serves the node's iPXE
// script (GET /ipxe), the one request every network boot makes exactly once
// and the only one a mode-"local" boot makes at all.
//
// In one transaction it increments the node's boot number N, deletes once
// overrides consumed by earlier boots, and marks a pending once override
// "consumed by boot N" instead of deleting it: the manifest the agent
// fetches later in the same boot (ModeFor) still shows the once mode, and
// the next StartBoot drops it. A manifest fetched without a script (direct
// kernel boot) sees a pending once override but never consumes it.
func (s *Store) StartBoot(node string) (o Override, ok bool, boot int64, err error) {
	ctx := context.Background()
	err = s.tx(ctx, "start boot of "+node, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO node_status(node, boots) VALUES(?, 1)
			ON CONFLICT(node) DO UPDATE SET boots = boots + 1 RETURNING boots`, node).Scan(&boot); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM mode_overrides
			WHERE node = ? AND once = 1 AND consumed_boot != 0 AND consumed_boot < ?`, node, boot); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE mode_overrides SET consumed_boot = ?
			WHERE node = ? AND once = 1 AND consumed_boot = 0`, boot, node); err != nil {
			return err
		}
		var err error
		o, ok, err = modeFor(ctx, tx, node)
		return err
	})
	if err != nil {
		return Override{}, false, 0, err
	}
	return o, ok, boot, nil
}

// PersistentMode returns node's persistent override, ignoring any once
// override: the mode a node held in the trap for one boot continues to.
func (s *Store) PersistentMode(node string) (o Override, ok bool, err error) {
	var mode string
	var setAt int64
	err = s.r.QueryRowContext(context.Background(),
		`SELECT mode, set_at FROM mode_overrides WHERE node = ? AND once = 0`, node).Scan(&mode, &setAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Override{}, false, nil
	}
	if err != nil {
		return Override{}, false, fmt.Errorf("persistent mode of %s: %w", node, err)
	}
	return Override{Node: node, Mode: manifest.Mode(mode), SetAt: fromDB(setAt)}, true, nil
}
