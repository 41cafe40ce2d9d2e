package state

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations[i] moves the schema from user_version i to i+1. Append only:
// never edit a migration that has shipped.
var migrations = []string{
	// 1: initial schema.
	`
CREATE TABLE mode_overrides (
	node          TEXT    NOT NULL,
	once          INTEGER NOT NULL,           -- 0 persistent, 1 next boot only
	mode          TEXT    NOT NULL,
	set_at        INTEGER NOT NULL,
	consumed_boot INTEGER NOT NULL DEFAULT 0, -- once: boot number that used it, 0 = pending
	PRIMARY KEY (node, once)
) WITHOUT ROWID;

CREATE TABLE events (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	node    TEXT    NOT NULL,
	mac     TEXT    NOT NULL DEFAULT '',
	time    INTEGER NOT NULL,
	phase   TEXT    NOT NULL,
	message TEXT    NOT NULL DEFAULT '',
	data    TEXT    NOT NULL DEFAULT ''      -- JSON object or empty
);
CREATE INDEX events_node ON events(node, id);

CREATE TABLE node_status (
	node       TEXT PRIMARY KEY,
	phase      TEXT    NOT NULL DEFAULT '',
	last_event TEXT    NOT NULL DEFAULT '',
	last_seen  INTEGER NOT NULL DEFAULT 0,
	address    TEXT    NOT NULL DEFAULT '',
	hostkey    TEXT    NOT NULL DEFAULT '',
	boots      INTEGER NOT NULL DEFAULT 0      -- iPXE scripts served
) WITHOUT ROWID;

CREATE TABLE leases (
	mac     TEXT PRIMARY KEY,
	ip      TEXT    NOT NULL UNIQUE,
	network TEXT    NOT NULL,
	expires INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE discovered (
	mac        TEXT PRIMARY KEY,
	first_seen INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL,
	inventory  TEXT    NOT NULL DEFAULT ''    -- JSON as reported, or empty
) WITHOUT ROWID;
`,
	// 2: admin tokens (hashed) and the audit log of admin changes.
	`
CREATE TABLE admin_tokens (
	id         TEXT PRIMARY KEY,               -- public part of the token text
	name       TEXT    NOT NULL UNIQUE,
	hash       BLOB    NOT NULL,               -- SHA-256 of the secret part
	created    INTEGER NOT NULL,
	created_by TEXT    NOT NULL,
	expires    INTEGER NOT NULL DEFAULT 0,     -- 0: never
	revoked    INTEGER NOT NULL DEFAULT 0,     -- 0: not revoked
	revoked_by TEXT    NOT NULL DEFAULT ''
) WITHOUT ROWID;

CREATE TABLE audit (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	time    INTEGER NOT NULL,
	who     TEXT    NOT NULL,
	source  TEXT    NOT NULL,
	method  TEXT    NOT NULL,
	path    TEXT    NOT NULL,
	summary TEXT    NOT NULL DEFAULT '',
	status  INTEGER NOT NULL
);
`,
	// 3: per-boot node credentials and secret releases (bootkeys.go).
	`
CREATE TABLE boot_keys (
	node       TEXT PRIMARY KEY,
	boot       TEXT    NOT NULL,             -- boot id the agent signs with
	key        BLOB    NOT NULL,             -- ed25519 public key
	ipxe_boot  INTEGER NOT NULL,             -- boot number it was registered in
	registered INTEGER NOT NULL,
	remote     TEXT    NOT NULL DEFAULT '',
	os_token   TEXT    NOT NULL DEFAULT ''   -- hex SHA-256 of the booted OS's token
) WITHOUT ROWID;

CREATE TABLE secret_releases (
	node     TEXT    NOT NULL,
	boot     TEXT    NOT NULL,
	name     TEXT    NOT NULL,
	released INTEGER NOT NULL,
	remote   TEXT    NOT NULL DEFAULT '',
	PRIMARY KEY (node, boot, name)
) WITHOUT ROWID;
`,
}

// SchemaVersion is the user_version a fully migrated database has.
var SchemaVersion = len(migrations)

func (s *Store) migrate(ctx context.Context) error {
	if s.pg {
		return s.migratePG(ctx)
	}
	var v int
	if err := s.w.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("state db %s: read user_version: %w", s.path, err)
	}
	if v > len(migrations) {
		return fmt.Errorf("state db %s: schema version %d is newer than this bootsrv (%d)", s.path, v, len(migrations))
	}
	for i := v; i < len(migrations); i++ {
		err := s.tx(ctx, fmt.Sprintf("state db %s: migrate to %d", s.path, i+1), func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", i+1))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}
