package state

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
)

// Both backends share one list of migrations (schema.go), written for
// SQLite. PostgreSQL runs pgDDL(migration): the same text with SQLite's
// storage types mapped (INTEGER -> BIGINT, times are Unix nanoseconds;
// BLOB -> BYTEA; AUTOINCREMENT keys -> BIGSERIAL; WITHOUT ROWID dropped).
// A migration that needs more than that gets its PostgreSQL text in
// pgMigrationOverride under its number. TestMigrationsPostgres applies
// every migration to a real server.
var pgMigrationOverride = map[int]string{}

// pgCompat is (re)created at every start before the migrations: SQL
// functions the rewritten statements call (pgdriver.go).
const pgCompat = `
CREATE TABLE IF NOT EXISTS dt_schema (version INTEGER NOT NULL);
CREATE OR REPLACE FUNCTION dt_json_each(t text) RETURNS TABLE(key text, value text)
LANGUAGE sql IMMUTABLE AS $$
	SELECT e.key, e.value FROM json_each_text(
		CASE WHEN json_typeof(t::json) = 'object' THEN t::json ELSE '{}'::json END) e
	UNION ALL
	SELECT (a.n - 1)::text, a.v FROM json_array_elements_text(
		CASE WHEN json_typeof(t::json) = 'array' THEN t::json ELSE '[]'::json END) WITH ORDINALITY a(v, n)
$$;
`

// pgMigrateLock is the advisory lock key replicas starting together take
// while migrating, so one migrates and the others then see its version.
const pgMigrateLock = 0x44547374 // "DTst"

var (
	pgAutoinc = regexp.MustCompile(`\bINTEGER\s+PRIMARY\s+KEY\s+AUTOINCREMENT\b`)
	pgInteger = regexp.MustCompile(`\bINTEGER\b`)
	pgBlob    = regexp.MustCompile(`\bBLOB\b`)
	pgNoRowid = regexp.MustCompile(`\)\s*WITHOUT\s+ROWID`)
)

// pgDDL is migration i (0-based) for PostgreSQL.
func pgDDL(i int) string {
	if o, ok := pgMigrationOverride[i+1]; ok {
		return o
	}
	q := migrations[i]
	q = pgAutoinc.ReplaceAllString(q, "BIGSERIAL PRIMARY KEY")
	q = pgInteger.ReplaceAllString(q, "BIGINT")
	q = pgBlob.ReplaceAllString(q, "BYTEA")
	q = pgNoRowid.ReplaceAllString(q, ")")
	return q
}

// migratePG brings a PostgreSQL database to SchemaVersion in one
// transaction under an advisory lock, refusing a newer schema.
func (s *Store) migratePG(ctx context.Context) error {
	return s.txNow(ctx, "state db "+s.path+": migrate", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, int64(pgMigrateLock)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, pgCompat+pgInventoryTable+pgImagesTable); err != nil {
			return fmt.Errorf("compat functions: %w", err)
		}
		var v int
		err := tx.QueryRowContext(ctx, `SELECT version FROM dt_schema`).Scan(&v)
		switch {
		case err == sql.ErrNoRows:
			if _, err := tx.ExecContext(ctx, `INSERT INTO dt_schema(version) VALUES(0)`); err != nil {
				return err
			}
		case err != nil:
			return fmt.Errorf("read schema version: %w", err)
		}
		if v > len(migrations) {
			return fmt.Errorf("schema version %d is newer than this bootsrv (%d)", v, len(migrations))
		}
		for i := v; i < len(migrations); i++ {
			if _, err := tx.ExecContext(ctx, pgDDL(i)); err != nil {
				return fmt.Errorf("migrate to %d: %w", i+1, err)
			}
		}
		if v < len(migrations) {
			_, err = tx.ExecContext(ctx, `UPDATE dt_schema SET version = ?`, len(migrations))
		}
		return err
	})
}
