package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// The inventory of replicas. A shared store keeps one inventory text in
// dt_inventory (created with the compat functions, schema_pg.go: it exists
// on PostgreSQL only and is not part of the numbered migrations), with a
// version that grows by one at every publication. A replica publishes the
// file it loaded (start with an empty table, SIGHUP reload); every replica
// polls the version and loads a newer text (bootsrv/server/replicainv.go).

const pgInventoryTable = `
CREATE TABLE IF NOT EXISTS dt_inventory (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	version BIGINT  NOT NULL,
	text    TEXT    NOT NULL,
	updated BIGINT  NOT NULL,
	source  TEXT    NOT NULL DEFAULT ''
);
`

// ErrNotShared is returned by the replica-only methods of a SQLite store.
var ErrNotShared = errors.New("the state is not shared (bootsrv --state-db postgres://...)")

// ErrInventoryConflict is returned by PublishInventory when the shared
// inventory is no longer the version the edit was based on.
var ErrInventoryConflict = errors.New("the shared inventory changed meanwhile (edit through another replica)")

// PublishInventory stores text as the replicas' inventory and returns its
// version; source says where it came from (logged by the others). base is
// the version the text was edited from (0: none yet): a newer version
// published meanwhile makes it fail with ErrInventoryConflict, so an edit
// never silently overwrites another. Durable when it returns.
func (s *Store) PublishInventory(text []byte, source string, base int64) (int64, error) {
	if !s.pg {
		return 0, ErrNotShared
	}
	var v int64
	ctx := context.Background()
	err := s.tx(ctx, "publish inventory", func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO dt_inventory(id, version, text, updated, source) VALUES(1, 1, ?1, ?2, ?3)
			ON CONFLICT(id) DO UPDATE SET version = dt_inventory.version + 1, text = excluded.text,
			updated = excluded.updated, source = excluded.source WHERE dt_inventory.version = ?4 RETURNING version`,
			string(text), toDB(s.now()), source, base).Scan(&v)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("publish inventory from %s (based on version %d): %w", source, base, ErrInventoryConflict)
	}
	return v, err
}

// InventoryVersion is the version of the shared inventory, 0 when none was
// published.
func (s *Store) InventoryVersion(ctx context.Context) (int64, error) {
	if !s.pg {
		return 0, ErrNotShared
	}
	var v int64
	err := s.r.QueryRowContext(ctx, `SELECT version FROM dt_inventory WHERE id = 1`).Scan(&v)
	if err == sql.ErrNoRows {
		s.reachable()
		return 0, nil
	}
	if err != nil {
		return 0, s.unreachable(fmt.Errorf("inventory version: %w", err))
	}
	s.reachable()
	return v, nil
}

// SharedInventory returns the shared inventory text, its version and who
// published it; version 0 when none was.
func (s *Store) SharedInventory(ctx context.Context) (text []byte, version int64, source string, err error) {
	if !s.pg {
		return nil, 0, "", ErrNotShared
	}
	var t string
	err = s.r.QueryRowContext(ctx, `SELECT text, version, source FROM dt_inventory WHERE id = 1`).Scan(&t, &version, &source)
	if err == sql.ErrNoRows {
		return nil, 0, "", nil
	}
	if err != nil {
		return nil, 0, "", s.unreachable(fmt.Errorf("shared inventory: %w", err))
	}
	return []byte(t), version, source, nil
}
